"""Jobs waiting for prerequisites repeat their reservation (spec §2.4).

Triggers: a sweep every ``prerequisite_sweep_s`` and, at once, every completion inventory
acknowledged (the finished target may be what others wait on). Following inventory's event
feed is not implemented yet; the sweep bounds the delay.
"""

from __future__ import annotations

import asyncio
import logging

from contractor.foreman import orm
from contractor.foreman.errors import InventoryProblem, InventoryUnavailable
from contractor.foreman.inventory import InventoryClient
from contractor.foreman.runner import actions, admission
from contractor.foreman.runtime import Runtime
from contractor.foreman.states import JobState
from contractor.foreman.store import jobs
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

logger = logging.getLogger(__name__)


async def run(
    sessions: async_sessionmaker[AsyncSession],
    rt: Runtime,
    inventory: InventoryClient,
    stop: asyncio.Event,
) -> None:
    """Re-reserve waiting jobs on every trigger until ``stop`` is set."""
    while not stop.is_set():
        try:
            await reserve_waiting(sessions, rt, inventory)
        except Exception:
            logger.exception("prerequisite sweep failed")
        if not stop.is_set():
            await rt.prerequisites.wait(rt.settings.prerequisite_sweep_s)


async def _waiting(sessions: async_sessionmaker[AsyncSession]) -> list[orm.Job]:
    async with sessions() as session:
        rows = await session.scalars(
            select(orm.Job)
            .where(orm.Job.state == JobState.QUEUED.value, orm.Job.program_id.is_(None))
            .order_by(orm.Job.id)
        )
        return list(rows)


async def reserve_waiting(
    sessions: async_sessionmaker[AsyncSession], rt: Runtime, inventory: InventoryClient
) -> int:
    """Repeat the reservation of every job waiting for prerequisites; return how many."""
    waiting = await _waiting(sessions)
    for job in waiting:
        try:
            answer = await inventory.reserve(
                job.target_kind, job.target_key, job_id=job.id, script=job.script_name, wait=True
            )
        except InventoryUnavailable:
            continue
        except InventoryProblem as exc:
            await _refused(sessions, rt, job.id, exc.detail)
            continue
        if answer.get("outcome") == "granted" and "snapshot" not in answer:
            answer["snapshot"] = await inventory.snapshot(job.target_kind, job.target_key)
        async with sessions() as session, session.begin():
            locked = await jobs.get_locked(session, job.id)
            if locked.state == JobState.QUEUED.value and locked.program_id is None:
                await admission.regrant(session, locked, answer, rt=rt)
    return len(waiting)


async def _refused(
    sessions: async_sessionmaker[AsyncSession], rt: Runtime, job_id: int, detail: str
) -> None:
    """Inventory refused the repeated reservation (its slot is freed): cancel the job."""
    async with sessions() as session, session.begin():
        job = await jobs.get_locked(session, job_id)
        if job.state == JobState.QUEUED.value and job.program_id is None:
            await actions.cancel(session, job, rt, "inventory", detail)
