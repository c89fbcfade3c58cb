"""Operator actions on a locked job (spec §2.3, §2.6, §2.7), in the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from contractor.foreman import orm, states
from contractor.foreman.errors import ReleasePending, RollbackNotSupported
from contractor.foreman.runner import cleanup, completion, interp
from contractor.foreman.runner.functions import TaskFunction
from contractor.foreman.runtime import Runtime
from contractor.foreman.states import JobState
from contractor.foreman.store import events, jobs, log, signals, tasks
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession
from tscript.errors import ActionRefused
from tscript.machine import Interpreter


async def pause(
    session: AsyncSession, job: orm.Job, rt: Runtime, actor: str, msg: str | None
) -> None:
    """Stop the job as ``paused`` (origin ``operator``), remembering what it was doing."""
    states.check("pause", JobState(job.state), job_id=job.id)
    job.wait = {**(job.wait or {}), "paused_from": job.state}
    job.runnable_at = None
    await jobs.transition(
        session,
        job,
        "pause",
        actor=actor,
        now=rt.clock.now(),
        origin="operator",
        message=msg or "paused by operator",
    )


async def resume(
    session: AsyncSession, job: orm.Job, rt: Runtime, actor: str, msg: str | None
) -> None:
    """Continue a paused job (by origin, spec §2.6)."""
    states.check("resume", JobState(job.state), job_id=job.id)
    now = rt.clock.now()
    to = JobState.RUNNING
    if job.origin == "operator":
        to = await _interrupted_state(session, job, now)
        job.wait = {k: v for k, v in (job.wait or {}).items() if k != "paused_from"} or None
    else:
        machine = await interp.load(session, job, rt.clock, rt.settings.step_limit)
        _interp_action(machine.resume)
        interp.save(job, machine)
    await jobs.transition(session, job, "resume", actor=actor, now=now, to=to, message=msg)
    await _runnable(session, job, rt, now, to)


async def _interrupted_state(session: AsyncSession, job: orm.Job, now: datetime) -> JobState:
    wait = job.wait or {}
    before = wait.get("paused_from")
    if before == JobState.QUEUED.value or job.program_id is None:
        return JobState.QUEUED
    if wait.get("kind") in ("task", "complete") and wait.get("task_id"):
        task = await tasks.get(session, str(wait["task_id"]))
        if task is not None and task.state in tasks.UNSETTLED:
            return JobState.WAITING_TASK
    until = str(wait.get("until") or "")
    if before == JobState.WAITING_SIGNAL.value:
        signal = await signals.current(session, job.id)
        if signal is None or signal.state != "received":
            return JobState.WAITING_SIGNAL
    if before == JobState.WAITING_DELAY.value and until and datetime.fromisoformat(until) > now:
        return JobState.WAITING_DELAY
    return JobState.RUNNING


async def _runnable(
    session: AsyncSession, job: orm.Job, rt: Runtime, now: datetime, to: JobState
) -> None:
    if to is JobState.RUNNING:
        job.runnable_at = now
        await rt.announce(session, rt.jobs)
    elif to in (JobState.WAITING_DELAY, JobState.WAITING_SIGNAL):
        until = (job.wait or {}).get("until")
        job.runnable_at = datetime.fromisoformat(str(until)) if until else None
    else:
        job.runnable_at = None


def _interp_action(action: Callable[[], None]) -> None:
    try:
        action()
    except ActionRefused as exc:
        raise RollbackNotSupported(exc.message) from None


async def reset(
    session: AsyncSession,
    job: orm.Job,
    rt: Runtime,
    actor: str,
    msg: str | None,
    *,
    action: str = "reset",
) -> None:
    """Retry what failed (spec §2.6); ``internal`` after a refused completion retries it."""
    states.check(action, JobState(job.state), job_id=job.id)
    now = rt.clock.now()
    note = msg
    applying = (job.wait or {}).get("kind") == "apply"  # the step re-sends the batch
    if job.origin != "internal" and job.interp is not None and not applying:
        machine = await interp.load(session, job, rt.clock, rt.settings.step_limit)
        _interp_action(machine.reset)
        request = machine.pending_request()
        if job.origin == "call" and request is not None and note is None:
            note = f"retrying {request['module']}.{request['function']}"
        interp.save(job, machine)
    job.internal_failures = 0
    await jobs.transition(session, job, action, actor=actor, now=now, message=note)
    await _runnable(session, job, rt, now, JobState.RUNNING)


async def rollback(
    session: AsyncSession, job: orm.Job, rt: Runtime, actor: str, msg: str | None
) -> None:
    """Undo the failed call as it declares (``none``: 409; ``noop``: reset; task: run it)."""
    states.check("rollback", JobState(job.state), job_id=job.id)
    if job.origin != "call" or job.interp is None or (job.wait or {}).get("kind") == "apply":
        await reset(session, job, rt, actor, msg, action="rollback")
        return
    machine = await interp.load(session, job, rt.clock, rt.settings.step_limit)
    function = interp.current_function(machine)
    kind = function.decl.rollback if isinstance(function, TaskFunction) else None
    if kind == "noop":
        await reset(session, job, rt, actor, msg, action="rollback")
        return
    if kind != "task":
        raise RollbackNotSupported(f"job {job.id}: the failed call declares no rollback")
    _interp_action(machine.rollback)
    await _save_and_run(session, job, machine, rt, actor, msg or "rolling back")


async def _save_and_run(
    session: AsyncSession, job: orm.Job, machine: Interpreter, rt: Runtime, actor: str, msg: str
) -> None:
    now = rt.clock.now()
    interp.save(job, machine)
    await jobs.transition(session, job, "rollback", actor=actor, now=now, message=msg)
    await _runnable(session, job, rt, now, JobState.RUNNING)


async def cancel(
    session: AsyncSession, job: orm.Job, rt: Runtime, actor: str, msg: str | None
) -> None:
    """Cancel at once; stop its tasks; clean up; release the target's slot (spec §2.7).

    The slot is released at once, unless the call in progress owes a cleanup task: then only
    after that has run (:mod:`contractor.foreman.runner.cleanup`).
    """
    states.check("cancel", JobState(job.state), job_id=job.id)
    now = rt.clock.now()
    owed = await cleanup.plan(session, job, rt)
    for task in await tasks.for_job(session, job.id):
        if task.state == "pending" or (task.state == "leased" and task.started_at is None):
            tasks.settle(task, "canceled", now=now, error={"message": "job canceled"})
        elif task.state == "started":
            task.cancel_requested = True
    await jobs.transition(
        session, job, "cancel", actor=actor, now=now, message=msg or "canceled by operator"
    )
    if owed is not None:
        await cleanup.hold(session, job, owed, rt, now)
    elif job.program_id is not None or job.wait is not None:
        await completion.release(session, job, now)
        await rt.announce(session, rt.server_tasks)


async def clear(session: AsyncSession, job: orm.Job, rt: Runtime, actor: str) -> None:
    """Delete a terminal job with its tasks and timeline; the log stays (spec §2.7).

    Refused while the job still owes a cleanup task or the release of its target's slot:
    deleting those tasks would leave the target reserved at inventory for good.
    """
    states.check("clear", JobState(job.state), job_id=job.id)
    if await cleanup.release_pending(session, job):
        raise ReleasePending(job.id)
    now = rt.clock.now()
    await log.append(session, job.id, at=now, actor=actor, action="clear", from_state=job.state)
    data = {
        **jobs.event_data(job),
        "from": job.state,
        "to": "deleted",
        "origin": None,
        "message": None,
    }
    await events.append(
        session,
        "job.state_changed",
        subject=("job", str(job.id)),
        data=data,
        actor=actor,
        site=job.site,
    )
    await session.execute(delete(orm.Task).where(orm.Task.job_id == job.id))
    await session.execute(delete(orm.TimelineMark).where(orm.TimelineMark.job_id == job.id))
    await session.delete(job)
    await session.flush()
