"""Vacuum of the queue tables on PostgreSQL: ``jobs`` and ``tasks`` churn on every round trip.

A task round trip updates its job row twice and its task row three times, and the updates
are rarely HOT (``state`` and ``runnable_at`` are indexed). At a thousand round trips a second
the 200-row ``jobs`` table of a busy replica gathers over 100,000 dead row versions a minute:
autovacuum's default schedule (a check a minute per database) is far too slow for that, and a
server with autovacuum off never cleans up. Claims and settles then walk dead index entries,
and the planner keeps the plans it made when the tables were nearly empty (sequential scans:
no ``ANALYZE`` tells it the tables grew), so PostgreSQL's CPU per round trip triples.

So every ``vacuum_interval_s`` (10 s), once ``vacuum_min_transitions`` job transitions (1,000)
happened in this replica since its last run, one replica (a session advisory lock, tried, not
waited for) runs ``VACUUM (ANALYZE)`` on both tables on an autocommit connection. An idle
system does nothing; SQLite needs none of it (no dead versions left behind in indexes it
scans, no plan cache).
"""

from __future__ import annotations

import asyncio
import logging
import time
import zlib

from contractor.foreman.runtime import Runtime
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger(__name__)
LOCK_KEY = zlib.crc32(b"foreman_vacuum")
TABLES = ("jobs", "tasks")


async def run(engine: AsyncEngine, rt: Runtime, stop: asyncio.Event) -> None:
    """Vacuum when due until ``stop`` is set (started on PostgreSQL only)."""
    seen = rt.transitions
    while not stop.is_set():
        try:
            await asyncio.wait_for(stop.wait(), rt.settings.vacuum_interval_s)
            return
        except TimeoutError:
            pass
        if rt.transitions - seen < rt.settings.vacuum_min_transitions:
            continue
        seen = rt.transitions
        try:
            await vacuum_once(engine)
        except Exception:
            logger.exception("vacuum of the queue tables failed")


async def vacuum_once(engine: AsyncEngine) -> bool:
    """``VACUUM (ANALYZE)`` the queue tables unless another replica is at it; whether it ran."""
    async with engine.connect() as connection:
        connection = await connection.execution_options(isolation_level="AUTOCOMMIT")
        locked = await connection.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY})
        if not locked:
            return False
        try:
            started = time.perf_counter()
            for table in TABLES:
                await connection.execute(text(f"VACUUM (ANALYZE) {table}"))
            logger.debug("vacuumed %s in %.3f s", ", ".join(TABLES), time.perf_counter() - started)
        finally:
            await connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
    return True
