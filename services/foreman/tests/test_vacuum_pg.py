"""The queue tables are vacuumed and analyzed on PostgreSQL once jobs churned (loops/vacuum.py)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import asyncpg
import pytest
from contractor.foreman import orm
from contractor.foreman.clock import SystemClock
from contractor.foreman.loops import vacuum
from contractor.foreman.runtime import Runtime
from contractor.servicekit import testing
from contractor.servicekit.db import AsyncEngine, create_engine
from foreman_testkit import make_settings
from sqlalchemy import text

COUNTS = ("vacuum_count", "analyze_count")


@pytest.fixture
async def pg_engine(pg_url: str) -> AsyncIterator[AsyncEngine]:
    await testing.wipe_tables(pg_url, orm.Base.metadata)
    engine = create_engine(pg_url)
    yield engine
    await engine.dispose()


async def _churn(engine: AsyncEngine) -> None:
    """A job row updated many times: dead row versions in ``jobs``."""
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO jobs (id, target_kind, target_key, script_name, kind, state, "
                "wait_for_prerequisites, created_by, created_at, updated_at, "
                "evaluations_since_wait, internal_failures, row_version, log_seq) "
                "VALUES (1, 'foundation', 'f1', 'create', 'create', 'running', false, 't', "
                "now(), now(), 0, 0, 1, 0)"
            )
        )
    for n in range(50):
        async with engine.begin() as connection:
            await connection.execute(
                text("UPDATE jobs SET row_version = :n, runnable_at = now() WHERE id = 1"),
                {"n": n + 2},
            )


async def _vacuum_counts(url: str) -> dict[str, int]:
    connection = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        rows = await connection.fetch(
            "SELECT relname, vacuum_count, analyze_count FROM pg_stat_user_tables "
            "WHERE relname = ANY($1::text[])",
            list(vacuum.TABLES),
        )
    finally:
        await connection.close()
    return {
        f"{r['relname']}.{k}": int(r[k]) for r in rows for k in ("vacuum_count", "analyze_count")
    }


async def test_vacuum_once_vacuums_and_analyzes_both_tables(
    pg_engine: AsyncEngine, pg_url: str
) -> None:
    await _churn(pg_engine)
    before = await _vacuum_counts(pg_url)
    assert await vacuum.vacuum_once(pg_engine)
    after = await _vacuum_counts(pg_url)
    assert set(after) == {
        f"{t}.{k}" for t in vacuum.TABLES for k in ("vacuum_count", "analyze_count")
    }
    assert all(after[key] == before.get(key, 0) + 1 for key in after), (before, after)


async def test_another_replica_vacuuming_is_not_waited_for(
    pg_engine: AsyncEngine, pg_url: str
) -> None:
    other = await asyncpg.connect(pg_url.replace("+asyncpg", ""))
    try:
        assert await other.fetchval("SELECT pg_try_advisory_lock($1)", vacuum.LOCK_KEY)
        before = await _vacuum_counts(pg_url)
        assert not await vacuum.vacuum_once(pg_engine)
        assert await _vacuum_counts(pg_url) == before
    finally:
        await other.close()


async def test_the_loop_runs_only_after_enough_transitions(
    pg_engine: AsyncEngine, pg_url: str
) -> None:
    rt = Runtime(
        make_settings(
            pg_url, "http://127.0.0.1:9", vacuum_interval_s=0.05, vacuum_min_transitions=10
        ),
        SystemClock(),
    )
    stop = asyncio.Event()
    loop = asyncio.create_task(vacuum.run(pg_engine, rt, stop))
    try:
        before = await _vacuum_counts(pg_url)
        for _ in range(9):
            rt.count("waiting_task", "running")
        await asyncio.sleep(0.3)
        assert await _vacuum_counts(pg_url) == before  # 9 < 10: not due
        rt.count("running", "waiting_task")
        for _ in range(100):
            await asyncio.sleep(0.05)
            if (await _vacuum_counts(pg_url)) != before:
                break
        after = await _vacuum_counts(pg_url)
        assert after["jobs.vacuum_count"] == before.get("jobs.vacuum_count", 0) + 1
        await asyncio.sleep(0.3)
        assert await _vacuum_counts(pg_url) == after  # no new transitions: not again
    finally:
        stop.set()
        await asyncio.wait_for(loop, 5)
