"""The ``/agent/v1`` wire format (spec §5). Unknown request fields are ignored (§0)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class _Open(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ModuleDecl(_Open):
    """One plugin as declared in ``register``."""

    version: str = ""
    concurrency: int = Field(4, ge=0)
    functions: list[str] = Field(default_factory=list)
    service: dict[str, Any] | None = None


class RegisterBody(_Open):
    """``POST /agent/v1/register``."""

    name: str = Field(min_length=1, max_length=100)
    version: str = ""
    hostname: str = ""
    sites: list[str] = Field(min_length=1)
    modules: dict[str, ModuleDecl] = Field(default_factory=dict)


class Registration(BaseModel):
    """Answer to ``register``."""

    agent_id: str
    incarnation: str
    lease_s: float
    heartbeat_s: float
    start_ack_timeout_s: float
    poll_wait_max_s: float
    server_time: str


class Capacity(_Open):
    """Free slots of one module."""

    capacity: int = Field(ge=0)


class Held(_Open):
    """A task the agent holds."""

    id: str
    attempt: int = Field(ge=1)


class PollBody(_Open):
    """``POST /agent/v1/poll``."""

    agent_id: str
    incarnation: str
    sites: list[str] = Field(default_factory=list)
    modules: dict[str, Capacity] = Field(default_factory=dict)
    running: list[Held] = Field(default_factory=list)
    wait_s: float = Field(30, ge=0, le=30)


class TaskOffer(BaseModel):
    """One task handed to an agent."""

    id: str
    attempt: int
    job_id: int
    site: str
    module: str
    function: str
    parameters: dict[str, Any]
    idempotent: bool
    needs_start_ack: bool
    timeout_s: float | None
    lease_until: str | None
    trace_id: str


class PollAnswer(BaseModel):
    """Answer to ``poll``."""

    tasks: list[TaskOffer]
    cancel: list[str]
    server_time: str


class Progress(_Open):
    """Progress reported in a heartbeat."""

    message: str | None = None
    percent: float | None = None


class HeartbeatBody(_Open):
    """``POST /agent/v1/tasks/{id}/heartbeat``."""

    agent_id: str
    incarnation: str
    attempt: int
    phase: Literal["started", "running"] = "running"
    progress: Progress | None = None


class HeartbeatAnswer(BaseModel):
    """Answer to a heartbeat."""

    lease_until: str | None
    cancel: bool


class ResultBody(_Open):
    """``POST /agent/v1/tasks/{id}/result``."""

    agent_id: str
    attempt: int
    data: dict[str, Any] = Field(default_factory=dict)
    started_at: str | None = None
    finished_at: str | None = None


class ErrorBody(_Open):
    """``POST /agent/v1/tasks/{id}/error``."""

    agent_id: str
    attempt: int
    message: str = ""
    retryable: bool = False
    code: str = "internal"
    details: dict[str, Any] | None = None


class OutcomeItem(_Open):
    """One item of ``POST /agent/v1/results``."""

    task_id: str
    attempt: int
    outcome: Literal["result", "error"]
    data: dict[str, Any] | None = None
    message: str = ""
    retryable: bool = False
    code: str = "internal"
    details: dict[str, Any] | None = None


class ResultsBody(_Open):
    """``POST /agent/v1/results``."""

    agent_id: str
    items: list[OutcomeItem] = Field(max_length=500)


class ReleaseBody(_Open):
    """``POST /agent/v1/tasks/{id}/release``."""

    agent_id: str
    attempt: int
    started: bool = False
    reason: str = ""


class DeregisterBody(_Open):
    """``POST /agent/v1/deregister``."""

    agent_id: str
    incarnation: str
    reason: str = ""


class EventsBody(_Open):
    """``POST /agent/v1/events``."""

    agent_id: str
    events: list[dict[str, Any]] = Field(default_factory=list)


class AgentRead(BaseModel):
    """An agent in ``GET /api/v1/agents`` (spec §5.11)."""

    id: str
    name: str
    sites: list[str]
    status: str
    last_seen: str | None
    last_seen_age_s: float
    version: str | None
    hostname: str | None
    token: str | None
    boot_base: str | None
    modules: dict[str, dict[str, int]]
    registered_at: str | None
