"""Lease expiry, re-offers and reconciliation (spec §4.3), in the caller's transaction."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from contractor.foreman import orm
from contractor.foreman.runner import settle
from contractor.foreman.runtime import Runtime
from contractor.foreman.store import agents, log, tasks
from sqlalchemy.ext.asyncio import AsyncSession


async def expire(
    session: AsyncSession, job: orm.Job | None, task: orm.Task, rt: Runtime, now: datetime
) -> None:
    """Handle a task whose lease (or start-ack window) ran out, or whose holder is gone.

    Unstarted non-idempotent tasks never ran: re-offered. Idempotent tasks are re-offered up to
    ``max_reoffers`` times, then lost. Started non-idempotent tasks are lost at once.
    """
    if task.state not in tasks.OPEN:
        return
    if task.cancel_requested:  # its job was canceled (spec §2.7): never re-offered
        message = "lease expired after its job was canceled; not re-offered"
        await settle.finish(session, job, task, "canceled", rt, now, error={"message": message})
        return
    if not task.idempotent and task.started_at is not None:
        holder = await agents.get(session, task.agent_id) if task.agent_id else None
        name = holder.name if holder is not None else str(task.agent_id)
        await settle.lose(session, job, task, f"task lost: {name}", rt, now)
        rt.metrics.task_lost.labels(task.module, "failed_job").inc()
        return
    if task.idempotent:
        task.reoffers += 1
        if task.reoffers > rt.settings.max_reoffers:
            message = f"task lost {rt.settings.max_reoffers} times"
            await settle.lose(session, job, task, message, rt, now)
            rt.metrics.task_lost.labels(task.module, "failed_job").inc()
            return
    if job is not None:
        await log.append(
            session,
            job.id,
            at=now,
            actor="system:reaper",
            action="task_reoffered",
            data={"task_id": task.id, "attempt": task.attempt},
        )
    settle.log_task_after_commit(
        session, logging.INFO, task, f"lease over: re-offered (attempt {task.attempt})"
    )
    tasks.reoffer(task, now=now)
    rt.metrics.task_lost.labels(task.module, "reoffered").inc()
    await rt.announce(session, rt.tasks)


async def expire_by_id(session: AsyncSession, task_id: str, rt: Runtime, now: datetime) -> None:
    """Lock a task's job and the task, re-check that its lease is over, and expire it."""
    job, task = await settle.lock_pair(session, task_id)
    if task is None or task.state not in tasks.OPEN:
        return
    ack_due = (
        task.state == "leased"
        and not task.idempotent
        and task.leased_at is not None
        and task.leased_at + timedelta(seconds=rt.settings.start_ack_s) < now
    )
    overdue = (
        task.state == "started"
        and task.started_at is not None
        and task.timeout_s is not None
        and task.started_at + timedelta(seconds=task.timeout_s + 30) < now
    )
    if ack_due or overdue or (task.lease_until is not None and task.lease_until < now):
        await expire(session, job, task, rt, now)


async def drop_holder(
    session: AsyncSession, agent_id: str, incarnation: str | None, rt: Runtime, now: datetime
) -> None:
    """Handle every open task of an agent's (old) incarnation as an expired lease at once."""
    for held in await tasks.held_by(session, agent_id):
        if incarnation is not None and held.incarnation != incarnation:
            continue
        job, task = await settle.lock_pair(session, held.id)
        if task is not None and task.agent_id == agent_id:
            await expire(session, job, task, rt, now)
