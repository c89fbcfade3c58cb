"""Cleanup tasks after ``cancel`` (spec §2.7), in the caller's transaction.

When a job is canceled while the function in progress declares a rollback task and that
function's task may have had an effect (started, or succeeded but not yet consumed), the job
owes a cleanup: the rollback task, sent with ``purpose=cleanup`` once the original task has
settled. Until the cleanup task settles (or is given up on) the canceled job keeps
``wait = {"kind": "cleanup", "task_id": <the task it waits for>, …}``; only then is the target's
slot released (server task ``release``). The cleanup's outcome is logged and never changes the
job's state. :func:`release_pending` is what the job JSON shows and what refuses new jobs on
the target (409 ``job-exists``) meanwhile.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from contractor.foreman import orm
from contractor.foreman.clock import JobContext
from contractor.foreman.runner import completion, interp
from contractor.foreman.runner.functions import TaskFunction
from contractor.foreman.runtime import Runtime
from contractor.foreman.store import log, tasks
from sqlalchemy.ext.asyncio import AsyncSession
from tscript.plugins import Send

WAIT_KIND: Final = "cleanup"
ACTOR: Final = "system:cleanup"
SPEC_KEY: Final = "cleanup"
"""Key of ``job.wait`` holding the cleanup task to send (kept out of the job JSON)."""
TIMEOUT_S: Final = 300.0


@dataclass(frozen=True)
class Cleanup:
    """The cleanup a canceled job owes: the task it waits for and the task to send after it."""

    after: orm.Task
    module: str
    function: str
    parameters: dict[str, Any]

    def spec(self) -> dict[str, Any]:
        """The JSON kept in ``job.wait`` until the cleanup task is created."""
        return {
            "module": self.module,
            "function": self.function,
            "parameters": self.parameters,
            "site": self.after.site,
        }


def may_have_had_effect(task: orm.Task) -> bool:
    """Started (and not settled), or succeeded but not yet consumed by the job."""
    if task.state in tasks.OPEN:
        return task.state == "started" or task.started_at is not None
    return task.state == "succeeded" and task.consumed_at is None


async def plan(session: AsyncSession, job: orm.Job, rt: Runtime) -> Cleanup | None:
    """The cleanup ``job`` owes if it is canceled now (read before its tasks are canceled)."""
    wait = job.wait or {}
    task_id = wait.get("task_id")
    if wait.get("kind") != "task" or not task_id or job.interp is None:
        return None
    task = await tasks.get(session, str(task_id))
    if task is None or not may_have_had_effect(task):
        return None
    machine = await interp.load(session, job, rt.clock, rt.settings.step_limit)
    function = interp.current_function(machine)
    if not isinstance(function, TaskFunction) or function.decl.rollback != "task":
        return None
    fstate = (machine.frames[-1].extra or {}).get("fstate")
    outcome = function.rollback(fstate, JobContext(rt.clock))
    if not isinstance(outcome, Send):
        return None
    parameters = outcome.parameters if isinstance(outcome.parameters, dict) else {}
    return Cleanup(task, outcome.module, outcome.function, dict(parameters))


async def hold(
    session: AsyncSession, job: orm.Job, cleanup: Cleanup, rt: Runtime, now: datetime
) -> None:
    """Keep the slot of the canceled ``job`` until ``cleanup`` has run."""
    job.wait = {
        "kind": WAIT_KIND,
        "task_id": cleanup.after.id,
        "after": cleanup.after.id,
        SPEC_KEY: cleanup.spec(),
    }
    if cleanup.after.state in tasks.SETTLED:
        await _send(session, job, rt, now)


async def settled(
    session: AsyncSession, job: orm.Job, task: orm.Task, rt: Runtime, now: datetime
) -> None:
    """A task of a canceled job settled: send the cleanup, or log it and release the slot."""
    wait = job.wait or {}
    if wait.get("kind") != WAIT_KIND or wait.get("task_id") != task.id:
        return
    if task.purpose != "cleanup":
        await _send(session, job, rt, now)
        return
    error = task.error or {}
    outcome = task.state if task.state == "succeeded" else f"{task.state}: {error.get('message')}"
    await log.append(
        session,
        job.id,
        at=now,
        actor=ACTOR,
        action="cleanup_settled",
        message=f"cleanup {task.module}.{task.function} {outcome}",
        data={"task_id": task.id, "state": task.state, "attempt": task.attempt},
    )
    job.wait = None
    await completion.release(session, job, now)
    await rt.announce(session, rt.server_tasks)


async def _send(session: AsyncSession, job: orm.Job, rt: Runtime, now: datetime) -> None:
    wait = dict(job.wait or {})
    spec = wait.get(SPEC_KEY) or {}
    task = await tasks.create(
        session,
        task_id=str(uuid.uuid4()),
        job=job,
        module=str(spec["module"]),
        function=str(spec["function"]),
        parameters=dict(spec.get("parameters") or {}),
        idempotent=True,  # rollback tasks remove by name; "not found" is success (§6.3)
        purpose="cleanup",
        now=now,
        timeout_s=TIMEOUT_S,
        site=str(spec["site"]) if spec.get("site") else None,
    )
    job.wait = {**wait, "task_id": task.id}
    detail = {"task_id": task.id, "module": task.module, "function": task.function}
    await log.append(
        session,
        job.id,
        at=now,
        actor=ACTOR,
        action="cleanup_created",
        message=f"cleanup {task.module}.{task.function} after {wait.get('after')}",
        data={**detail, "after": wait.get("after")},
    )
    await rt.announce(session, rt.tasks)


async def release_pending(session: AsyncSession, job: orm.Job) -> bool:
    """Whether the job still holds its target: cleanup owed or running, or release unsettled."""
    if (job.wait or {}).get("kind") == WAIT_KIND:
        return True
    return await tasks.release_pending(session, job.id)
