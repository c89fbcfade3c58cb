"""Helpers of the end-to-end tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from contractor.local.processes import Service


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
