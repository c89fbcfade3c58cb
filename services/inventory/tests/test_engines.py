"""The engine's liveness check: stale pooled connections are replaced without failing requests,
at one round trip per checkout (PostgreSQL; SQLite has no server to lose)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest
from contractor.inventory import orm
from contractor.servicekit import testing
from contractor.servicekit.db import create_engine
from fastapi import FastAPI
from sqlalchemy import text

Headers = Callable[[str], dict[str, str]]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_requests_survive_the_pool_losing_its_connections(
    app: FastAPI, client: httpx.AsyncClient, as_role: Headers
) -> None:
    admin = as_role("admin")
    body = {"name": "dc1", "description": "data centre"}
    assert (await client.post("/api/v1/sites", json=body, headers=admin)).status_code == 201
    # What a database restart does to pooled connections: their server ends are gone.
    async with app.state.sessions() as session:
        own = await session.scalar(text("SELECT pg_backend_pid()"))
        await session.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> :own"
            ),
            {"own": own},
        )
        await session.rollback()
    for _ in range(3):
        r = await client.get("/api/v1/sites/dc1", headers=admin)
        assert r.status_code == 200, r.text
        r = await client.patch("/api/v1/sites/dc1", json={"description": "changed"}, headers=admin)
        assert r.status_code == 200, r.text


async def test_the_liveness_check_is_one_round_trip(pg_url: str) -> None:
    await testing.wipe_tables(pg_url, orm.Base.metadata)
    engine = create_engine(pg_url)
    statements: list[str] = []
    try:
        async with engine.connect() as connection:  # a fresh connection is not checked
            await connection.execute(text("SELECT 1"))
        # Spy on the driver: what reaches the server on the next checkout, before our query.
        async with engine.connect() as connection:
            raw = await connection.get_raw_connection()
            driver = raw.driver_connection
            assert driver is not None
            driver.add_query_logger(lambda record: statements.append(record.query))
        statements.clear()
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 2"))
            await connection.rollback()
        await asyncio.sleep(0.01)  # asyncpg calls query loggers soon, not at once
        # SQLAlchemy's own check sends "BEGIN;", ";", "ROLLBACK;" first (this logger sees
        # only simple-protocol queries: not "SELECT 2", a prepared statement).
        assert statements == ["SELECT 1", "BEGIN;", "ROLLBACK;"], statements
    finally:
        await engine.dispose()
