"""Agent status transitions (spec §5.11): ``online`` → ``stale`` → ``offline`` by last_seen.

Every ``agent_status_interval_s`` one replica (a transaction-level advisory lock on
PostgreSQL) compares each agent's status with the stored one and emits
``agent.status_changed`` for every change.
"""

from __future__ import annotations

import asyncio
import logging
import zlib

from contractor.foreman import orm
from contractor.foreman.runtime import Runtime
from contractor.foreman.store import agents, events
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

logger = logging.getLogger(__name__)
LOCK_KEY = zlib.crc32(b"foreman_agent_status")


async def run(sessions: async_sessionmaker[AsyncSession], rt: Runtime, stop: asyncio.Event) -> None:
    """Refresh statuses until ``stop`` is set."""
    while not stop.is_set():
        try:
            await refresh_all(sessions, rt)
        except Exception:
            logger.exception("agent status sweep failed")
        try:
            await asyncio.wait_for(stop.wait(), rt.settings.agent_status_interval_s)
        except TimeoutError:
            continue


async def refresh_all(sessions: async_sessionmaker[AsyncSession], rt: Runtime) -> int:
    """One sweep; return how many agents changed status."""
    async with sessions() as session, session.begin():
        if session.get_bind().dialect.name == "postgresql":
            got = await session.scalar(
                text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": LOCK_KEY}
            )
            if not got:
                return 0  # another replica sweeps now
        changed = 0
        for agent in await agents.page(session, after=None, limit=100_000):
            changed += await refresh(session, rt, agent, actor="system:agents")
    return changed


async def refresh(session: AsyncSession, rt: Runtime, agent: orm.Agent, *, actor: str) -> int:
    """Store the agent's current status; emit an event when it changed (1) or not (0)."""
    s = rt.settings
    now = rt.clock.now()
    status = agents.status(agent, now, online_s=s.agent_online_s, stale_s=s.agent_stale_s)
    if status == agent.status:
        return 0
    before, agent.status = agent.status, status
    data = {"id": agent.id, "name": agent.name, "from": before, "status": status}
    await events.append(
        session, "agent.status_changed", subject=("agent", agent.id), data=data, actor=actor
    )
    return 1
