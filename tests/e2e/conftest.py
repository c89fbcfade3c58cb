"""The whole system as separate processes on PostgreSQL: inventory, foreman and a sim agent."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator

import asyncpg
import httpx
import pytest
from contractor.local.processes import Service, free_port
from e2ekit import Cluster

PG_HOST = os.environ.get("CONTRACTOR_TEST_PG_HOST", "127.0.0.1")
PG_PORT = int(os.environ.get("CONTRACTOR_TEST_PG_PORT", "5432"))
PG_USER = os.environ.get("CONTRACTOR_TEST_PG_USER", "postgres")


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, database="postgres")
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


def _pg_available() -> bool:
    try:
        asyncio.run(_admin("SELECT 1"))
    except (OSError, asyncpg.PostgresError):
        return False
    return True


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[dict[str, str]]:
    """Two throwaway databases (inventory, foreman), dropped at the end."""
    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT}")
        pytest.skip("PostgreSQL is not reachable")
    suffix = secrets.token_hex(4)
    names = {"inventory": f"ctr_e2e_inv_{suffix}", "foreman": f"ctr_e2e_fm_{suffix}"}
    for name in names.values():
        asyncio.run(_admin(f'CREATE DATABASE "{name}"'))
    try:
        yield {
            key: f"postgresql+asyncpg://{PG_USER}@{PG_HOST}:{PG_PORT}/{name}"
            for key, name in names.items()
        }
    finally:
        for name in names.values():
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _run(argv: list[str], env: dict[str, str]) -> str:
    done = subprocess.run(
        [sys.executable, *argv],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"{argv}: {done.stdout}\n{done.stderr}"
    return done.stdout.strip()


@pytest.fixture(scope="session")
def cluster(
    pg_databases: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """Migrate, create tokens and sites, start the three processes; stop them by PID."""
    var = tmp_path_factory.mktemp("e2e")
    inv_port, fm_port = free_port(), free_port()
    inventory_url, foreman_url = f"http://127.0.0.1:{inv_port}", f"http://127.0.0.1:{fm_port}"
    inv_env = {
        "INVENTORY_DATABASE_URL": pg_databases["inventory"],
        "INVENTORY_VAR_DIR": str(var),
        "INVENTORY_DEV_MODE": "true",
    }
    _run(["-m", "contractor.inventory", "migrate"], inv_env)
    tokens = {
        role: _run(["-m", "contractor.inventory", "create-token", "--role", role], inv_env)
        for role in ("admin", "service")
    }
    fm_env = {
        "FOREMAN_DATABASE_URL": pg_databases["foreman"],
        "FOREMAN_VAR_DIR": str(var),
        "FOREMAN_DEV_MODE": "true",
        "FOREMAN_INVENTORY_URL": inventory_url,
        "FOREMAN_SERVICE_TOKEN": tokens["service"],
    }
    _run(["-m", "contractor.foreman", "migrate"], fm_env)
    logs = var / "logs"
    inventory = Service(
        "inventory", ["-m", "contractor.inventory", "serve", "--port", str(inv_port)], inv_env,
        logs / "inventory.log",
    )  # fmt: skip
    inventory.start()
    inventory.wait_http(f"{inventory_url}/healthz")
    admin = httpx.Client(
        base_url=f"{inventory_url}/api/v1", headers={"Authorization": f"Bearer {tokens['admin']}"}
    )
    for body in (
        {"name": "e2e", "description": "End-to-end site"},
        {"name": "e2e-rack", "description": "A rack", "parent": "e2e"},
    ):
        assert admin.post("/sites", json=body).status_code == 201
    issued = admin.post(
        "/tokens", json={"name": "e2e-agent", "role": "agent", "sites": ["e2e", "e2e-rack"]}
    )
    assert issued.status_code == 201, issued.text
    tokens["agent"] = issued.json()["token"]
    foreman = Service(
        "foreman", ["-m", "contractor.foreman", "serve", "--port", str(fm_port)], fm_env,
        logs / "foreman.log",
    )  # fmt: skip
    foreman.start()
    foreman.wait_http(f"{foreman_url}/healthz")
    config = var / "agent.toml"
    config.write_text(
        f'[foreman]\nurl = "{foreman_url}"\ntoken = "env:E2E_AGENT_TOKEN"\n\n'
        '[agent]\nname = "e2e-sim"\nsites = ["e2e", "e2e-rack"]\nstate_dir = "agent"\n'
        "poll_wait_s = 10\nshutdown_grace_s = 5\n\n"
        "[plugins.sim]\nconcurrency = 64\npower_delay_s = 0\nboot_delay_s = 0\ndelay_scale = 0\n"
    )
    agent_env = {"E2E_AGENT_TOKEN": tokens["agent"]}
    agent = Service(
        "agent", ["-m", "subcontractor", "run", "--config", str(config)], agent_env,
        logs / "agent.log", cwd=var,
    )  # fmt: skip
    agent.start()
    running = Cluster(
        var, inventory, foreman, agent, inventory_url, foreman_url, tokens, config, agent_env
    )
    try:
        yield running
    finally:
        for service in (running.agent, running.foreman, running.inventory):
            service.stop()
        (var / "tokens.json").write_text(json.dumps({k: "***" for k in tokens}))
