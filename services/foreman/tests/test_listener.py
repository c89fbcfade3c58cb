"""Foreman's LISTEN loop (loops/listener.py): other replicas' NOTIFYs wake this one; its own
echo does not; a lost listening connection is noticed and opened again."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from contractor.foreman.clock import SystemClock
from contractor.foreman.loops import listener
from contractor.foreman.runtime import Runtime
from contractor.servicekit.db import create_engine
from foreman_testkit import eventually, make_settings


async def _woken(rt: Runtime, timeout: float) -> bool:
    """Whether the jobs signal fires (or fired, kept) within ``timeout`` seconds."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    await rt.jobs.wait(timeout)
    return loop.time() - started < timeout * 0.9


async def test_listener_survives_a_killed_connection(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listener, "CHECK_S", 0.2)
    engine = create_engine(pg_url)
    rt = Runtime(settings=make_settings(pg_url, "http://127.0.0.1:9"), clock=SystemClock())
    stop = asyncio.Event()
    admin = await asyncpg.connect(pg_url.replace("+asyncpg", ""))
    others = {
        r["pid"]
        for r in await admin.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        )
    }  # connections of anything else: never the listener's
    loop_task = asyncio.create_task(listener.run(engine, rt, stop))

    async def listening_pids() -> list[int]:
        rows = await admin.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid() AND (query LIKE 'LISTEN%' OR query = 'SELECT 1')"
        )
        return [r["pid"] for r in rows if r["pid"] not in others]

    try:
        [first] = await eventually(listening_pids)
        assert await _woken(rt, 1.0)  # listening (again) wakes everyone once
        await admin.execute("SELECT pg_notify('foreman_jobs', $1)", rt.replica)
        assert not await _woken(rt, 0.5)  # our own commit's echo: already woken in-process
        await admin.execute("SELECT pg_notify('foreman_jobs', 'another-replica')")
        assert await _woken(rt, 2.0)

        await admin.execute("SELECT pg_terminate_backend($1)", first)

        async def replaced() -> list[int]:
            return [pid for pid in await listening_pids() if pid != first]

        await eventually(replaced)
        await _woken(rt, 1.0)  # the re-listen wake-up
        await admin.execute("SELECT pg_notify('foreman_jobs', 'another-replica')")
        assert await _woken(rt, 2.0)
    finally:
        stop.set()
        await asyncio.wait_for(loop_task, 5)
        await admin.close()
        await engine.dispose()
