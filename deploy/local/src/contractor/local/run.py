"""``make run``: the whole system on one machine, on embedded SQLite under ``./var/``.

Starts inventory, foreman and a local agent with the ``sim`` plugin, each its own process,
imports the bundled example, builds a few structures while showing their progress, then keeps
running until Ctrl-C, which stops every process. Running it again reuses ``./var/``.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from contractor.local.processes import Service
from contractor.local.seed import SITES, Seeder

log = logging.getLogger("contractor.local")


@dataclass(frozen=True)
class Layout:
    """Where everything lives and listens."""

    var: Path
    inventory_port: int
    foreman_port: int

    @property
    def inventory_url(self) -> str:
        """Base URL of inventory."""
        return f"http://127.0.0.1:{self.inventory_port}"

    @property
    def foreman_url(self) -> str:
        """Base URL of foreman."""
        return f"http://127.0.0.1:{self.foreman_port}"


def _inventory_env(layout: Layout) -> dict[str, str]:
    return {
        "INVENTORY_DATABASE_URL": f"sqlite+aiosqlite:///{layout.var / 'inventory.sqlite3'}",
        "INVENTORY_VAR_DIR": str(layout.var),
        "INVENTORY_DEV_MODE": "true",
        "INVENTORY_CONTRACTOR_HOST": layout.inventory_url,
    }


def _foreman_env(layout: Layout, service_token: str) -> dict[str, str]:
    return {
        "FOREMAN_DATABASE_URL": f"sqlite+aiosqlite:///{layout.var / 'foreman.sqlite3'}",
        "FOREMAN_VAR_DIR": str(layout.var),
        "FOREMAN_DEV_MODE": "true",
        "FOREMAN_INVENTORY_URL": layout.inventory_url,
        "FOREMAN_SERVICE_TOKEN": service_token,
    }


def _run_once(argv: list[str], env: dict[str, str], what: str) -> str:
    import os
    import subprocess

    done = subprocess.run(
        [sys.executable, *argv],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout.strip()


def tokens(layout: Layout) -> dict[str, str]:
    """The admin, service and agent tokens, created once and kept in ``var/tokens.json``."""
    path = layout.var / "tokens.json"
    if path.exists():
        stored: dict[str, str] = json.loads(path.read_text())
        return stored
    env = _inventory_env(layout)
    made = {
        role: _run_once(
            ["-m", "contractor.inventory", "create-token", "--role", role, *extra], env, role
        )
        for role, extra in (("admin", []), ("service", ["--name", "foreman"]))
    }
    path.write_text(json.dumps(made))
    path.chmod(0o600)
    return made


def agent_config(layout: Layout) -> Path:
    """The local agent's configuration: the sim plugin with short delays."""
    path = layout.var / "agent.toml"
    path.write_text(
        f"""[foreman]
url = "{layout.foreman_url}"
token = "env:CONTRACTOR_AGENT_TOKEN"

[agent]
name = "local-sim"
sites = ["demo", "demo-rack1", "demo-rack2"]
state_dir = "subcontractor"
poll_wait_s = 20
shutdown_grace_s = 5

[plugins.sim]
concurrency = 16
power_delay_s = 0.5
boot_delay_s = 1.0

[plugins.iputils]
concurrency = 8
"""
    )
    return path


class System:
    """The three processes, started in order and stopped in reverse."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.services: list[Service] = []

    def migrate(self) -> None:
        """Bring both databases to the current schema."""
        layout = self.layout
        _run_once(
            ["-m", "contractor.inventory", "migrate"], _inventory_env(layout), "inventory migrate"
        )
        _run_once(
            ["-m", "contractor.foreman", "migrate"], _foreman_env(layout, ""), "foreman migrate"
        )

    def start(self, secrets: dict[str, str], prepare: Callable[[], None]) -> None:
        """Start inventory, foreman and the agent; wait for each.

        ``prepare`` runs once inventory answers (it creates the sites and the agent token).
        """
        layout = self.layout
        inventory_env = _inventory_env(layout)
        foreman_env = _foreman_env(layout, secrets["service"])
        logs = layout.var / "logs"
        inventory = Service(
            "inventory",
            ["-m", "contractor.inventory", "serve", "--port", str(layout.inventory_port)],
            inventory_env,
            logs / "inventory.log",
        )
        foreman = Service(
            "foreman",
            ["-m", "contractor.foreman", "serve", "--port", str(layout.foreman_port)],
            foreman_env,
            logs / "foreman.log",
        )
        self._launch(inventory, f"{layout.inventory_url}/healthz")
        prepare()
        self._launch(foreman, f"{layout.foreman_url}/healthz")
        agent = Service(
            "agent",
            ["-m", "subcontractor", "run", "--config", str(agent_config(layout))],
            {"CONTRACTOR_AGENT_TOKEN": secrets["agent"]},
            logs / "agent.log",
            cwd=layout.var,
        )
        self._launch(agent, None)

    def _launch(self, service: Service, health: str | None) -> None:
        service.start()
        self.services.append(service)
        if health is not None:
            service.wait_http(health)
        print(f"  started {service.name} (pid {service.pid})", flush=True)

    def stop(self) -> None:
        """Stop every process, the agent first."""
        for service in reversed(self.services):
            code = service.stop()
            print(f"  stopped {service.name} (exit {code})", flush=True)
        self.services.clear()

    def check(self) -> None:
        """Fail loudly if a process died."""
        for service in self.services:
            if not service.alive():
                raise RuntimeError(f"{service.name} exited:\n{service.log_tail()}")


class _Interrupted(Exception):
    pass


def _on_signal(signum: int, frame: FrameType | None) -> None:
    raise _Interrupted()


def main(var: Path, inventory_port: int, foreman_port: int, structures: int) -> int:
    """Run the system until interrupted; returns the exit code."""
    layout = Layout(var.resolve(), inventory_port, foreman_port)
    layout.var.mkdir(parents=True, exist_ok=True)
    log.warning("one-machine mode: development secrets are kept under %s", layout.var)
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    system = System(layout)
    try:
        print(f"Contractor on one machine — state in {layout.var}", flush=True)
        system.migrate()
        secrets = tokens(layout)
        seeder = Seeder(layout.inventory_url, layout.foreman_url, secrets["admin"])

        def prepare() -> None:
            seeder.create_sites()
            if "agent" not in secrets:
                secrets["agent"] = seeder.agent_token("local-sim", [name for name, _, _ in SITES])
                (layout.var / "tokens.json").write_text(json.dumps(secrets))

        system.start(secrets, prepare)
        seeder.import_example()
        seeder.build(structures, on_tick=system.check)
        print(
            f"""
Contractor is running.
  inventory API docs: {layout.inventory_url}/docs
  foreman API docs:   {layout.foreman_url}/docs
  admin token:        {secrets["admin"]}   (also in {layout.var / "tokens.json"})
  logs:               {layout.var / "logs"}
Press Ctrl-C to stop.""",
            flush=True,
        )
        while True:
            time.sleep(1)
            system.check()
    except _Interrupted:
        print("\nstopping…", flush=True)
        return 0
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        system.stop()
