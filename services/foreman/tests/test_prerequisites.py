from __future__ import annotations

import httpx
from contractor.foreman.loops import prerequisites
from fastapi import FastAPI
from foreman_fake_inventory import FakeInventory
from foreman_testkit import job_in

WAITING_ON = [{"kind": "foundation", "key": "f1", "state": "located", "required": "built"}]


async def blocked_job(client: httpx.AsyncClient, inventory: FakeInventory) -> int:
    inventory.add("structure", "7", blocked_on=list(WAITING_ON))
    r = await client.post(
        "/api/v1/structures/7/jobs", json={"script": "create", "wait_for_prerequisites": True}
    )
    assert r.status_code == 201 and r.json()["state"] == "queued", r.text
    job_id: int = r.json()["id"]
    return job_id


class TestPrerequisites:
    async def test_completion_elsewhere_wakes_the_waiting_job(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        job_id = await blocked_job(client, inventory)
        inventory.targets[("structure", "7")].blocked_on = []
        inventory.add("foundation", "f1", state="located")
        other = (await client.post("/api/v1/foundations/f1/jobs", json={"script": "create"})).json()
        await job_in(client, other["id"], "done")
        done = await job_in(client, job_id, "done")
        assert done["wait"] is None and done["program"].startswith("sha256:")
        log = (await client.get(f"/api/v1/jobs/{job_id}/log")).json()["items"]
        assert any(e["message"] == "prerequisites satisfied" for e in log)

    async def test_inventory_event_wakes_the_waiting_job(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        job_id = await blocked_job(client, inventory)
        inventory.targets[("structure", "7")].blocked_on = []
        inventory.emit("foundation.built", "foundation", "f1")
        done = await job_in(client, job_id, "done")
        assert done["state"] == "done"

    async def test_still_blocked_stays_queued(
        self, client: httpx.AsyncClient, app: FastAPI, inventory: FakeInventory
    ) -> None:
        job_id = await blocked_job(client, inventory)
        state = app.state
        assert await prerequisites.reserve_waiting(state.sessions, state.runtime, state.inventory)
        job = (await client.get(f"/api/v1/jobs/{job_id}")).json()
        assert job["state"] == "queued" and job["wait"]["waiting_on"] == WAITING_ON

    async def test_refusal_cancels_the_job(
        self, client: httpx.AsyncClient, app: FastAPI, inventory: FakeInventory
    ) -> None:
        job_id = await blocked_job(client, inventory)
        inventory.targets[("structure", "7")].state = "built"
        state = app.state
        await prerequisites.reserve_waiting(state.sessions, state.runtime, state.inventory)
        job = (await client.get(f"/api/v1/jobs/{job_id}")).json()
        assert job["state"] == "canceled" and job["message"] == "7 is built"
        log = (await client.get(f"/api/v1/jobs/{job_id}/log")).json()["items"]
        assert log[-1]["actor"] == "inventory"

    async def test_operator_can_cancel_a_waiting_job(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        job_id = await blocked_job(client, inventory)
        r = await client.post(f"/api/v1/jobs/{job_id}/cancel")
        assert r.json()["state"] == "canceled"
