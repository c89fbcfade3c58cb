"""The whole system as separate processes on PostgreSQL: inventory, foreman and a sim agent."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from contractor.local.processes import Service, free_port
from e2ekit import EXECUTIONS_FILE, Cluster, PrivatePostgres

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


def _databases(tag: str) -> Iterator[dict[str, str]]:
    """Two throwaway databases (inventory, foreman), dropped at the end."""
    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT}")
        pytest.skip("PostgreSQL is not reachable")
    suffix = secrets.token_hex(4)
    names = {"inventory": f"ctr_{tag}_inv_{suffix}", "foreman": f"ctr_{tag}_fm_{suffix}"}
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


@pytest.fixture(scope="session")
def pg_databases() -> Iterator[dict[str, str]]:
    """Two throwaway databases (inventory, foreman), dropped at the end."""
    yield from _databases("e2e")


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
    yield from _cluster(pg_databases, tmp_path_factory.mktemp("e2e"), {}, {})


#: Fault tests: leases of 20 s (not 60), heartbeats every 5 s, quick reaper and retries.
FAULT_FOREMAN_ENV = {
    "FOREMAN_LEASE_S": "20",
    "FOREMAN_HEARTBEAT_S": "5",
    "FOREMAN_START_ACK_S": "5",
    "FOREMAN_REAPER_INTERVAL_S": "0.5",
    "FOREMAN_SWEEP_S": "1",
    "FOREMAN_RETRY_CAP_S": "1",
}


@pytest.fixture(scope="session")
def fault_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """A separate cluster for tests that kill processes; short leases, real sim delays."""
    databases = _databases("fault")
    try:
        urls = next(databases)
        yield from _cluster(
            urls, tmp_path_factory.mktemp("fault"), FAULT_FOREMAN_ENV, {"delay_scale": "1"}
        )
    finally:
        databases.close()


PG_BIN = Path("/usr/lib/postgresql")


def _pg_bin() -> Path | None:
    found = sorted(PG_BIN.glob("*/bin/initdb"))
    return found[-1].parent if found else None


@pytest.fixture(scope="session")
def private_pg() -> Iterator[PrivatePostgres]:
    """A PostgreSQL server of our own (initdb on a free port), stopped by PID at the end."""
    bindir = _pg_bin()
    if bindir is None:
        if os.environ.get("CI"):
            pytest.fail("initdb/pg_ctl are not installed (PostgreSQL server binaries)")
        pytest.skip("initdb/pg_ctl are not installed")
    # Its own directory under /tmp: pytest's base directory is closed to the postgres user.
    root = Path(tempfile.mkdtemp(prefix="ctr-e2e-pg-"))
    server = PrivatePostgres(bindir, root / "data", free_port())
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_restart_cluster(
    private_pg: PrivatePostgres, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Cluster]:
    """A cluster on the private PostgreSQL server, which tests may restart."""
    urls: dict[str, str] = {}
    for key in ("inventory", "foreman"):
        name = f"ctr_pgr_{key}"
        asyncio.run(private_pg.admin(f'CREATE DATABASE "{name}"'))
        urls[key] = f"postgresql+asyncpg://postgres@127.0.0.1:{private_pg.port}/{name}"
    yield from _cluster(
        urls, tmp_path_factory.mktemp("pgr"), FAULT_FOREMAN_ENV, {"delay_scale": "1"}
    )


def _cluster(
    pg_databases: dict[str, str],
    var: Path,
    foreman_extra: dict[str, str],
    sim_extra: dict[str, str],
) -> Iterator[Cluster]:
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
        **foreman_extra,
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
    sim = {"concurrency": "64", "power_delay_s": "0", "boot_delay_s": "0", "delay_scale": "0"}
    sim["executions_file"] = f'"{EXECUTIONS_FILE}"'  # the sim's ledger, next to the config
    sim.update(sim_extra)
    for key in [k for k, v in sim_extra.items() if v == ""]:  # "" leaves the key out
        del sim[key]
    config.write_text(
        f'[foreman]\nurl = "{foreman_url}"\ntoken = "env:E2E_AGENT_TOKEN"\n\n'
        '[agent]\nname = "e2e-sim"\nsites = ["e2e", "e2e-rack"]\nstate_dir = "agent"\n'
        "poll_wait_s = 10\nshutdown_grace_s = 5\n\n"
        "[plugins.sim]\n" + "".join(f"{k} = {v}\n" for k, v in sim.items())
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
