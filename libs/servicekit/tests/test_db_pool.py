"""Pooled PostgreSQL connections: checked on checkout only after sitting idle (db.py)."""

from __future__ import annotations

import asyncpg
import pytest
from contractor.servicekit import db
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError


async def _backend_pid(engine: db.AsyncEngine) -> int:
    async with engine.connect() as connection:
        pid: int = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    return pid


async def _kill(url: str, pid: int) -> None:
    admin = await asyncpg.connect(url.replace("+asyncpg", ""))
    try:
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", pid)
    finally:
        await admin.close()


async def test_idle_connection_killed_under_the_pool_is_replaced(
    kit_pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "IDLE_PING_S", 0.0)  # every checkout counts as idle
    engine = db.create_engine(kit_pg_url)
    try:
        first = await _backend_pid(engine)
        await _kill(kit_pg_url, first)
        second = await _backend_pid(engine)  # the ping found it dead: a new connection
        assert second != first
    finally:
        await engine.dispose()


async def test_busy_connection_is_not_pinged(
    kit_pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db, "IDLE_PING_S", 3600.0)  # never idle long enough to be pinged
    engine = db.create_engine(kit_pg_url)
    try:
        first = await _backend_pid(engine)
        await _kill(kit_pg_url, first)
        # Not pinged, so the dead connection is used and its statement fails once ...
        with pytest.raises(DBAPIError):
            await _backend_pid(engine)
        # ... after which the pool has dropped it and the next checkout reconnects.
        assert await _backend_pid(engine) != first
    finally:
        await engine.dispose()
