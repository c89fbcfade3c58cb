"""Helpers of the end-to-end tests."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from contractor.local.processes import Service
from subcontractor.plugins.sim.ledger import read_ledger


def wait_for(predicate: Any, timeout_s: float = 60.0, what: str = "condition") -> Any:
    """Poll ``predicate`` until it returns something truthy."""
    import time

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Cluster:
    """The running system and clients for it."""

    var: Path
    inventory: Service
    foreman: Service
    agent: Service
    inventory_url: str
    foreman_url: str
    tokens: dict[str, str]
    agent_config: Path
    agent_env: dict[str, str] = field(default_factory=dict)

    def client(self, service: str) -> httpx.Client:
        """An admin client for ``inventory`` or ``foreman``."""
        base = self.inventory_url if service == "inventory" else self.foreman_url
        return httpx.Client(
            base_url=f"{base}/api/v1",
            headers={"Authorization": f"Bearer {self.tokens['admin']}"},
            timeout=30,
        )

    def restart(self, name: str, kill: bool = False) -> None:
        """Stop (or SIGKILL) one process and start it again."""
        service: Service = getattr(self, name)
        if kill:
            service.kill()
        else:
            service.stop()
        fresh = Service(name, service.argv[1:], service.env, service.log_path, service.cwd)
        fresh.argv = service.argv
        fresh.start()
        setattr(self, name, fresh)
        if name != "agent":
            fresh.wait_http(
                f"{self.inventory_url if name == 'inventory' else self.foreman_url}/healthz"
            )

    def replace_agent(self, config: Path, kill: bool = True) -> None:
        """SIGKILL (or stop) the agent and start a new one with ``config`` (same name and token)."""
        old = self.agent
        if kill:
            old.kill()
        else:
            old.stop()
        argv = ["-m", "subcontractor", "run", "--config", str(config)]
        fresh = Service("agent", argv, self.agent_env, old.log_path, old.cwd)
        fresh.start()
        self.agent = fresh

    def agent_config_with(self, name: str, **sim: str) -> Path:
        """A copy of the agent's config with some ``[plugins.sim]`` keys changed."""
        lines = self.agent_config.read_text().splitlines()
        out = [line for line in lines if line.partition(" = ")[0] not in sim]
        out += [f"{key} = {value}" for key, value in sim.items()]
        path = self.agent_config.with_name(name)
        path.write_text("\n".join(out) + "\n")
        return path


TERMINAL = ("done", "aborted", "canceled")
EXECUTIONS_FILE = "sim-executions.jsonl"
"""The sim plugin's ledger (``[plugins.sim] executions_file``), next to the agent's config."""


def sim_executions(cluster: Cluster) -> list[dict[str, Any]]:
    """Every execution the cluster's sim agents recorded (across agent restarts), in order."""
    return read_ledger(cluster.agent_config.parent / EXECUTIONS_FILE)


def import_bundle(cluster: Cluster, bundle: str) -> None:
    """Import a TOML blueprint bundle into inventory."""
    answer = cluster.client("inventory").post(
        "/blueprints/import", content=bundle.encode(), headers={"Content-Type": "application/toml"}
    )
    assert answer.status_code == 200, answer.text


def add_foundation(cluster: Cluster, locator: str, blueprint: str, client: Any = None) -> None:
    """Create a sim foundation in the rack site."""
    inventory = client or cluster.client("inventory")
    created = inventory.post(
        "/foundations",
        json={"locator": locator, "site": "e2e-rack", "blueprint": blueprint, "type": "sim"},
    )
    assert created.status_code == 201, created.text


def start_job(cluster: Cluster, locator: str, script: str, client: Any = None) -> int:
    """Create a job on a foundation; its id."""
    foreman = client or cluster.client("foreman")
    job = foreman.post(f"/foundations/{locator}/jobs", json={"script": script})
    assert job.status_code == 201, job.text
    return int(job.json()["id"])


def job(cluster: Cluster, job_id: int) -> dict[str, Any]:
    """The job JSON."""
    answer = cluster.client("foreman").get(f"/jobs/{job_id}")
    assert answer.status_code == 200, answer.text
    value: dict[str, Any] = answer.json()
    return value


def wait_state(
    cluster: Cluster, job_id: int, *states: str, timeout_s: float = 60.0
) -> dict[str, Any]:
    """Wait until the job is in one of ``states``; a terminal state not asked for fails at once."""

    def check() -> dict[str, Any] | None:
        current = job(cluster, job_id)
        if current["state"] in states:
            return current
        if current["state"] in TERMINAL:
            raise AssertionError(f"job {job_id} ended {current['state']}: {current['message']}")
        return None

    found: dict[str, Any] = wait_for(check, timeout_s, f"job {job_id} in {states}")
    return found


def act(cluster: Cluster, job_id: int, action: str) -> dict[str, Any]:
    """Run a job action (pause, resume, reset, cancel …); the job JSON."""
    answer = cluster.client("foreman").post(f"/jobs/{job_id}/{action}")
    assert answer.status_code == 200, answer.text
    value: dict[str, Any] = answer.json()
    return value


def agent_tasks(cluster: Cluster, job_id: int) -> list[dict[str, Any]]:
    """The job's agent tasks (server tasks of module ``_inventory`` left out), oldest first."""
    answer = cluster.client("foreman").get(f"/jobs/{job_id}/tasks")
    assert answer.status_code == 200, answer.text
    return [t for t in answer.json()["items"] if not t["module"].startswith("_")]


def job_log(cluster: Cluster, job_id: int) -> list[dict[str, Any]]:
    """The job's log rows."""
    answer = cluster.client("foreman").get(f"/jobs/{job_id}/log")
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


class ProtocolAgent:
    """A stand-in agent speaking ``/agent/v1`` directly, for states a real agent passes too fast.

    It registers under the real agent's name and token (so the same agent id, a new incarnation),
    takes tasks and acknowledges their start, and then simply stops talking: to foreman that is an
    agent killed after the start acknowledgement, before it reported anything.
    """

    def __init__(self, cluster: Cluster, name: str = "e2e-sim") -> None:
        self.http = httpx.Client(
            base_url=f"{cluster.foreman_url}/agent/v1",
            headers={"Authorization": f"Bearer {cluster.agent_env['E2E_AGENT_TOKEN']}"},
            timeout=45,
        )
        body = {
            "name": name,
            "version": "0.0.0",
            "hostname": "e2e-stand-in",
            "sites": ["e2e", "e2e-rack"],
            "modules": {"sim": {"version": "0.1.0", "concurrency": 8, "functions": ["create"]}},
        }
        answer = self.http.post("/register", json=body)
        assert answer.status_code == 200, answer.text
        self.identity = {k: answer.json()[k] for k in ("agent_id", "incarnation")}

    def take(self, function: str, timeout_s: float = 60.0) -> dict[str, Any]:
        """Poll until a task of ``sim.<function>`` is delivered; that task's offer."""

        def poll() -> dict[str, Any] | None:
            body = {
                **self.identity,
                "sites": ["e2e", "e2e-rack"],
                "modules": {"sim": {"capacity": 8}},
                "running": [],
                "wait_s": 2,
            }
            answer = self.http.post("/poll", json=body)
            assert answer.status_code == 200, answer.text
            found = [t for t in answer.json()["tasks"] if t["function"] == function]
            return found[0] if found else None

        offer: dict[str, Any] = wait_for(poll, timeout_s, f"a sim.{function} task")
        return offer

    def acknowledge_start(self, offer: dict[str, Any]) -> None:
        """The ``started`` heartbeat a real agent sends before invoking the plugin."""
        body = {**self.identity, "attempt": offer["attempt"], "phase": "started"}
        answer = self.http.post(f"/tasks/{offer['id']}/heartbeat", json=body)
        assert answer.status_code == 200, answer.text

    def close(self) -> None:
        """Stop talking (nothing is released or reported)."""
        self.http.close()


class PrivatePostgres:
    """A throwaway PostgreSQL server (never the shared one); started and stopped by PID."""

    def __init__(self, bindir: Path, data: Path, port: int) -> None:
        self.bindir, self.data, self.port = bindir, data, port
        self.user = "postgres" if os.geteuid() == 0 else None  # initdb refuses to run as root
        self.process: subprocess.Popen[bytes] | None = None

    def _own(self, path: Path) -> None:
        if self.user is not None:
            shutil.chown(path, self.user, self.user)

    def init(self) -> None:
        """``initdb`` with trust authentication for the ``postgres`` role."""
        self.data.parent.mkdir(parents=True, exist_ok=True)
        self._own(self.data.parent)
        subprocess.run(
            [str(self.bindir / "initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust"],
            user=self.user,
            check=True,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        """Start the postmaster on 127.0.0.1 only; wait until it answers."""
        log = (self.data.parent / "postgres.log").open("ab")
        self.process = subprocess.Popen(
            [
                str(self.bindir / "postgres"),
                "-D",
                str(self.data),
                "-p",
                str(self.port),
                "-h",
                "127.0.0.1",
                "-k",
                str(self.data.parent),
                "-c",
                "fsync=off",
            ],
            user=self.user,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        wait_for(self._answers, 60, "private PostgreSQL to accept connections")

    def _answers(self) -> bool:
        assert self.process is not None and self.process.poll() is None, "postgres exited"
        try:
            asyncio.run(self.admin("SELECT 1"))
        except (OSError, asyncpg.PostgresError):
            return False
        return True

    async def admin(self, sql: str) -> None:
        """Run one statement in the ``postgres`` database."""
        conn = await asyncpg.connect(
            host="127.0.0.1", port=self.port, user="postgres", database="postgres"
        )
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    def stop(self) -> None:
        """Fast shutdown (SIGINT to the postmaster's PID); SIGKILL if it lingers."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
