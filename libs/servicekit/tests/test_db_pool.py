"""Pooled PostgreSQL connections: each checked on checkout, so a killed one is replaced (db.py)."""

from __future__ import annotations

import asyncpg
from contractor.servicekit import db
from sqlalchemy import text


async def _backend_pid(engine: db.AsyncEngine) -> int:
    async with engine.connect() as connection:
        pid: int = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    return pid


async def test_connection_killed_under_the_pool_is_replaced_without_an_error(
    kit_pg_url: str,
) -> None:
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
