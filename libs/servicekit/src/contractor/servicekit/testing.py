"""Test harness for services: throwaway PostgreSQL databases and table wiping.

Shipped with the kit so every service's tests make databases the same way. Nothing here runs
unless a test calls it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from contractor.servicekit.db import create_engine, is_sqlite
from sqlalchemy import MetaData, make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

DEFAULT_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"


def admin_url() -> str:
    """The maintenance database URL tests create databases through."""
    return os.environ.get("CONTRACTOR_TEST_POSTGRES_URL", DEFAULT_ADMIN_URL)


def postgres_required() -> bool:
    """In CI a missing PostgreSQL is a failure, never a skip."""
    return os.environ.get("CI", "").lower() == "true"


async def postgres_available(url: str) -> bool:
    """Tell whether the server behind ``url`` answers."""
    engine = create_async_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        return True
    except (OSError, DBAPIError):
        return False
    finally:
        await engine.dispose()


@asynccontextmanager
async def throwaway_database(url: str, prefix: str) -> AsyncIterator[str]:
    """Create a database with a random suffix, yield its URL, drop it afterwards."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as connection:
            await connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(url).set(database=name).render_as_string(hide_password=False)
        finally:
            async with engine.connect() as connection:
                await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await engine.dispose()


async def wipe_tables(url: str, metadata: MetaData) -> None:
    """Empty every table of ``metadata`` (children first), keeping the schema."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            if is_sqlite(url):
                for table in reversed(metadata.sorted_tables):
                    await connection.execute(table.delete())
            else:
                names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
                await connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()
