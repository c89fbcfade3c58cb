"""Job requests and answers (spec §2.4, §11)."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

SCRIPT_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_-]{0,49}$")
TargetKind = Literal["foundation", "structure", "dependency"]


class _Closed(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TargetRef(_Closed):
    """A job target: kind and key (locator or id)."""

    kind: TargetKind
    key: str = Field(min_length=1, max_length=100)


class TargetJobCreate(_Closed):
    """Body of ``POST /api/v1/{targets}/{key}/jobs``."""

    script: str = Field(description="Script slot: create, destroy or a utility script name.")
    wait_for_prerequisites: bool = False

    @field_validator("script")
    @classmethod
    def _script_name(cls, value: str) -> str:
        if not SCRIPT_NAME.match(value):
            raise PydanticCustomError(
                "invalid-script", "script must match ^[a-zA-Z0-9][a-zA-Z0-9_-]{0,49}$"
            )
        return value


class JobCreate(TargetJobCreate):
    """Body of ``POST /api/v1/jobs``."""

    target: TargetRef


class ActionBody(_Closed):
    """Optional body of a job action."""

    message: str | None = Field(None, max_length=1024)


class JobTarget(BaseModel):
    """The target as the job JSON shows it."""

    kind: str
    key: str
    site: str | None


class JobRead(BaseModel):
    """One job (spec §11)."""

    id: int
    target: JobTarget
    script: str
    kind: str
    state: str
    message: str | None
    wait: dict[str, Any] | None
    origin: str | None
    progress: dict[str, Any] | None
    actions: list[str]
    release_pending: bool
    wait_for_prerequisites: bool
    program: str | None
    created_by: str
    created_at: str
    started_at: str | None
    updated_at: str
    finished_at: str | None


class LogEntry(BaseModel):
    """One job-log row."""

    model_config = ConfigDict(populate_by_name=True)

    seq: int
    at: str
    actor: str
    action: str
    from_: str | None = Field(None, alias="from")
    to: str | None
    message: str | None
    data: dict[str, Any] | None = None


class JobLogRead(BaseModel):
    """``GET /jobs/{id}/log``."""

    job_id: int
    items: list[LogEntry]


class TaskRead(BaseModel):
    """A task as ``/jobs/{id}/tasks`` and ``/tasks`` show it (parameters redacted)."""

    id: str
    job_id: int
    site: str
    module: str
    function: str
    parameters: dict[str, Any]
    idempotent: bool
    purpose: str
    state: str
    attempt: int
    agent_id: str | None
    lease_until: str | None
    created_at: str
    finished_at: str | None
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    consumed: bool


class TaskList(BaseModel):
    """A list of tasks."""

    items: list[TaskRead]


class JobStateRead(BaseModel):
    """``GET /jobs/{id}/state``: the interpreter view."""

    job_id: int
    program: str | None
    script: str | None
    line: int | None
    status: str | None
    variables: dict[str, Any]
    call: dict[str, Any] | None


class TimelineRead(BaseModel):
    """``GET /jobs/{id}/timeline``."""

    job_id: int
    marks: list[dict[str, Any]]
    cycles: list[dict[str, Any]]
    scopes: list[dict[str, Any]]
