"""The lease reaper (spec §4.3): expired leases and missing start acks, after a restart grace."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from contractor.foreman.runner import leases
from contractor.foreman.runtime import Runtime
from contractor.foreman.store import tasks
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

logger = logging.getLogger(__name__)
TIMEOUT_GRACE_S = 30.0


async def run(sessions: async_sessionmaker[AsyncSession], rt: Runtime, stop: asyncio.Event) -> None:
    """Reap until ``stop`` is set; start only after one lease period (restart grace)."""
    try:
        await asyncio.wait_for(stop.wait(), rt.settings.reaper_grace)
        return
    except TimeoutError:
        pass
    while not stop.is_set():
        try:
            await reap_once(sessions, rt)
        except Exception:
            logger.exception("lease reaper failed")
        try:
            await asyncio.wait_for(stop.wait(), rt.settings.reaper_interval_s)
        except TimeoutError:
            continue


async def reap_once(sessions: async_sessionmaker[AsyncSession], rt: Runtime) -> int:
    """Handle every task whose lease or start-ack window is over; return how many."""
    async with sessions() as session:
        now = rt.clock.now()
        ack_before = now - timedelta(seconds=rt.settings.start_ack_s)
        ids = set(await tasks.expired(session, now=now))
        ids |= set(await tasks.unacknowledged(session, before=ack_before))
        ids |= set(await tasks.overdue(session, now=now, grace_s=TIMEOUT_GRACE_S))
    for task_id in sorted(ids):
        async with sessions() as session, session.begin():
            await leases.expire_by_id(session, task_id, rt, rt.clock.now())
    return len(ids)
