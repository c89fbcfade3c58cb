"""Writes: attribute setters, ``dhcp.set_pxe``, ``set_interface_macs``, ``structure.set_config``.

A step collects writes (reads in the same job see them at once); at the end of that step one
``_inventory.apply`` server task carries them all, and the job waits for it *before* the step's
agent task is offered or completion begins (spec §4.6). Inventory answers with the refreshed
snapshot, which replaces the job's; a rejected batch puts the job in ``error`` (origin
``call``) and ``reset`` sends the batch again.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Final

from contractor.foreman import orm
from contractor.foreman.runtime import Runtime
from contractor.foreman.states import JobState
from contractor.foreman.store import jobs, tasks
from contractor.servicekit.jsontree import copy_json
from sqlalchemy.ext.asyncio import AsyncSession

ACTOR: Final = "system:stepper"


class WriteBatch:
    """Writes queued by one step, and the snapshot view they change."""

    def __init__(self, snapshot: dict[str, Any], overlay: list[dict[str, Any]] | None) -> None:
        # Read-only until a write changes it: the view is the snapshot itself, copied on the
        # first change (most steps write nothing, and the snapshot is the job's own).
        self.view = snapshot
        self._copied = False
        self.new: list[dict[str, Any]] = []
        for write in overlay or []:
            self._apply_to_view(write)

    def add(self, write: dict[str, Any]) -> None:
        """Queue a write and show it to later reads."""
        self.new.append(write)
        self._apply_to_view(write)

    def _apply_to_view(self, write: dict[str, Any]) -> None:
        if write.get("op") != "set_value" or not isinstance(self.view.get("foundation"), dict):
            return
        if not self._copied:
            self.view = copy_json(self.view)
            self._copied = True
        foundation = self.view["foundation"]
        foundation.setdefault("values", {})[write["name"]] = write["value"]


async def send(session: AsyncSession, job: orm.Job, rt: Runtime, now: datetime) -> None:
    """Queue the job's overlay as one ``apply`` server task and wait for it."""
    task = await tasks.create(
        session,
        task_id=str(uuid.uuid4()),
        job=job,
        module=tasks.SERVER_MODULE,
        function="apply",
        parameters={
            "kind": job.target_kind,
            "key": job.target_key,
            "job_id": job.id,
            "writes": list(job.overlay or []),
        },
        idempotent=True,
        purpose="server",
        now=now,
    )
    task.parameters = {**task.parameters, "batch_id": task.id}
    job.wait = {"kind": "apply", "task_id": task.id, "since": now.isoformat()}
    await _wait(session, job, now, "waiting for inventory to apply writes")
    await rt.announce(session, rt.server_tasks)


async def _wait(session: AsyncSession, job: orm.Job, now: datetime, message: str) -> None:
    job.runnable_at = None
    if job.state == JobState.WAITING_TASK.value:
        job.message = message
        return
    await jobs.transition(
        session, job, "step", actor=ACTOR, now=now, to=JobState.WAITING_TASK, message=message
    )


async def settle(session: AsyncSession, job: orm.Job, rt: Runtime, now: datetime) -> bool:
    """Deal with the job's apply task; True when the step may run the interpreter."""
    task_id = (job.wait or {}).get("task_id")
    task = await tasks.get(session, str(task_id)) if task_id else None
    if task is None or (task.state in tasks.SETTLED and task.consumed_at is not None):
        await send(session, job, rt, now)  # a reset after a rejected batch
        return False
    if task.state not in tasks.SETTLED:
        await _wait(session, job, now, "waiting for inventory to apply writes")
        return False
    task.consumed_at = now
    if task.state == "succeeded":
        snapshot = (task.result or {}).get("snapshot")
        if isinstance(snapshot, dict):
            job.snapshot = rt.seal(snapshot)
        job.overlay = None
        job.wait = None
        return True
    detail = str((task.error or {}).get("message") or "rejected")
    job.runnable_at = None
    await jobs.transition(
        session,
        job,
        "step",
        actor=ACTOR,
        now=now,
        to=JobState.ERROR,
        origin="call",
        message=f"writes rejected by inventory: {detail}",
    )
    return False
