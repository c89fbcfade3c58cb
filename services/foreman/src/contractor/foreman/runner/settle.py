"""Settling a task and waking its job, in the caller's transaction (spec §4.2, §4.4)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from contractor.foreman import orm
from contractor.foreman.runner import cleanup
from contractor.foreman.runtime import Runtime
from contractor.foreman.states import JobState
from contractor.foreman.store import jobs, log, tasks, timeline
from contractor.foreman.store.sql import one_of
from contractor.servicekit.outbox import call_after_commit
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

logger = logging.getLogger(__name__)
LOCKED_INFO_KEY = "foreman.locked_pairs"
UNUSED_WHEN_SETTLING = (
    orm.Job.interp,
    orm.Job.snapshot,
    orm.Job.overlay,
    orm.Job.call,
    orm.Job.progress,
)


async def lock_many(session: AsyncSession, task_ids: Sequence[str]) -> None:
    """Lock the jobs of ``task_ids`` (by job id), then the tasks (by task id), in two queries.

    Later :func:`lock_pair` calls for these tasks in the same transaction use the locked rows
    without a query. The same order as :func:`lock_pair` (jobs before tasks), so no deadlocks.
    """
    if not task_ids:
        return
    job_ids = (
        select(orm.Task.job_id).where(one_of(session, orm.Task.id, task_ids)).scalar_subquery()
    )
    found_jobs = await session.scalars(
        select(orm.Job)
        # Settling reads and writes the job's state, never its program state or snapshot:
        # those (the large JSON columns) are not fetched and decoded for every outcome.
        .options(*(defer(column) for column in UNUSED_WHEN_SETTLING))
        .where(orm.Job.id.in_(job_ids))
        .order_by(orm.Job.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    by_job = {job.id: job for job in found_jobs}
    found_tasks = await session.scalars(
        select(orm.Task)
        .where(one_of(session, orm.Task.id, task_ids))
        .order_by(orm.Task.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    pairs: dict[str, tuple[orm.Job | None, orm.Task | None]] = {
        task_id: (None, None) for task_id in task_ids
    }
    for task in found_tasks:
        pairs[task.id] = (by_job.get(task.job_id), task)
    session.info[LOCKED_INFO_KEY] = (session.sync_session.get_transaction(), pairs)


async def lock_pair(session: AsyncSession, task_id: str) -> tuple[orm.Job | None, orm.Task | None]:
    """Lock a task's job, then the task (always in this order, so no deadlocks)."""
    held = session.info.get(LOCKED_INFO_KEY)
    if held is not None and held[0] is session.sync_session.get_transaction():
        pair: tuple[orm.Job | None, orm.Task | None] | None = held[1].get(task_id)
        if pair is not None:
            return pair
    job_id = await session.scalar(select(orm.Task.job_id).where(orm.Task.id == task_id))
    if job_id is None:
        return None, None
    job = await session.get(orm.Job, job_id, with_for_update=True, populate_existing=True)
    task = await tasks.get(session, task_id, lock=True)
    return job, task


async def wake(
    session: AsyncSession, job: orm.Job | None, task: orm.Task, rt: Runtime, now: datetime
) -> None:
    """Make the job runnable if it waits on ``task`` (else the outcome waits for resume)."""
    if job is None or job.state != JobState.WAITING_TASK.value:
        return
    if (job.wait or {}).get("task_id") != task.id:
        return
    await jobs.transition(session, job, "wake", actor="system:tasks", now=now)
    job.runnable_at = now
    await rt.announce(session, rt.jobs)


async def finish(
    session: AsyncSession,
    job: orm.Job | None,
    task: orm.Task,
    state: str,
    rt: Runtime,
    now: datetime,
    *,
    result: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
) -> None:
    """Settle ``task`` as ``state`` and wake its job."""
    tasks.settle(task, state, now=now, result=result, error=error)
    trip = (now - task.created_at).total_seconds()
    rt.metrics.task_roundtrip_seconds.labels(task.module, task.function).observe(max(0.0, trip))
    if task.function in timeline.POWER_FUNCTIONS and timeline.power_mark(task) == "power.off":
        new = timeline.Mark(now, "power.off", {"task_id": task.id})
        await timeline.observe_phases(session, task.job_id, new, rt.observe_phase)
    await wake(session, job, task, rt, now)
    if job is not None and job.state == JobState.CANCELED.value:
        # The cleanup and the slot release read the job's snapshot, which ``lock_many``
        # leaves unloaded (an unloaded attribute cannot be loaded implicitly under asyncio).
        unloaded = [c.key for c in UNUSED_WHEN_SETTLING if c.key in sa_inspect(job).unloaded]
        if unloaded:
            await session.refresh(job, attribute_names=unloaded)
        await cleanup.settled(session, job, task, rt, now)  # spec §2.7


async def lose(
    session: AsyncSession,
    job: orm.Job | None,
    task: orm.Task,
    message: str,
    rt: Runtime,
    now: datetime,
) -> None:
    """Give up on a task (lost): log it and let its job go to error when stepped."""
    if job is not None:
        await log.append(
            session,
            job.id,
            at=now,
            actor="system:reaper",
            action="task_lost",
            message=message,
            data={"task_id": task.id, "attempt": task.attempt},
        )
    await finish(session, job, task, "lost", rt, now, error={"message": message})
    log_task_after_commit(session, logging.WARNING, task, message)


def log_task_after_commit(session: AsyncSession, level: int, task: orm.Task, message: str) -> None:
    """Log a task outcome once the transaction that makes it commits (spec §12.2)."""
    if not logger.isEnabledFor(level):
        return
    context = {
        "job_id": task.job_id,
        "task_id": task.id,
        "site": task.site,
        "task_module": task.module,
        "function": task.function,
        "agent": task.agent_id,
    }
    line = ("task %s (%s.%s): %s", task.id, task.module, task.function, message)
    call_after_commit(session, functools.partial(logger.log, level, *line, extra=context))
