"""Rows rendered as the API's JSON models."""

from __future__ import annotations

from typing import Any, Final

from contractor.foreman import orm, states
from contractor.foreman.clock import rfc3339
from contractor.foreman.redaction import redact
from contractor.foreman.schemas.jobs import JobRead, JobTarget, LogEntry, TaskRead
from contractor.foreman.states import JobState
from contractor.foreman.store.timeline import Mark

PRIVATE_WAIT_KEYS: Final = frozenset({"paused_from", "cleanup"})
"""``job.wait`` keys kept out of the job JSON (the cleanup task's parameters, spec §2.7)."""


def job(row: orm.Job, *, release_pending: bool) -> JobRead:
    """The job JSON of spec §11."""
    return JobRead(
        id=row.id,
        target=JobTarget(kind=row.target_kind, key=row.target_key, site=row.site),
        script=row.script_name,
        kind=row.kind,
        state=row.state,
        message=row.message,
        wait=_public_wait(row.wait),
        origin=row.origin,
        progress=row.progress,
        actions=states.actions_now(JobState(row.state)),
        release_pending=release_pending,
        wait_for_prerequisites=row.wait_for_prerequisites,
        program=row.program_id,
        created_by=row.created_by,
        created_at=rfc3339(row.created_at) or "",
        started_at=rfc3339(row.started_at),
        updated_at=rfc3339(row.updated_at) or "",
        finished_at=rfc3339(row.finished_at),
    )


def _public_wait(wait: dict[str, object] | None) -> dict[str, object] | None:
    if wait is None:
        return None
    return {k: v for k, v in wait.items() if k not in PRIVATE_WAIT_KEYS}


def log_entry(row: orm.JobLog) -> LogEntry:
    """One job-log row."""
    return LogEntry.model_validate(
        {
            "seq": row.seq,
            "at": rfc3339(row.at),
            "actor": row.actor,
            "action": row.action,
            "from": row.from_state,
            "to": row.to_state,
            "message": row.message,
            "data": row.data,
        }
    )


def mark(row: Mark) -> dict[str, Any]:
    """One timeline mark."""
    return {"at": rfc3339(row.at), "mark": row.mark, "detail": row.detail}


def task(row: orm.Task) -> TaskRead:
    """A task with its parameters redacted."""
    return TaskRead(
        id=row.id,
        job_id=row.job_id,
        site=row.site,
        module=row.module,
        function=row.function,
        parameters=redact(row.parameters),
        idempotent=row.idempotent,
        purpose=row.purpose,
        state=row.state,
        attempt=row.attempt,
        agent_id=row.agent_id,
        lease_until=rfc3339(row.lease_until),
        created_at=rfc3339(row.created_at) or "",
        finished_at=rfc3339(row.finished_at),
        result=redact(row.result),
        error=row.error,
        consumed=row.consumed_at is not None,
    )
