"""One step of one job (spec §2.5): settle what it waited on, run a slice, persist.

A step does no network I/O: its only effects are rows written in the caller's transaction.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any, Final

from contractor.foreman import orm
from contractor.foreman.runner import completion, interp, writes
from contractor.foreman.runner.functions import ERROR_VALUES
from contractor.foreman.runner.network import SITE_KEY
from contractor.foreman.runner.signaling import WaitForCompletion, deadline_of
from contractor.foreman.runtime import Runtime
from contractor.foreman.states import JobState
from contractor.foreman.store import jobs, signals, tasks, timeline
from sqlalchemy.ext.asyncio import AsyncSession
from tscript.context import from_micros
from tscript.machine import Interpreter, SliceResult

ACTOR: Final = "system:stepper"
#: interpreter stop cause -> job origin (spec §2.5)
PAUSE_ORIGINS: Final = {"call": "script", "max_time": "max_time", "plugin": "call"}
ERROR_ORIGINS: Final = {"call": "script", "step_limit": "runaway"}
DEFAULT_TIMEOUT_S: Final = 300.0
"""Execution limit of a task (spec §4.3: lost after ``timeout_s + 30`` s since its start)."""


async def step(session: AsyncSession, job: orm.Job, rt: Runtime) -> None:
    """Step a locked ``running`` job once."""
    now = rt.clock.now()
    kind = (job.wait or {}).get("kind")
    if kind == "complete":
        await completion.advance(session, job, rt, now)
        return
    if kind == "apply" and not await writes.settle(session, job, rt, now):
        return
    if kind == "task" and (job.wait or {}).get("module") == tasks.SERVER_MODULE:
        await _take_snapshot(session, job)
    batch = writes.WriteBatch(job.snapshot or {}, job.overlay)
    program = await interp.program_of(session, job)
    box = await interp.signal_box(session, job, program)
    machine = await interp.load(
        session, job, rt.clock, rt.settings.step_limit, batch, box, program=program
    )
    await _deliver(session, machine, now)
    result = machine.run(rt.settings.slice_steps)
    for token, pxe_name in box.resets:
        await signals.arm(session, job.id, pxe_name, now, token)
    # A new request becomes a task in this step (unless writes must go first): marked as
    # handed out before the state is saved, so the state is encoded once.
    request = result.request if result.status == "waiting" else None
    fresh = request is not None and not request["dispatched"] and not batch.new
    if fresh and request is not None:
        machine.mark_dispatched(str(request["request_id"]))
    before = job.progress
    size = interp.save(job, machine)
    timeline.scope_marks(session, job.id, before, job.progress, now)
    if batch.new:
        job.overlay = [*(job.overlay or []), *batch.new]
        size += len(json.dumps(job.overlay))
    if size > rt.settings.state_limit_bytes:
        await _move(session, job, JobState.ERROR, now, "job state too large", origin="internal")
        return
    if batch.new:
        # Writes go to inventory before this step's outcome takes effect (spec §4.6): the
        # next step re-runs the slice's end (request, delay, finish …) once they are applied.
        await writes.send(session, job, rt, now)
        return
    await _persist(session, job, machine, result, rt, now, fresh=fresh)


async def _take_snapshot(session: AsyncSession, job: orm.Job) -> None:
    """A settled inventory call (``map_ports`` …) brought the refreshed snapshot: use it."""
    task = await session.get(orm.Task, str((job.wait or {}).get("task_id")))
    if task is None or task.state != "succeeded" or task.consumed_at is not None:
        return
    snapshot = (task.result or {}).get("snapshot")
    if isinstance(snapshot, dict):
        job.snapshot = snapshot  # sealed as the worker recorded it


async def _deliver(session: AsyncSession, machine: Interpreter, now: datetime) -> None:
    """Feed a settled, unconsumed task to the interpreter (exactly once)."""
    request = machine.pending_request()
    if request is None or not request["dispatched"]:
        return
    # Usually loaded by the stepper's prefetch in this transaction: then no query.
    task = await session.get(orm.Task, request["request_id"])
    if task is None or task.state not in tasks.SETTLED or task.consumed_at is not None:
        return
    task.consumed_at = now
    function = interp.current_function(machine)
    name = function.name if function is not None else ""
    if task.state == "succeeded":
        machine.deliver_result(task.id, task.result or {})
    elif name in ERROR_VALUES and task.state == "failed":
        machine.deliver_result(task.id, ERROR_VALUES[name])
    else:
        machine.deliver_error(task.id, failure_message(task))


def _timeout(parameters: dict[str, Any]) -> float:
    """The task's execution limit: the default, or a longer ``timeout`` the call asked for."""
    asked = parameters.get("timeout")
    if isinstance(asked, int | float) and not isinstance(asked, bool):
        return max(DEFAULT_TIMEOUT_S, float(asked) + 30)
    return DEFAULT_TIMEOUT_S


def failure_message(task: orm.Task) -> str:
    """The message a failed, lost or canceled task gives its job (spec §4.3–§4.5)."""
    error = task.error or {}
    if task.state == "failed":
        return f"{task.module}.{task.function}: {error.get('message', 'failed')}"
    return str(error.get("message") or f"task {task.state}")


async def _persist(
    session: AsyncSession,
    job: orm.Job,
    machine: Interpreter,
    result: SliceResult,
    rt: Runtime,
    now: datetime,
    *,
    fresh: bool,
) -> None:
    status = result.status
    message = result.message
    if status == "yielded":
        job.runnable_at = now
        job.message = message[:1024] if message else job.message
    elif status == "waiting" and result.request is not None:
        await _wait_task(session, job, machine, result.request, rt, now, fresh=fresh)
        server = result.request["module"] == tasks.SERVER_MODULE  # map_ports … (§4.6)
        await rt.announce(session, rt.server_tasks if server else rt.tasks)
    elif status == "waiting" and isinstance(interp.current_function(machine), WaitForCompletion):
        deadline = deadline_of(machine)
        due_at = from_micros(deadline) if deadline is not None else None
        job.wait = {"kind": "signal", "until": due_at.isoformat() if due_at else None}
        await _move(session, job, JobState.WAITING_SIGNAL, now, message)
        job.runnable_at = due_at
    elif status == "waiting":
        due = from_micros(result.wake_at) if result.wake_at else now + timedelta(seconds=1)
        job.wait = {"kind": "delay", "until": due.isoformat()}
        await _move(session, job, JobState.WAITING_DELAY, now, message)
        job.runnable_at = due
    elif status == "paused":
        origin = PAUSE_ORIGINS.get(str((machine.stop or {}).get("cause")), "script")
        await _move(session, job, JobState.PAUSED, now, message, origin=origin)
    elif status == "error":
        origin = ERROR_ORIGINS.get(str((machine.stop or {}).get("cause")), "call")
        await _move(session, job, JobState.ERROR, now, message, origin=origin)
    elif status == "aborted":
        await _move(session, job, JobState.ABORTED, now, message)
        await completion.release(session, job, now)
        await rt.announce(session, rt.server_tasks)
    else:
        await completion.begin(session, job, now)
        await _move(session, job, JobState.WAITING_TASK, now, "completing")
        await rt.announce(session, rt.server_tasks)
    if status == "yielded":
        await rt.announce(session, rt.jobs)


async def _wait_task(
    session: AsyncSession,
    job: orm.Job,
    machine: Interpreter,
    request: dict[str, Any],
    rt: Runtime,
    now: datetime,
    *,
    fresh: bool,
) -> None:
    """Wait for the request's task; ``fresh``: the step made the request, so create the task.

    A request the saved state calls handed out but whose task row does not exist (the state
    was saved, then the step failed on the job's size) gets its task now.
    """
    task_id = str(request["request_id"])
    task: orm.Task | None = None if fresh else await tasks.get(session, task_id)
    settled = task is not None and task.state in tasks.SETTLED
    attempt = task.attempt if task is not None else 1
    if task is None:
        function = interp.current_function(machine)
        parameters = dict(request["parameters"] or {})
        site = parameters.pop(SITE_KEY, None)
        fstate = (machine.frames[-1].extra or {}).get("fstate")
        idempotent = bool(function is not None and function.idempotent)
        if isinstance(fstate, dict) and "idempotent" in fstate:
            idempotent = bool(fstate["idempotent"])  # ssh.execute(idempotent=…) decides per call
        tasks.insert_new(
            session,
            task_id=task_id,
            job=job,
            module=str(request["module"]),
            function=str(request["function"]),
            parameters=parameters,
            idempotent=idempotent,
            now=rt.clock.now(),  # when the row is made, not when the step began
            timeout_s=_timeout(parameters),
            site=str(site) if site else None,
        )
    job.wait = {
        "kind": "task",
        "task_id": task_id,
        "module": request["module"],
        "function": request["function"],
        "since": now.isoformat(),
    }
    message = f"waiting for {request['module']}.{request['function']} (attempt {attempt})"
    module = str(request["module"])
    if module != tasks.SERVER_MODULE and not await rt.serves(session, job.site or "", module):
        message = f"no agent serves {request['module']} for site {job.site}"
    if settled:
        job.runnable_at = now  # settled while we looked: step again at once
        job.message = message
        return
    await _move(session, job, JobState.WAITING_TASK, now, message)


async def _move(
    session: AsyncSession,
    job: orm.Job,
    to: JobState,
    now: datetime,
    message: str | None,
    *,
    origin: str | None = None,
) -> None:
    """A step outcome: transition (logged) unless the state stays the same."""
    job.runnable_at = None
    if job.state == to.value:
        job.message = message[:1024] if message else job.message
        return
    await jobs.transition(
        session, job, "step", actor=ACTOR, now=now, to=to, message=message, origin=origin
    )
