"""Job rows and the one function that changes a job's state (spec §2.3)."""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contractor.foreman import orm, states
from contractor.foreman.errors import ForemanError, JobNotFound
from contractor.foreman.states import JobState
from contractor.foreman.store import events, log, timeline
from contractor.servicekit.outbox import call_after_commit
from sqlalchemy import Select, func, select, text, union_all
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession

TRANSITION_COUNTER = "contractor.foreman.transition_counter"
logger = logging.getLogger(__name__)
"""Session-info key of a callable ``(from, to)`` that counts transitions (metrics)."""


class Busy(ForemanError):
    """The job is being stepped and its row lock did not come free in time (spec §2.3)."""

    status = 503
    type_slug = "busy"
    title = "Busy"


def is_postgres(session: AsyncSession) -> bool:
    """Whether the session talks to PostgreSQL."""
    return session.get_bind().dialect.name == "postgresql"


async def active_for_target(session: AsyncSession, kind: str, key: str) -> orm.Job | None:
    """The target's non-terminal job, if any."""
    terminal = [s.value for s in states.TERMINAL]
    return await session.scalar(
        select(orm.Job).where(
            orm.Job.target_kind == kind, orm.Job.target_key == key, orm.Job.state.not_in(terminal)
        )
    )


async def create(
    session: AsyncSession,
    *,
    target_kind: str,
    target_key: str,
    script: str,
    wait_for_prerequisites: bool,
    created_by: str,
    now: datetime,
) -> orm.Job:
    """Insert a ``queued`` job and flush to get its id."""
    kind = script if script in ("create", "destroy") else "utility"
    job = orm.Job(
        id=None if is_postgres(session) else await _next_sqlite_id(session),
        target_kind=target_kind,
        target_key=target_key,
        script_name=script,
        kind=kind,
        state=JobState.QUEUED.value,
        wait_for_prerequisites=wait_for_prerequisites,
        created_by=created_by,
        created_at=now,
        updated_at=now,
        evaluations_since_wait=0,
        internal_failures=0,
        row_version=1,
    )
    session.add(job)
    await session.flush()
    return job


async def _next_sqlite_id(session: AsyncSession) -> int:
    """A job id never used before, also by a cleared job whose log is still kept.

    SQLite hands out ``max(id) + 1`` (the table has no ``AUTOINCREMENT``), so clearing the
    newest job would give its id, and its log, to the next job. The single SQLite writer
    makes reading the maximum here safe.
    """
    used = union_all(select(func.max(orm.Job.id)), select(func.max(orm.JobLog.job_id))).subquery()
    found = await session.scalar(select(func.max(used.c[0])))
    return int(found or 0) + 1


async def get(session: AsyncSession, job_id: int) -> orm.Job:
    """One job.

    Raises:
        JobNotFound: No such job.
    """
    job = await session.get(orm.Job, job_id)
    if job is None:
        raise JobNotFound(f"job {job_id} does not exist")
    return job


async def get_locked(session: AsyncSession, job_id: int, *, wait_s: float = 5.0) -> orm.Job:
    """One job with its row lock (waits at most ``wait_s`` on PostgreSQL, else 503 busy)."""
    if is_postgres(session):
        await session.execute(text(f"SET LOCAL lock_timeout = '{int(wait_s * 1000)}ms'"))
    try:
        job = await session.scalar(
            select(orm.Job)
            .where(orm.Job.id == job_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    except DBAPIError as exc:
        if "lock" in str(exc.orig).lower():
            raise Busy(f"job {job_id} is being stepped; try again") from exc
        raise
    if job is None:
        raise JobNotFound(f"job {job_id} does not exist")
    return job


@dataclass(frozen=True)
class JobFilter:
    """Filters of ``GET /api/v1/jobs``."""

    state: str | None = None
    site: str | None = None
    target_kind: str | None = None
    target: str | None = None
    script: str | None = None


def _filtered(query: JobFilter) -> Select[orm.Job]:
    stmt = select(orm.Job)
    if query.state:
        stmt = stmt.where(orm.Job.state == query.state)
    if query.site:
        stmt = stmt.where(orm.Job.site == query.site)
    if query.target_kind:
        stmt = stmt.where(orm.Job.target_kind == query.target_kind)
    if query.target:
        stmt = stmt.where(orm.Job.target_key == query.target)
    if query.script:
        stmt = stmt.where(orm.Job.script_name == query.script)
    return stmt


async def page(
    session: AsyncSession, query: JobFilter, *, before: int | None, limit: int
) -> list[orm.Job]:
    """Up to ``limit + 1`` jobs, newest first, with ids below ``before``."""
    stmt = _filtered(query)
    if before is not None:
        stmt = stmt.where(orm.Job.id < before)
    rows = await session.scalars(stmt.order_by(orm.Job.id.desc()).limit(limit + 1))
    return list(rows)


def event_data(job: orm.Job) -> dict[str, Any]:
    """The common part of job events."""
    return {
        "job_id": job.id,
        "target": {"kind": job.target_kind, "key": job.target_key},
        "script": job.script_name,
        "kind": job.kind,
    }


async def record_created(session: AsyncSession, job: orm.Job, *, actor: str) -> None:
    """Log the creation and emit ``job.created``."""
    await log.append(
        session, job.id, at=job.created_at, actor=actor, action="create", to_state=job.state
    )
    timeline.mark(session, job.id, job.created_at, "job.created", None)
    if logger.isEnabledFor(logging.INFO):
        change = (job.id, job.site, "create", actor, None, job.state, None)
        call_after_commit(session, functools.partial(_log_change, *change))
    await events.append(
        session,
        "job.created",
        subject=("job", str(job.id)),
        data={**event_data(job), "state": job.state},
        actor=actor,
        site=job.site,
    )


async def transition(
    session: AsyncSession,
    job: orm.Job,
    action: str,
    *,
    actor: str,
    now: datetime,
    to: JobState | None = None,
    message: str | None = None,
    origin: str | None = None,
    data: dict[str, Any] | None = None,
) -> JobState:
    """Apply ``action`` to a locked job: state, log row and events in the caller's transaction.

    Raises:
        ActionNotAllowed: The transition rules refuse it.
    """
    before = JobState(job.state)
    after = states.target_state(action, before, job_id=job.id, to=to)
    job.state = after.value
    job.updated_at = now
    job.row_version += 1
    if after in (JobState.PAUSED, JobState.ERROR):
        job.origin = origin
    elif after is JobState.RUNNING:
        job.origin = None
    if message is not None:
        job.message = message[:1024]
    if after is JobState.RUNNING and job.started_at is None:
        job.started_at = now
        timeline.mark(session, job.id, now, "job.started", None)
    if after in states.TERMINAL:
        job.finished_at = now
        job.runnable_at = None
        timeline.mark(session, job.id, now, "job.finished", {"state": after.value})
    await log.append(
        session,
        job.id,
        at=now,
        actor=actor,
        action=action,
        from_state=before.value,
        to_state=after.value,
        message=message,
        data=data,
    )
    await _emit(session, job, before, after, actor=actor, origin=origin, message=message)
    if logger.isEnabledFor(logging.INFO):  # logged once it is committed (spec §12.2)
        change = (job.id, job.site, action, actor, before.value, after.value, message)
        call_after_commit(session, functools.partial(_log_change, *change))
    count = session.info.get(TRANSITION_COUNTER)
    if count is not None:
        count(before.value, after.value)
    return after


def _log_change(
    job_id: int,
    site: str | None,
    action: str,
    actor: str,
    before: str | None,
    after: str,
    message: str | None,
) -> None:
    logger.info(
        "job %s: %s -> %s (%s by %s)%s",
        job_id,
        before,
        after,
        action,
        actor,
        f": {message}" if message else "",
        extra={"job_id": job_id, "site": site},
    )


async def _emit(
    session: AsyncSession,
    job: orm.Job,
    before: JobState,
    after: JobState,
    *,
    actor: str,
    origin: str | None,
    message: str | None,
) -> None:
    data = {
        **event_data(job),
        "from": before.value,
        "to": after.value,
        "origin": origin,
        "message": message,
    }
    subject = ("job", str(job.id))
    await events.append(
        session, "job.state_changed", subject=subject, data=data, actor=actor, site=job.site
    )
    if after is JobState.DONE:
        await events.append(
            session, "job.done", subject=subject, data=event_data(job), actor=actor, site=job.site
        )


async def for_target(session: AsyncSession, kind: str, key: str) -> list[orm.Job]:
    """A target's jobs, newest first."""
    rows = await session.scalars(
        select(orm.Job)
        .where(orm.Job.target_kind == kind, orm.Job.target_key == key)
        .order_by(orm.Job.id.desc())
    )
    return list(rows)
