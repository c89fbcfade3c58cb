"""Completion and slot release as ``_inventory`` server tasks (spec §2.8, decision 6).

When a script finishes, the job waits on a ``complete`` server task; only inventory's
acknowledgement makes it ``done``. A refusal (non-transient 4xx) puts it in ``error`` (origin
``internal``) with inventory's problem; ``reset`` creates a new ``complete`` task.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final

from contractor.foreman import orm
from contractor.foreman.runtime import Runtime
from contractor.foreman.states import JobState
from contractor.foreman.store import jobs, tasks
from sqlalchemy.ext.asyncio import AsyncSession

ACTOR: Final = "system:stepper"
TO_STATE: Final = {"create": "built", "destroy": "planned"}


def _target(job: orm.Job) -> dict[str, Any]:
    snapshot_target = (job.snapshot or {}).get("target") or {}
    return {
        "kind": job.target_kind,
        "key": job.target_key,
        "job_id": job.id,
        "from": snapshot_target.get("state"),
    }


async def _server_task(session: AsyncSession, job: orm.Job, function: str, now: datetime) -> str:
    params = _target(job)
    if function == "complete":
        params["to"] = TO_STATE[job.kind]
    task = await tasks.create(
        session,
        task_id=str(uuid.uuid4()),
        job=job,
        module=tasks.SERVER_MODULE,
        function=function,
        parameters=params,
        idempotent=True,
        purpose="server",
        now=now,
    )
    return task.id


async def begin(session: AsyncSession, job: orm.Job, now: datetime) -> None:
    """The script finished: queue ``complete`` (create/destroy) or ``release`` (utility)."""
    function = "complete" if job.kind in TO_STATE else "release"
    task_id = await _server_task(session, job, function, now)
    job.wait = {"kind": "complete", "task_id": task_id, "since": now.isoformat()}


async def release(session: AsyncSession, job: orm.Job, now: datetime) -> None:
    """Queue the release of the target's slot (aborted or canceled job)."""
    await _server_task(session, job, "release", now)


async def advance(session: AsyncSession, job: orm.Job, rt: Runtime, now: datetime) -> None:
    """Step a completing job: ``done`` once acknowledged, ``error`` if refused."""
    task_id = (job.wait or {}).get("task_id")
    task = await tasks.get(session, str(task_id)) if task_id else None
    job.runnable_at = None
    if task is None or (task.state in tasks.SETTLED and task.consumed_at is not None):
        await begin(session, job, now)  # first try, or a reset after a refusal
        await rt.announce(session, rt.server_tasks)
        await jobs.transition(
            session,
            job,
            "step",
            actor=ACTOR,
            now=now,
            to=JobState.WAITING_TASK,
            message="completing",
        )
        return
    if task.state not in tasks.SETTLED:
        await jobs.transition(
            session,
            job,
            "step",
            actor=ACTOR,
            now=now,
            to=JobState.WAITING_TASK,
            message="waiting for inventory",
        )
        return
    task.consumed_at = now
    if task.state == "succeeded":
        job.wait = None
        job.progress = {**(job.progress or {}), "percent": 100.0}
        await jobs.transition(session, job, "step", actor=ACTOR, now=now, to=JobState.DONE)
        return
    detail = str((task.error or {}).get("message") or "inventory refused the completion")
    await jobs.transition(
        session,
        job,
        "step",
        actor=ACTOR,
        now=now,
        to=JobState.ERROR,
        message=detail,
        origin="internal",
        data={"problem": (task.error or {}).get("problem")},
    )
