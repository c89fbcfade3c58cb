"""Pooled PostgreSQL connections: checked on checkout unless given back a moment ago (db.py)."""

from __future__ import annotations

import asyncpg
import pytest
from contractor.servicekit import db
from sqlalchemy import exc, text


async def _backend_pid(engine: db.AsyncEngine) -> int:
    async with engine.connect() as connection:
        pid: int = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    return pid


async def test_connection_killed_under_the_pool_is_replaced_without_an_error(
    kit_pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given back longer ago than the bypass window (here: any time ago), it is checked first.
    monkeypatch.setattr(db, "ALIVE_BYPASS_S", 0.0)
    engine = db.create_engine(kit_pg_url)
    admin = await asyncpg.connect(kit_pg_url.replace("+asyncpg", ""))
    try:
        first = await _backend_pid(engine)
        assert await _backend_pid(engine) == first  # kept in the pool and reused
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
        second = await _backend_pid(engine)  # the check found it dead: a new connection
        assert second != first
    finally:
        await admin.close()
        await engine.dispose()


async def test_connection_given_back_a_moment_ago_is_not_checked(
    kit_pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Within the window the connection is handed out unchecked: a backend killed in between
    # fails the statement itself, which invalidates the pool, and the next checkout is fresh.
    monkeypatch.setattr(db, "ALIVE_BYPASS_S", 3600.0)
    engine = db.create_engine(kit_pg_url)
    admin = await asyncpg.connect(kit_pg_url.replace("+asyncpg", ""))
    try:
        first = await _backend_pid(engine)
        assert await _backend_pid(engine) == first
        assert await admin.fetchval("SELECT pg_terminate_backend($1)", first)
        with pytest.raises(exc.DBAPIError):
            await _backend_pid(engine)
        second = await _backend_pid(engine)
        assert second != first
    finally:
        await admin.close()
        await engine.dispose()
