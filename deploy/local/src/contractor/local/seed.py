"""The example data of ``make run``: a site tree, sim foundations and web servers, and jobs."""

from __future__ import annotations

import time
from collections.abc import Callable
from importlib import resources
from typing import Any

import httpx

SITES = (
    ("demo", None, "The one-machine demo"),
    ("demo-rack1", "demo", "Rack 1"),
    ("demo-rack2", "demo", "Rack 2"),
)


class Seeder:
    """Talks to inventory and foreman with the admin token; every step is idempotent."""

    def __init__(self, inventory_url: str, foreman_url: str, token: str) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        self.inventory = httpx.Client(
            base_url=f"{inventory_url}/api/v1", headers=headers, timeout=30
        )
        self.foreman = httpx.Client(base_url=f"{foreman_url}/api/v1", headers=headers, timeout=30)

    def _ensure(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        found = self.inventory.get(path)
        if found.status_code == 200:
            existing: dict[str, Any] = found.json()
            return existing
        collection = path.rsplit("/", 1)[0]
        created = self.inventory.post(collection, json=body)
        _ok(created, f"create {path}")
        result: dict[str, Any] = created.json()
        return result

    def create_sites(self) -> None:
        """The site tree (skipping sites that exist)."""
        for name, parent, description in SITES:
            body: dict[str, Any] = {"name": name, "description": description}
            if parent is not None:
                body["parent"] = parent
            self._ensure(f"/sites/{name}", body)

    def agent_token(self, name: str, sites: list[str]) -> str:
        """A new agent token for ``sites``."""
        answer = self.inventory.post(
            "/tokens", json={"name": name, "role": "agent", "sites": sites}
        )
        _ok(answer, "create the agent token")
        token: str = answer.json()["token"]
        return token

    def import_example(self) -> None:
        """The blueprint bundle."""
        bundle = resources.files("contractor.local").joinpath("example/bundle.toml").read_text()
        answer = self.inventory.post(
            "/blueprints/import",
            params={"mode": "both"},
            content=bundle.encode(),
            headers={"Content-Type": "application/toml"},
        )
        _ok(answer, "import the example bundle")
        print("  imported the example: sites demo, demo-rack1, demo-rack2; blueprints", flush=True)

    def build(self, count: int, on_tick: Callable[[], None]) -> None:
        """Create ``count`` sim foundations and web servers and build them, showing progress."""
        for index in range(1, count + 1):
            rack = f"demo-rack{1 + index % 2}"
            locator = f"sim-{index:02d}"
            self._ensure(
                f"/foundations/{locator}",
                {
                    "locator": locator,
                    "site": rack,
                    "blueprint": "sim-server",
                    "type": "sim",
                    "attributes": {"sim_power_delay_s": 0.5, "sim_boot_delay_s": 1.0},
                },
            )
        self._run_jobs("foundations", [f"sim-{i:02d}" for i in range(1, count + 1)], on_tick)
        ids = []
        for index in range(1, count + 1):
            hostname = f"web{index:02d}"
            listed = self.inventory.get("/structures", params={"hostname": hostname}).json()
            items = listed.get("items", listed) if isinstance(listed, dict) else listed
            if items:
                ids.append(str(items[0]["id"]))
                continue
            created = self.inventory.post(
                "/structures",
                json={
                    "hostname": hostname,
                    "site": f"demo-rack{1 + index % 2}",
                    "blueprint": "web-server",
                    "foundation": f"sim-{index:02d}",
                },
            )
            _ok(created, f"create structure {hostname}")
            ids.append(str(created.json()["id"]))
        self._run_jobs("structures", ids, on_tick)

    def _run_jobs(self, collection: str, keys: list[str], on_tick: Callable[[], None]) -> None:
        jobs: dict[str, int] = {}
        for key in keys:
            target = self.inventory.get(f"/{collection}/{key}").json()
            if target.get("state") == "built":
                print(f"  {collection[:-1]} {key} is already built", flush=True)
                continue
            answer = self.foreman.post(f"/{collection}/{key}/jobs", json={"script": "create"})
            if answer.status_code == 409 and "job_id" in answer.json():
                jobs[key] = answer.json()["job_id"]
                continue
            _ok(answer, f"create job for {collection[:-1]} {key}")
            jobs[key] = answer.json()["id"]
        self._watch(collection, jobs, on_tick)

    def _watch(self, collection: str, jobs: dict[str, int], on_tick: Callable[[], None]) -> None:
        shown: dict[int, str] = {}
        deadline = time.monotonic() + 300
        while jobs and time.monotonic() < deadline:
            on_tick()
            for key, job_id in list(jobs.items()):
                job = self.foreman.get(f"/jobs/{job_id}").json()
                line = _progress_line(collection, key, job)
                if shown.get(job_id) != line:
                    shown[job_id] = line
                    print(line, flush=True)
                if job.get("state") in ("done", "aborted", "canceled", "error", "paused"):
                    del jobs[key]
            time.sleep(0.3)


def _progress_line(collection: str, key: str, job: dict[str, Any]) -> str:
    progress = job.get("progress") or {}
    percent = progress.get("percent") or 0.0
    levels = progress.get("levels") or []
    doing = next((lvl.get("description") for lvl in reversed(levels) if lvl.get("description")), "")
    bar = "#" * int(percent / 5) + "." * (20 - int(percent / 5))
    state = job.get("state", "?")
    return f"  job {job.get('id')} {collection[:-1]} {key}: [{bar}] {percent:5.1f}% {state} {doing}"


def _ok(response: httpx.Response, what: str) -> None:
    if response.status_code >= 400:
        raise RuntimeError(f"{what}: HTTP {response.status_code}: {response.text}")
