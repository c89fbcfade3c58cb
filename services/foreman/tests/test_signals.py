from __future__ import annotations

from typing import Any

import httpx
from foreman_agentkit import TestAgent
from foreman_fake_inventory import FakeInventory
from foreman_testkit import ShiftedClock, job_in

SCRIPT = """sig0 = signaling.token
signaling.reset(pxe_name='installer')
sig1 = signaling.token
signaling.wait_for_completion(timeout=600)
done1 = signaling.complete
"""


async def waiting_job(
    client: httpx.AsyncClient, inventory: FakeInventory, script: str = SCRIPT
) -> tuple[dict[str, Any], dict[str, Any]]:
    inventory.add("foundation", "sim1", state="located", scripts={"create": script})
    job = (await client.post("/api/v1/foundations/sim1/jobs", json={"script": "create"})).json()
    waiting = await job_in(client, job["id"], "waiting_signal")
    variables = (await client.get(f"/api/v1/jobs/{job['id']}/state")).json()["variables"]
    return waiting, variables


class TestSignals:
    async def test_signal_wakes_the_job_once(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        agent = TestAgent(client)
        waiting, variables = await waiting_job(client, inventory)
        assert waiting["message"] == "waiting for completion signal (installer)"
        assert waiting["wait"]["kind"] == "signal"
        token = variables["sig1"]
        assert token.startswith("sig_") and len(token) == 26 and token != variables["sig0"]
        body = {"token": token, "status": "complete", "message": "2 disks wiped"}
        r = await agent.call("/boot/signal", body)
        assert r.json() == {"result": "received", "job_id": waiting["id"], "pxe_name": "installer"}
        again = await agent.call("/boot/signal", body)
        assert again.json() == {"result": "already received", "job_id": waiting["id"]}
        await job_in(client, waiting["id"], "done")
        final = (await client.get(f"/api/v1/jobs/{waiting['id']}/state")).json()["variables"]
        assert final["done1"] is True

    async def test_revoked_and_unknown_tokens(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        agent = TestAgent(client)
        _, variables = await waiting_job(client, inventory)
        r = await agent.call("/boot/signal", {"token": variables["sig0"]})
        assert r.status_code == 409
        assert r.json()["type"] == "urn:contractor:problem:signal-revoked"
        r = await agent.call("/boot/signal", {"token": "sig_unknown"})
        assert r.status_code == 404
        assert r.json()["type"] == "urn:contractor:problem:unknown-signal"

    async def test_failed_signal_is_an_error(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        agent = TestAgent(client)
        waiting, variables = await waiting_job(client, inventory)
        body = {"token": variables["sig1"], "status": "failed", "message": "disk 2 broken"}
        await agent.call("/boot/signal", body)
        failed = await job_in(client, waiting["id"], "error")
        assert failed["origin"] == "call"
        assert failed["message"] == "completion signal failed: disk 2 broken"

    async def test_timeout_then_reset_counts_a_late_signal(
        self, client: httpx.AsyncClient, inventory: FakeInventory, clock: ShiftedClock
    ) -> None:
        agent = TestAgent(client)
        waiting, variables = await waiting_job(client, inventory)
        clock.advance(601)
        failed = await job_in(client, waiting["id"], "error")
        assert failed["message"] == "no completion signal within 600 s"
        await agent.call("/boot/signal", {"token": variables["sig1"]})
        assert (await client.post(f"/api/v1/jobs/{waiting['id']}/reset")).status_code == 200
        await job_in(client, waiting["id"], "done")

    async def test_message_sets_the_job_message(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        agent = TestAgent(client)
        waiting, variables = await waiting_job(client, inventory)
        r = await agent.call("/boot/message", {"token": variables["sig1"], "message": "2/5"})
        assert r.json()["result"] == "posted"
        job = (await client.get(f"/api/v1/jobs/{waiting['id']}")).json()
        assert job["message"] == "2/5" and job["state"] == "waiting_signal"

    async def test_operator_pause_resume_keeps_waiting(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        waiting, _ = await waiting_job(client, inventory)
        await client.post(f"/api/v1/jobs/{waiting['id']}/pause")
        r = await client.post(f"/api/v1/jobs/{waiting['id']}/resume")
        assert r.json()["state"] == "waiting_signal"
