"""The outbox survives a crash (§10): SIGKILL the real server in the middle of a burst of writes.

The service runs as ``python -m contractor.inventory serve`` in a subprocess. Several writers
create sites and foundations and update the sites, each writer only moving on once its previous
write was acknowledged, while two feed readers follow ``GET /events`` with long polls. Once
enough writes are acknowledged the server is killed (SIGKILL, by PID) with requests in flight,
then started again. The feed, read from the beginning, must then hold exactly one event per
committed change, in commit order, without duplicates; every acknowledged write must be there;
nothing that is not in the database may be; and what the readers saw before the crash must be
a prefix of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from contractor.servicekit import testing
from cryptography.fernet import Fernet

WRITERS = 12
ACKS_BEFORE_KILL = 90
READY_ATTEMPTS = 600  # x 0.05 s


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _cli(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "contractor.inventory", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


class Server:
    """One ``serve`` process on a free loopback port, stopped by its PID."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = _free_port()
        self.log = log
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "contractor.inventory",
                    "serve",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                ],
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def ready(self) -> None:
        async with httpx.AsyncClient(base_url=self.url, timeout=2) as c:
            for _ in range(READY_ATTEMPTS):
                assert self.process.poll() is None, self.log.read_text()
                with contextlib.suppress(httpx.TransportError):
                    if (await c.get("/readyz")).status_code == 200:
                        return
                await asyncio.sleep(0.05)
        pytest.fail(f"the server did not become ready:\n{self.log.read_text()}")

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)


@dataclass
class Write:
    """One request of the burst and what became of it."""

    method: str
    path: str
    body: dict[str, Any]
    event: tuple[str, str]  # (type, subject key) the change must produce
    status: int | None = None  # None: no answer (the server died first)


@dataclass
class Burst:
    writes: list[Write] = field(default_factory=list)
    acked: int = 0
    enough: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, c: httpx.AsyncClient, write: Write, headers: dict[str, str]) -> bool:
        self.writes.append(write)
        try:
            r = await c.request(write.method, write.path, json=write.body, headers=headers)
        except httpx.TransportError:
            return False
        write.status = r.status_code
        assert r.status_code in (200, 201), r.text
        self.acked += 1
        if self.acked >= ACKS_BEFORE_KILL:
            self.enough.set()
        return True


async def _writer(burst: Burst, base: str, headers: dict[str, str], w: int) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as c:
        for i in range(1000):
            site, locator = f"s{w}-{i}", f"f{w}-{i}"
            chain = (
                Write(
                    "POST",
                    "/api/v1/sites",
                    {"name": site, "description": "burst"},
                    ("site.created", site),
                ),
                Write(
                    "POST",
                    "/api/v1/foundations",
                    {"locator": locator, "site": site, "blueprint": "fbp", "type": "manual"},
                    ("foundation.created", locator),
                ),
                Write(
                    "PATCH",
                    f"/api/v1/sites/{site}",
                    {"description": f"updated by writer {w}"},
                    ("site.updated", site),
                ),
            )
            for write in chain:
                if not await burst.send(c, write, headers):
                    return


async def _reader(base: str, headers: dict[str, str], seen: list[dict[str, Any]]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as c:
        after = "0"
        for _ in range(10_000):
            try:
                r = await c.get(
                    "/api/v1/events",
                    params={"after": after, "wait": 1, "limit": 50},
                    headers=headers,
                )
            except httpx.TransportError:
                return
            assert r.status_code == 200, r.text
            seen.extend(r.json()["events"])
            after = r.json()["next_cursor"]


async def _all_events(c: httpx.AsyncClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = "0"
    while True:
        r = await c.get("/api/v1/events", params={"after": after, "limit": 1000}, headers=headers)
        assert r.status_code == 200, r.text
        if not r.json()["events"]:
            return found
        found.extend(r.json()["events"])
        after = r.json()["next_cursor"]


async def _all_items(c: httpx.AsyncClient, path: str, headers: dict[str, str]) -> list[Any]:
    items: list[Any] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 1000}
        if cursor:
            params["cursor"] = cursor
        r = await c.get(path, params=params, headers=headers)
        assert r.status_code == 200, r.text
        items.extend(r.json()["items"])
        cursor = r.json()["next_cursor"]
        if not cursor:
            return items


@pytest.fixture(params=["postgresql", "sqlite"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'killed.sqlite3'}"
        return
    admin = testing.admin_url()
    if not await testing.postgres_available(admin):
        if testing.postgres_required():
            pytest.fail(f"PostgreSQL is not reachable at {admin}")
        pytest.skip(f"PostgreSQL is not reachable at {admin}")
    async with testing.throwaway_database(admin, "inventory_kill") as url:
        yield url


async def test_sigkill_mid_burst_keeps_exactly_one_event_per_committed_change(
    database: str, tmp_path: Path
) -> None:
    env = {
        **os.environ,
        "INVENTORY_DATABASE_URL": database,
        "INVENTORY_SECRET_KEYS": Fernet.generate_key().decode(),
        "INVENTORY_FEED_POLL_INTERVAL_S": "0.05",
        "INVENTORY_VAR_DIR": str(tmp_path / "var"),
    }
    env.pop("INVENTORY_DEV_MODE", None)
    _cli(env, "migrate")
    admin = {"Authorization": f"Bearer {_cli(env, 'create-token', '--role', 'admin')}"}
    log = tmp_path / "server.log"
    burst = Burst()
    server = Server(env, log)
    try:
        await server.ready()
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as c:
            for path, body in (
                ("/api/v1/scripts", {"name": "build-it", "description": "d", "body": "x = 1\n"}),
                (
                    "/api/v1/blueprints/foundation",
                    {"name": "fbp", "description": "metal", "foundation_types": ["manual"]},
                ),
            ):
                r = await c.post(path, json=body, headers=admin)
                assert r.status_code == 201, r.text
        seen: list[list[dict[str, Any]]] = [[], []]
        readers = [asyncio.create_task(_reader(server.url, admin, s)) for s in seen]
        writers = [
            asyncio.create_task(_writer(burst, server.url, admin, w)) for w in range(WRITERS)
        ]
        done, _ = await asyncio.wait(
            [asyncio.create_task(burst.enough.wait()), *writers],
            return_when=asyncio.FIRST_COMPLETED,
        )
        for task in done:  # a writer that ended early failed an assertion: show it
            if task in writers:
                task.result()
        server.kill()
        await asyncio.gather(*writers, *readers)
    finally:
        server.stop()

    unanswered = [w for w in burst.writes if w.status is None]
    assert unanswered, "the kill must land with requests in flight"

    server = Server(env, log)
    try:
        await server.ready()
        async with httpx.AsyncClient(base_url=server.url, timeout=60) as c:
            events = await _all_events(c, admin)
            sites = {s["name"]: s for s in await _all_items(c, "/api/v1/sites", admin)}
            foundations = {
                f["locator"]: f for f in await _all_items(c, "/api/v1/foundations", admin)
            }
            # The restarted server carries on after the old head and never reuses a cursor.
            r = await c.post(
                "/api/v1/sites", json={"name": "after-restart", "description": "d"}, headers=admin
            )
            assert r.status_code == 201, r.text
            tail = await c.get(
                "/api/v1/events", params={"after": events[-1]["cursor"]}, headers=admin
            )
            assert [(e["type"], e["subject"]["key"]) for e in tail.json()["events"]] == [
                ("site.created", "after-restart")
            ]
            assert int(tail.json()["events"][0]["cursor"]) > int(events[-1]["cursor"])
    finally:
        server.stop()

    # Commit order, no duplicates.
    cursors = [int(e["cursor"]) for e in events]
    assert cursors == sorted(set(cursors)), "cursors must be strictly increasing"
    assert len({e["id"] for e in events}) == len(events)
    per_subject = Counter((e["type"], e["subject"]["key"]) for e in events)
    duplicates = {k: n for k, n in per_subject.items() if n > 1}
    assert not duplicates, duplicates

    # Every acknowledged write has its event.
    acked = [w for w in burst.writes if w.status is not None]
    assert len(acked) >= ACKS_BEFORE_KILL
    missing = [w.event for w in acked if per_subject[w.event] != 1]
    assert not missing, f"acknowledged writes without their event: {missing}"

    # Exactly the committed changes have events: one per version step of every resource.
    burst_sites = {k: v for k, v in sites.items() if k.startswith("s")}
    for name, site in burst_sites.items():
        assert per_subject[("site.created", name)] == 1, name
        assert per_subject[("site.updated", name)] == site["version"] - 1, site
    for locator, foundation in foundations.items():
        assert per_subject[("foundation.created", locator)] == 1, locator
        assert foundation["version"] == 1, foundation
    for (kind, key), _ in per_subject.items():
        if kind.startswith("site."):
            assert key in burst_sites, f"{kind} {key}: an event for a change that is not there"
            if kind == "site.updated":
                assert burst_sites[key]["version"] == 2
        elif kind.startswith("foundation."):
            assert key in foundations, f"{kind} {key}: an event for a change that is not there"
    assert Counter(e["type"] for e in events) == Counter(
        {
            "token.created": 1,
            "script.created": 1,
            "blueprint.created": 1,
            "site.created": len(burst_sites),
            "site.updated": sum(s["version"] - 1 for s in burst_sites.values()),
            "foundation.created": len(foundations),
        }
    )
    # An unanswered write either committed (and has its one event) or left nothing behind.
    for w in unanswered:
        kind, key = w.event
        present = (key in foundations) if kind.startswith("foundation.") else (key in sites)
        if kind == "site.updated":
            present = present and sites[key]["version"] == 2
        assert per_subject[w.event] == int(present), w

    # Each writer's chain is causal, so its events appear in the order it was acknowledged.
    position = {(e["type"], e["subject"]["key"]): int(e["cursor"]) for e in events}
    for w in range(WRITERS):
        chain = [
            position[write.event]
            for write in burst.writes
            if write.status is not None and write.event[1].split("-")[0][1:] == str(w)
        ]
        assert chain == sorted(chain), f"writer {w}: events out of acknowledgement order"

    # What a reader saw before the crash is a prefix of the feed: no gap was skipped over.
    for reader in seen:
        assert reader, "each reader saw events before the kill"
        assert [e["id"] for e in reader] == [e["id"] for e in events[: len(reader)]]
