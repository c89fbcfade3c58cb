"""The append-only job log (spec §1 ``job_log``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contractor.foreman import orm
from contractor.servicekit.outbox import insert_on_commit
from sqlalchemy import Table, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.ext.asyncio import AsyncSession

LOG_TABLE: Table = orm.JobLog.__table__  # type: ignore[assignment]


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
) -> None:
    """Append one log row for ``job_id`` (the caller holds the job's row lock).

    The row is inserted when the transaction commits (with the other log rows of the
    transaction, in one statement; nothing reads the log back in the transaction that writes
    it). Its ``seq`` comes from the job row's ``log_seq`` counter, which the caller's lock
    makes safe to increment.
    """
    # The caller holds the locked job: it is in the session's identity map (no query, and no
    # trip through the async session's greenlet for a dictionary lookup).
    sync = session.sync_session
    job = sync.identity_map.get(sync.identity_key(orm.Job, job_id))
    if job is None:
        job = await session.get(orm.Job, job_id)
    if job is None:
        raise LookupError(f"job {job_id} is missing")
    if "log_seq" in sa_inspect(job).unloaded:  # expired by a rolled-back savepoint
        await session.refresh(job, ["log_seq"])
    job.log_seq = (job.log_seq or 0) + 1
    row = {
        "job_id": job_id,
        "seq": job.log_seq,
        "at": at,
        "actor": actor,
        "action": action,
        "from_state": from_state,
        "to_state": to_state,
        "message": message[:1024] if message else message,
        "data": data,
    }
    insert_on_commit(session, LOG_TABLE, row)


async def for_job(session: AsyncSession, job_id: int) -> list[orm.JobLog]:
    """Every log row of a job, oldest first."""
    rows = await session.scalars(
        select(orm.JobLog).where(orm.JobLog.job_id == job_id).order_by(orm.JobLog.seq)
    )
    return list(rows)
