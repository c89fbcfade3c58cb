from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from contractor.foreman.main import create_app
from contractor.foreman.migrate import DatabaseNotMigrated
from contractor.foreman.settings import Settings
from fastapi import FastAPI
from foreman_fake_inventory import FakeInventory
from foreman_testkit import make_settings
from pydantic import ValidationError


async def test_refuses_to_start_unmigrated(tmp_path: Path, inventory: FakeInventory) -> None:
    app = create_app(
        make_settings(f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}", inventory.url)
    )
    with pytest.raises(DatabaseNotMigrated, match=r"python -m contractor\.foreman migrate"):
        async with app.router.lifespan_context(app):
            pass


def test_default_service_token_refused() -> None:
    with pytest.raises(ValidationError, match="FOREMAN_SERVICE_TOKEN"):
        Settings()


def test_migrate_command(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"
    env = {"FOREMAN_DATABASE_URL": url, "FOREMAN_DEV_MODE": "true", "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-m", "contractor.foreman", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "migrated" in done.stderr


async def test_health(client: httpx.AsyncClient, app: FastAPI) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    assert (await client.get("/readyz")).json() == {"status": "ready"}


async def test_migrations_match_the_models(database_url: str) -> None:
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from contractor.foreman import orm
    from contractor.foreman.migrate import VERSION_TABLE
    from contractor.servicekit.db import create_engine
    from sqlalchemy import Connection

    def diff(connection: Connection) -> list[object]:
        context = MigrationContext.configure(
            connection, opts={"version_table": VERSION_TABLE, "compare_type": True}
        )
        return list(compare_metadata(context, orm.Base.metadata))

    engine = create_engine(database_url)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(diff) == []
    finally:
        await engine.dispose()


async def test_sqlite_allows_one_process(sqlite_url: str, inventory: FakeInventory) -> None:
    from contractor.foreman.single import AlreadyRunning

    first = create_app(make_settings(sqlite_url, inventory.url, run_loops=False))
    second = create_app(make_settings(sqlite_url, inventory.url, run_loops=False))
    async with first.router.lifespan_context(first):
        with pytest.raises(AlreadyRunning):
            async with second.router.lifespan_context(second):
                pass
    async with second.router.lifespan_context(second):
        pass
