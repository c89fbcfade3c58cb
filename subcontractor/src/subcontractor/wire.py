"""Payloads of the agent protocol ``/agent/v1`` (foreman.md §5), as the agent sends and reads them.

Requests are ``TypedDict`` (the agent builds them); answers are Pydantic models that ignore
unknown fields, so a newer foreman does not break an older agent.
"""

from __future__ import annotations

from typing import Any, Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field

JsonObject = dict[str, Any]

ErrorCode = Literal[
    "timeout",
    "unreachable",
    "auth",
    "not_found",
    "conflict",
    "invalid_parameters",
    "unknown_function",
    "canceled",
    "internal",
]


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")


class ModuleDeclaration(TypedDict):
    """One plugin as declared in ``register``."""

    version: str
    concurrency: int
    functions: list[str]


class RegisterRequest(TypedDict):
    """Body of ``POST /agent/v1/register``."""

    name: str
    version: str
    hostname: str
    sites: list[str]
    modules: dict[str, ModuleDeclaration]


class Registration(_Answer):
    """Answer to ``register``."""

    agent_id: str
    incarnation: str
    lease_s: float = 60
    heartbeat_s: float = 20
    start_ack_timeout_s: float = 30
    poll_wait_max_s: float = 30


class RunningTask(TypedDict):
    """A task the agent holds, listed in every poll until its outcome is acknowledged."""

    id: str
    attempt: int


class ModuleCapacity(TypedDict):
    """Free slots of one module in a poll."""

    capacity: int


class PollRequest(TypedDict):
    """Body of ``POST /agent/v1/poll``."""

    agent_id: str
    incarnation: str
    sites: list[str]
    modules: dict[str, ModuleCapacity]
    running: list[RunningTask]
    wait_s: float


class TaskOffer(_Answer):
    """One task delivered by a poll."""

    id: str
    attempt: int
    job_id: int | None = None
    site: str = ""
    module: str
    function: str
    parameters: JsonObject = Field(default_factory=dict)
    idempotent: bool = True
    needs_start_ack: bool = False
    timeout_s: float | None = None
    lease_until: str | None = None
    trace_id: str | None = None


class PollAnswer(_Answer):
    """Answer to ``poll``."""

    tasks: list[TaskOffer] = Field(default_factory=list)
    cancel: list[str] = Field(default_factory=list)


class Progress(TypedDict, total=False):
    """Optional progress in a heartbeat; it becomes the job message."""

    message: str
    percent: float


class HeartbeatRequest(TypedDict, total=False):
    """Body of ``POST /agent/v1/tasks/{id}/heartbeat``."""

    agent_id: str
    incarnation: str
    attempt: int
    phase: Literal["started", "running"]
    progress: Progress


class HeartbeatAnswer(_Answer):
    """Answer to a heartbeat."""

    lease_until: str | None = None
    cancel: bool = False


class Outcome(BaseModel):
    """A task's result or error, as spooled and posted (foreman.md §5.4–5.6).

    One model serves the single routes and the batch: ``item()`` gives the batch form,
    ``single_body()`` the body of ``/tasks/{id}/result`` or ``/tasks/{id}/error``.
    """

    model_config = ConfigDict(extra="forbid")

    agent_id: str
    task_id: str
    attempt: int
    outcome: Literal["result", "error"]
    data: JsonObject | None = None
    message: str | None = None
    retryable: bool | None = None
    code: str | None = None
    details: JsonObject | None = None
    started_at: str | None = None
    finished_at: str | None = None

    def _fields(self) -> JsonObject:
        if self.outcome == "result":
            body: JsonObject = {"data": self.data or {}}
        else:
            body = {"message": self.message or "", "retryable": bool(self.retryable)}
            body["code"] = self.code or "internal"
            if self.details:
                body["details"] = self.details
        for key in ("started_at", "finished_at"):
            value = getattr(self, key)
            if value is not None:
                body[key] = value
        return body

    def single_body(self) -> JsonObject:
        """The body for ``POST /agent/v1/tasks/{id}/result`` or ``/error``."""
        return {"agent_id": self.agent_id, "attempt": self.attempt, **self._fields()}

    def item(self) -> JsonObject:
        """The item for ``POST /agent/v1/results``."""
        return {
            "task_id": self.task_id,
            "attempt": self.attempt,
            "outcome": self.outcome,
            **self._fields(),
        }


class AgentEvent(TypedDict, total=False):
    """One boot-path observation for ``POST /agent/v1/events`` (foreman.md §5.8).

    ``kind`` and ``at`` are always present; the rest depends on the kind.
    """

    kind: Literal["dhcp.offer", "dhcp.ack", "dhcp.unknown_mac", "tftp.done", "http.file"]
    at: str
    site: str
    mac: str
    ip: str
    arch: int
    user_class: str | None
    file: str
    bytes: int


class OutcomeStatus(_Answer):
    """Foreman's verdict on one posted outcome."""

    task_id: str = ""
    status: str
    problem: str | None = None
