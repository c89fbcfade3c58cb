from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from contractor.inventory.main import create_app
from contractor.inventory.migrate import DatabaseNotMigrated
from contractor.inventory.settings import Settings
from contractor.servicekit.settings import DefaultSecretError
from fastapi import FastAPI
from pydantic import SecretStr, ValidationError


async def test_refuses_unmigrated_database(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"
    app = create_app(Settings(database_url=url, secret_keys=SecretStr("x" * 43 + "=")))
    with pytest.raises(DatabaseNotMigrated, match=r"python -m contractor\.inventory migrate"):
        async with app.router.lifespan_context(app):
            pass


def test_settings_refuse_missing_secret_keys_outside_dev_mode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("INVENTORY_SECRET_KEYS", raising=False)
    monkeypatch.delenv("INVENTORY_DEV_MODE", raising=False)
    with pytest.raises(ValidationError, match="INVENTORY_SECRET_KEYS"):
        Settings()
    assert Settings(dev_mode=True).dev_mode is True
    assert issubclass(DefaultSecretError, ValueError)


def test_settings_read_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INVENTORY_DATABASE_URL", "sqlite+aiosqlite:///x.db")
    monkeypatch.setenv("INVENTORY_DEV_MODE", "true")
    assert Settings().database_url == "sqlite+aiosqlite:///x.db"


async def test_unknown_route_and_method_are_problems(
    client: httpx.AsyncClient, as_role: object
) -> None:
    r = await client.get("/api/v1/nothing-here")
    assert r.status_code == 404 and r.headers["content-type"] == "application/problem+json"
    r = await client.put("/healthz")
    assert r.status_code == 405 and r.json()["status"] == 405


async def test_openapi_lists_the_routes(app: FastAPI, client: httpx.AsyncClient) -> None:
    paths = (await client.get("/openapi.json")).json()["paths"]
    for path in (
        "/api/v1/sites",
        "/api/v1/foundations/{locator}/state",
        "/api/v1/events",
        "/api/v1/blueprints/structure/{name}",
        "/api/v1/tokens/introspect",
    ):
        assert path in paths, path


def test_cli_migrate_and_create_token(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "INVENTORY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}",
        "INVENTORY_DEV_MODE": "true",
        "INVENTORY_VAR_DIR": str(tmp_path / "var"),
    }
    run = [sys.executable, "-m", "contractor.inventory"]
    done = subprocess.run([*run, "migrate"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    done = subprocess.run(
        [*run, "create-token", "--role", "admin"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ctr_1_")


async def test_body_limits(client: httpx.AsyncClient, as_role: Any) -> None:
    admin = as_role("admin")
    big = {"name": "dc1", "description": "d", "config_values": {"blob": "x" * (1024 * 1024)}}
    r = await client.post("/api/v1/sites", json=big, headers=admin)
    assert r.status_code == 413 and r.json()["type"].endswith("payload-too-large")
    r = await client.post(
        "/api/v1/sites",
        content=b"name=dc1",
        headers={**admin, "content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 415


async def test_migrations_go_down_and_up_on_both_databases(tmp_path: Path) -> None:
    from contractor.inventory import migrate
    from contractor.servicekit import testing
    from contractor.servicekit.db import create_engine

    urls = [f"sqlite+aiosqlite:///{tmp_path / 'roundtrip.sqlite3'}"]
    admin = testing.admin_url()
    async with contextlib.AsyncExitStack() as stack:
        if await testing.postgres_available(admin):
            urls.append(
                await stack.enter_async_context(testing.throwaway_database(admin, "inventory_mig"))
            )
        elif testing.postgres_required():
            pytest.fail("PostgreSQL is not reachable")
        for url in urls:
            await migrate.upgrade(url)
            await migrate.upgrade(url, "base")
            await migrate.upgrade(url)
            engine = create_engine(url)
            try:
                await migrate.ensure_current(engine)
            finally:
                await engine.dispose()


async def test_rotate_secrets_re_encrypts_with_the_first_key(
    app: Any, client: httpx.AsyncClient, as_role: Any, world: Any, seed: Any
) -> None:
    from contractor.inventory import orm, rotation
    from contractor.inventory.encryption import SecretBox
    from cryptography.fernet import Fernet

    attrs = {"ipmi_ip_address": "10.0.0.5", "ipmi_username": "u", "ipmi_password": "pw"}
    await seed.foundation(as_role("operator"), "bmc1", type="ipmi", attributes=attrs)
    new_key = Fernet.generate_key()
    old_box: SecretBox = app.state.box
    async with app.state.sessions() as session, session.begin():
        both = SecretBox([new_key, app.state.settings.secret_keys.get_secret_value().encode()])
        assert await rotation.rotate_all(session, both) == 1
    async with app.state.sessions() as session:
        row = await session.get(orm.Foundation, "bmc1")
        assert row is not None and row.sealed_secrets is not None
        assert SecretBox([new_key]).open(row.sealed_secrets) == {"ipmi_password": "pw"}
        assert old_box is not None
