"""The append-only job log (spec §1 ``job_log``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contractor.foreman import orm
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession


async def append(
    session: AsyncSession,
    job_id: int,
    *,
    at: datetime,
    actor: str,
    action: str,
    from_state: str | None = None,
    to_state: str | None = None,
    message: str | None = None,
    data: dict[str, Any] | None = None,
) -> orm.JobLog:
    """Append one log row for ``job_id`` (the caller holds the job's row lock).

    The row is written with the session's next flush; its ``seq`` comes from the job row's
    ``log_seq`` counter, which the caller's lock makes safe to increment.
    """
    job = await session.get(orm.Job, job_id)  # in the identity map already: no query
    if job is None:
        raise LookupError(f"job {job_id} is missing")
    job.log_seq = (job.log_seq or 0) + 1
    row = orm.JobLog(
        job_id=job_id,
        seq=job.log_seq,
        at=at,
        actor=actor,
        action=action,
        from_state=from_state,
        to_state=to_state,
        message=message[:1024] if message else message,
        data=data,
    )
    session.add(row)
    return row


async def for_job(session: AsyncSession, job_id: int) -> list[orm.JobLog]:
    """Every log row of a job, oldest first."""
    rows = await session.scalars(
        select(orm.JobLog).where(orm.JobLog.job_id == job_id).order_by(orm.JobLog.seq)
    )
    return list(rows)
