"""Retention (spec §2.3 ``expire``): old terminal jobs and old log rows are deleted."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from contractor.foreman import orm
from contractor.foreman.runner import cleanup
from contractor.foreman.runtime import Runtime
from contractor.foreman.states import JobState
from contractor.foreman.store import events, jobs, log
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

logger = logging.getLogger(__name__)
ACTOR = "system:retention"


async def run(sessions: async_sessionmaker[AsyncSession], rt: Runtime, stop: asyncio.Event) -> None:
    """Expire old jobs every ``retention_interval_s`` until ``stop`` is set."""
    while not stop.is_set():
        try:
            await expire_once(sessions, rt)
        except Exception:
            logger.exception("retention failed")
        try:
            await asyncio.wait_for(stop.wait(), rt.settings.retention_interval_s)
        except TimeoutError:
            continue


async def expire_once(sessions: async_sessionmaker[AsyncSession], rt: Runtime) -> int:
    """Delete terminal jobs past their retention; return how many.

    ``done`` jobs go after ``retention_done_days``, ``aborted`` and ``canceled`` ones after
    ``retention_failed_days``; log rows stay until they are older than the latter.
    """
    now = rt.clock.now()
    s = rt.settings
    done_before = now - timedelta(days=s.retention_done_days)
    failed_before = now - timedelta(days=s.retention_failed_days)
    async with sessions() as session:
        old = list(
            await session.scalars(
                select(orm.Job.id).where(
                    ((orm.Job.state == JobState.DONE.value) & (orm.Job.finished_at < done_before))
                    | (
                        orm.Job.state.in_((JobState.ABORTED.value, JobState.CANCELED.value))
                        & (orm.Job.finished_at < failed_before)
                    )
                )
            )
        )
    expired = 0
    for job_id in old:
        async with sessions() as session, session.begin():
            job = await jobs.get_locked(session, job_id)
            if await cleanup.release_pending(session, job):
                continue  # its slot release is still being retried: deleting it would leak it
            expired += 1
            await log.append(
                session, job.id, at=now, actor=ACTOR, action="expire", from_state=job.state
            )
            data = {
                **jobs.event_data(job),
                "from": job.state,
                "to": "deleted",
                "origin": None,
                "message": "expired",
            }
            await events.append(
                session,
                "job.state_changed",
                subject=("job", str(job.id)),
                data=data,
                actor=ACTOR,
                site=job.site,
            )
            await session.execute(delete(orm.Task).where(orm.Task.job_id == job.id))
            await session.delete(job)
    async with sessions() as session, session.begin():
        await session.execute(delete(orm.JobLog).where(orm.JobLog.at < failed_before))
    return expired
