"""A small stand-in for inventory, served over real HTTP on 127.0.0.1 for foreman's tests.

It implements only what foreman calls (inventory spec §5.4, §12.3–§12.4, §13.1): token
introspection, reservation (``PUT …/job``), snapshots, completion (``POST …/state``),
release (``DELETE …/job``), write batches (``POST /job-writes``) and calls
(``POST /job-calls``: ``map_ports`` / ``unmap_ports``, a stand-in for inventory's port
allocation, idempotent by ``call_id``). It stands in until the end-to-end tests run the real
inventory, whose app does not serve these routes yet.
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

COLLECTIONS = {"foundations": "foundation", "structures": "structure", "dependencies": "dependency"}
TOKENS: dict[str, dict[str, Any]] = {
    "admin-token": {"id": 1, "name": "root", "role": "admin"},
    "operator-token": {"id": 2, "name": "alice", "role": "operator"},
    "viewer-token": {"id": 3, "name": "vic", "role": "viewer"},
    "agent-token": {"id": 4, "name": "dc1-agents", "role": "agent", "sites": ["dc1"]},
    "agent2-token": {"id": 5, "name": "dc1-more", "role": "agent", "sites": ["dc1"]},
    "service-token": {"id": 6, "name": "foreman", "role": "service"},
}


@dataclass
class Target:
    """One target of the fake."""

    kind: str
    key: str
    state: str = "planned"
    site: str = "dc1"
    ftype: str = "sim"
    scripts: dict[str, str] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)
    blocked_on: list[dict[str, Any]] = field(default_factory=list)
    slot: int | None = None
    refuse_complete: bool = False
    reject_writes: bool = False
    last_job: int | None = None
    values: dict[str, Any] = field(default_factory=dict)
    pxe: dict[int, str | None] = field(default_factory=dict)
    pxe_names: list[str] = field(default_factory=lambda: ["installer", "normal-boot"])

    def snapshot(self) -> dict[str, Any]:
        foundation = {
            "locator": self.key if self.kind == "foundation" else f"f-{self.key}",
            "type": self.ftype.capitalize(),
            "type_name": self.ftype,
            "site": self.site,
            "state": self.state if self.kind == "foundation" else "built",
            "connection": {
                "id": self.key,
                "power_delay_s": 0,
                "boot_delay_s": 0,
                "credentials": {"password": "s3cret"},
            },
            "values": dict(self.values),
            "interface_list": [
                {"id": 77, "name": "eth0", "physical_location": "eth0", "pxe": self.pxe.get(77)}
            ],
        }
        structure = None
        if self.kind == "structure":
            structure = {"id": int(self.key), "hostname": f"host{self.key}", "site": self.site}
        return {
            "revision": "1",
            "target": {"kind": self.kind, "key": self.key, "state": self.state, "site": self.site},
            "foundation": foundation,
            "structure": structure,
            "dependency": None,
            "config": dict(self.config),
            "pxe_names": list(self.pxe_names),
        }


@dataclass
class FakeInventory:
    """The fake's state; tests add targets and read the calls made."""

    targets: dict[tuple[str, str], Target] = field(default_factory=dict)
    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    unavailable: int = 0
    url: str = ""
    feed: list[dict[str, Any]] = field(default_factory=list)
    macs: dict[str, tuple[str, str]] = field(default_factory=dict)
    dhcp_revision: str = "1"
    call_answers: dict[str, Any] = field(default_factory=dict)
    next_port: int = 30000
    refuse_calls: bool = False

    def add(self, kind: str, key: str, **kwargs: Any) -> Target:
        target = Target(kind, key, **kwargs)
        self.targets[(kind, key)] = target
        return target

    def reset(self) -> None:
        self.targets.clear()
        self.calls.clear()
        self.unavailable = 0
        self.feed.clear()
        self.macs.clear()
        self.dhcp_revision = "1"
        self.call_answers.clear()
        self.next_port = 30000
        self.refuse_calls = False

    def emit(self, event_type: str, kind: str, key: str) -> None:
        cursor = str(len(self.feed) + 1)
        subject = {"kind": kind, "key": key}
        self.feed.append({"cursor": cursor, "type": event_type, "subject": subject})


def problem(status: int, slug: str, detail: str, **extra: Any) -> JSONResponse:
    body = {"type": f"urn:contractor:problem:{slug}", "title": slug, "status": status}
    return JSONResponse({**body, "detail": detail, **extra}, status_code=status)


def build_app(fake: FakeInventory) -> FastAPI:
    app = FastAPI()

    def find(collection: str, key: str) -> Target | None:
        return fake.targets.get((COLLECTIONS.get(collection, ""), key))

    @app.post("/api/v1/tokens/introspect")
    async def introspect(body: dict[str, Any]) -> dict[str, Any]:
        found = TOKENS.get(body["token"])
        return {"active": True, **found} if found else {"active": False}

    @app.get("/api/v1/resolve")
    async def resolve(site: str, mac: str | None = None, ip: str | None = None) -> Any:
        found = fake.macs.get(mac or "")
        if found is None:
            return problem(404, "not-found", "no such MAC")
        return {"target": {"kind": found[0], "key": found[1]}, "interface": None}

    @app.post("/api/v1/boot/render")
    async def render(body: dict[str, Any]) -> Any:
        fake.calls.append(("render", body["kind"], body))
        script = f"#!ipxe\n\nkernel x signal={body['variables']['__signal_url']}\n"
        return {
            "status": 200,
            "content_type": "text/plain",
            "body": script,
            "pxe": "installer",
            "target": None,
        }

    @app.get("/api/v1/dhcp/{site}")
    async def dhcp(site: str) -> Any:
        return {"site": site, "revision": fake.dhcp_revision, "subnets": [], "static": []}

    @app.post("/api/v1/discovery/reports")
    async def discovery(body: dict[str, Any]) -> Any:
        fake.calls.append(("discovery", body["site"], body))
        return {"identifier": "abc", "status": "located", "next": "poweroff", "retry_after_s": 30}

    @app.get("/api/v1/events/head")
    async def events_head() -> dict[str, str]:
        return {"cursor": str(len(fake.feed))}

    @app.get("/api/v1/events")
    async def events(after: str, wait: float = 0) -> dict[str, Any]:
        for _ in range(int(min(wait, 1.0) / 0.05)):  # bounded: at most ~1 s per request
            if len(fake.feed) > int(after):
                break
            await asyncio.sleep(0.05)
        found = fake.feed[int(after) :]
        return {"events": found, "next_cursor": str(len(fake.feed))}

    @app.put("/api/v1/{collection}/{key}/job")
    async def reserve(collection: str, key: str, body: dict[str, Any]) -> Any:
        fake.calls.append(("reserve", key, body))
        target = find(collection, key)
        if target is None:
            return problem(404, "not-found", f"{collection} {key} not found")
        job_id, script = int(body["job_id"]), str(body["script"])
        if target.slot not in (None, job_id):
            return problem(409, "job-exists", f"job {target.slot} holds it", job_id=target.slot)
        if script == "create" and target.state == "built":
            return problem(409, "already-built", f"{key} is built")
        if script != "create" and target.state != "built":
            return problem(409, "not-built", f"{key} is not built")
        if script not in target.scripts and script not in ("create", "destroy"):
            return problem(404, "script-not-found", f"no script {script}")
        if target.blocked_on and not body["wait"]:
            return problem(409, "prerequisite-not-ready", "not ready", waiting_on=target.blocked_on)
        target.slot = job_id
        slot = {"job_id": job_id, "script": script}
        if target.blocked_on:
            answer = {"outcome": "blocked", "waiting_on": target.blocked_on, "slot": slot}
            return JSONResponse(answer, status_code=201)
        source = target.scripts.get(script, "")
        answer = {
            "outcome": "granted",
            "slot": slot,
            "script": {"slot": script, "name": script, "body": source, "sha256": ""},
            "snapshot": target.snapshot(),
        }
        return JSONResponse(answer, status_code=201)

    @app.get("/api/v1/{collection}/{key}/snapshot")
    async def snapshot(collection: str, key: str) -> Any:
        target = find(collection, key)
        return target.snapshot() if target else problem(404, "not-found", key)

    @app.post("/api/v1/{collection}/{key}/state")
    async def transition(collection: str, key: str, body: dict[str, Any], request: Request) -> Any:
        fake.calls.append(("state", key, body))
        if fake.unavailable > 0:
            fake.unavailable -= 1
            return JSONResponse({"detail": "down"}, status_code=503)
        target = find(collection, key)
        if target is None:
            return problem(404, "not-found", key)
        if target.refuse_complete:
            return problem(409, "state-conflict", "refused by the fake", current_state="planned")
        if target.last_job == body.get("job_id") and target.state == body["to"]:
            return {"state": target.state, "repeat": True}
        if body["from"] != target.state:
            return problem(409, "state-conflict", "wrong from", current_state=target.state)
        target.state, target.last_job = body["to"], body.get("job_id")
        if body.get("release_job"):
            target.slot = None
        return {"state": target.state}

    @app.post("/api/v1/job-writes")
    async def job_writes(body: dict[str, Any]) -> Any:
        fake.calls.append(("writes", str(body["job_id"]), body))
        owner = next((t for t in fake.targets.values() if t.slot == body["job_id"]), None)
        if owner is None:
            return problem(409, "job-mismatch", "no slot held by this job")
        if owner.reject_writes:
            return problem(422, "write-rejected", "no such attribute", index=0)
        for write in body["writes"]:
            if write["op"] == "set_value":
                owner.values[write["name"]] = write["value"]
            elif write["op"] == "set_pxe":
                owner.pxe[int(write["interface"])] = write["pxe"]
        return owner.snapshot()

    @app.post("/api/v1/job-calls")
    async def job_calls(body: dict[str, Any]) -> Any:
        # A stand-in for inventory's calls (its spec §12.4), not its implementation: host ports
        # come from one counter, and a repeated call_id gets the first answer again.
        fake.calls.append(("job-call", str(body["op"]), body))
        if fake.unavailable > 0:
            fake.unavailable -= 1
            return JSONResponse({"detail": "down"}, status_code=503)
        owner = next((t for t in fake.targets.values() if t.slot == body["job_id"]), None)
        if owner is None:
            return problem(409, "job-mismatch", "no slot held by this job")
        if fake.refuse_calls:
            return problem(409, "ports-exhausted", "no free port in 30000-30001")
        call_id = str(body["call_id"])
        if call_id in fake.call_answers:
            return fake.call_answers[call_id]
        answer: dict[str, Any] = {"call_id": call_id, "op": body["op"]}
        if body["op"] == "map_ports":
            port_map = {}
            for port in body["params"]["container_spec"].get("ports") or []:
                port_map[str(port)] = fake.next_port
                fake.next_port += 1
            owner.config["docker_port_map"] = port_map
            owner.config["docker_check_port"] = next(iter(port_map.values()), None)
            answer["result"] = port_map  # inventory's answer shape (its store/job_calls.py)
        elif body["op"] == "unmap_ports":
            owner.config.pop("docker_port_map", None)
            owner.config.pop("docker_check_port", None)
        else:
            return problem(422, "unknown-op", f"no call {body['op']}")
        fake.call_answers[call_id] = answer
        return answer

    @app.delete("/api/v1/{collection}/{key}/job")
    async def release(collection: str, key: str, job_id: int) -> Any:
        fake.calls.append(("release", key, job_id))
        if fake.unavailable > 0:
            fake.unavailable -= 1
            return JSONResponse({"detail": "down"}, status_code=503)
        target = find(collection, key)
        if target is not None and target.slot == job_id:
            target.slot = None
        return JSONResponse(None, status_code=204)

    return app


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Served:
    """The fake inventory served by uvicorn inside the test loop."""

    def __init__(self) -> None:
        self.fake = FakeInventory()
        port = free_port()
        self.fake.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(
            build_app(self.fake), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
        self.server = uvicorn.Server(config)
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.server.serve())
        for _ in range(500):  # bounded: at most ~5 s
            if self.server.started:
                return
            await asyncio.sleep(0.01)
        raise RuntimeError("fake inventory did not start")

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task is not None:
            await asyncio.wait_for(self.task, 10)
