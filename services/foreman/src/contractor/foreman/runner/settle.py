"""Settling a task and waking its job, in the caller's transaction (spec §4.2, §4.4)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contractor.foreman import orm
from contractor.foreman.runtime import Runtime
from contractor.foreman.states import JobState
from contractor.foreman.store import jobs, log, tasks, timeline
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession


async def lock_pair(session: AsyncSession, task_id: str) -> tuple[orm.Job | None, orm.Task | None]:
    """Lock a task's job, then the task (always in this order, so no deadlocks)."""
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
    if task.purpose == "call":
        detail = {"task_id": task.id, "state": state, "attempt": task.attempt}
        timeline.mark(session, task.job_id, now, "task.settled", detail)
    await wake(session, job, task, rt, now)


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
