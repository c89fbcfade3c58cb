"""A tiny agent for foreman's tests: the /agent/v1 calls, driven over the app's ASGI transport."""

from __future__ import annotations

from typing import Any

import httpx
from foreman_testkit import auth


class TestAgent:
    """One registered agent."""

    __test__ = False

    def __init__(self, client: httpx.AsyncClient, token: str = "agent-token") -> None:
        self.client = client
        self.headers = auth(token)
        self.agent_id = ""
        self.incarnation = ""

    async def call(self, path: str, body: dict[str, Any]) -> httpx.Response:
        return await self.client.post(f"/agent/v1{path}", json=body, headers=self.headers)

    async def register(
        self, name: str = "a1", modules: tuple[str, ...] = ("sim",)
    ) -> dict[str, Any]:
        body = {
            "name": name,
            "version": "1.0.0",
            "hostname": "test",
            "sites": ["dc1"],
            "modules": {m: {"version": "1", "concurrency": 4, "functions": []} for m in modules},
        }
        r = await self.call("/register", body)
        assert r.status_code == 200, r.text
        answer: dict[str, Any] = r.json()
        self.agent_id, self.incarnation = answer["agent_id"], answer["incarnation"]
        return answer

    async def poll(
        self, *, wait_s: float = 0, running: list[dict[str, Any]] | None = None, capacity: int = 4
    ) -> dict[str, Any]:
        body = {
            "agent_id": self.agent_id,
            "incarnation": self.incarnation,
            "sites": ["dc1"],
            "modules": {"sim": {"capacity": capacity}},
            "running": running or [],
            "wait_s": wait_s,
        }
        r = await self.call("/poll", body)
        assert r.status_code == 200, r.text
        answer: dict[str, Any] = r.json()
        return answer

    async def heartbeat(
        self, task: dict[str, Any], phase: str = "running", **kw: Any
    ) -> httpx.Response:
        body = {
            "agent_id": self.agent_id,
            "incarnation": self.incarnation,
            "attempt": kw.get("attempt", task["attempt"]),
            "phase": phase,
        }
        return await self.call(f"/tasks/{task['id']}/heartbeat", body)

    async def result(self, task: dict[str, Any], data: dict[str, Any], **kw: Any) -> httpx.Response:
        body = {
            "agent_id": self.agent_id,
            "attempt": kw.get("attempt", task["attempt"]),
            "data": data,
        }
        return await self.call(f"/tasks/{task['id']}/result", body)

    async def error(
        self, task: dict[str, Any], message: str, *, retryable: bool = False, code: str = "internal"
    ) -> httpx.Response:
        body = {
            "agent_id": self.agent_id,
            "attempt": task["attempt"],
            "message": message,
            "retryable": retryable,
            "code": code,
        }
        return await self.call(f"/tasks/{task['id']}/error", body)

    async def next_task(self, wait_s: float = 10) -> dict[str, Any]:
        answer = await self.poll(wait_s=wait_s)
        assert answer["tasks"], answer
        task: dict[str, Any] = answer["tasks"][0]
        return task


ECHO = "result1 = sim.echo(value=5)\n"
CREATE = "vm1 = sim.create(vm_spec={name='vm1'})\n"


async def start_job(
    client: httpx.AsyncClient, inventory: Any, script: str, key: str = "sim1"
) -> dict[str, Any]:
    """Create a foundation job whose create script is ``script``."""
    inventory.add("foundation", key, state="located", scripts={"create": script})
    r = await client.post(f"/api/v1/foundations/{key}/jobs", json={"script": "create"})
    assert r.status_code == 201, r.text
    job: dict[str, Any] = r.json()
    return job


async def tasks_of(client: httpx.AsyncClient, job_id: int) -> list[dict[str, Any]]:
    """The job's agent tasks (server tasks left out)."""
    items = (await client.get(f"/api/v1/jobs/{job_id}/tasks")).json()["items"]
    return [t for t in items if t["purpose"] == "call"]
