from __future__ import annotations

from typing import Any

import httpx
from contractor.foreman.loops import reaper
from fastapi import FastAPI
from foreman_agentkit import CREATE, ECHO, TestAgent, start_job, tasks_of
from foreman_fake_inventory import FakeInventory
from foreman_testkit import ShiftedClock, job_in


class TestLeases:
    async def test_expired_idempotent_task_is_reoffered(
        self, client: httpx.AsyncClient, app: FastAPI, inventory: FakeInventory, clock: ShiftedClock
    ) -> None:
        agent = TestAgent(client)
        await agent.register()
        job = await start_job(client, inventory, ECHO)
        task = await agent.next_task()
        clock.advance(61)
        assert await reaper.reap_once(app.state.sessions, app.state.runtime) == 1
        again = await agent.next_task()
        assert (again["id"], again["attempt"]) == (task["id"], 2)
        r = await agent.result(task, {"value": 5})
        assert r.status_code == 409 and r.json()["type"] == "urn:contractor:problem:stale-attempt"
        await agent.result(again, {"value": 5})
        assert (await job_in(client, job["id"], "done"))["state"] == "done"

    async def test_expired_task_of_a_canceled_job_is_not_reoffered(
        self, client: httpx.AsyncClient, app: FastAPI, inventory: FakeInventory, clock: ShiftedClock
    ) -> None:
        agent = TestAgent(client)
        await agent.register()
        job = await start_job(client, inventory, ECHO)
        task = await agent.next_task()
        await agent.heartbeat(task, "started")
        r = await client.post(f"/api/v1/jobs/{job['id']}/cancel", json={})
        assert r.status_code == 200, r.text
        clock.advance(61)  # the agent went quiet: the lease runs out
        # (the job's slot-release server task may be expiring in the same sweep)
        assert await reaper.reap_once(app.state.sessions, app.state.runtime) >= 1
        [settled] = [t for t in await tasks_of(client, job["id"]) if t["id"] == task["id"]]
        assert settled["state"] == "canceled" and settled["attempt"] == 1
        assert (await agent.poll(wait_s=0.3))["tasks"] == []

    async def test_idempotent_task_lost_after_five_reoffers(
        self, client: httpx.AsyncClient, app: FastAPI, inventory: FakeInventory, clock: ShiftedClock
    ) -> None:
        agent = TestAgent(client)
        await agent.register()
        job = await start_job(client, inventory, ECHO)
        for _ in range(6):
            await agent.next_task()
            clock.advance(61)
            await reaper.reap_once(app.state.sessions, app.state.runtime)
        failed = await job_in(client, job["id"], "error")
        assert failed["message"] == "task lost 5 times" and failed["origin"] == "call"

    async def test_started_non_idempotent_task_is_lost(
        self, client: httpx.AsyncClient, app: FastAPI, inventory: FakeInventory, clock: ShiftedClock
    ) -> None:
        agent = TestAgent(client)
        await agent.register()
        job = await start_job(client, inventory, CREATE)
        task = await agent.next_task()
        assert task["idempotent"] is False and task["needs_start_ack"] is True
        assert (await agent.heartbeat(task, "started")).status_code == 200
        clock.advance(61)
        await reaper.reap_once(app.state.sessions, app.state.runtime)
        failed = await job_in(client, job["id"], "error")
        assert failed["message"] == "task lost: a1"
        [lost] = await tasks_of(client, job["id"])
        assert lost["state"] == "lost" and lost["attempt"] == 1
        assert (await agent.poll(wait_s=0))["tasks"] == []

    async def test_unacknowledged_task_is_reoffered(
        self, client: httpx.AsyncClient, app: FastAPI, inventory: FakeInventory, clock: ShiftedClock
    ) -> None:
        agent = TestAgent(client)
        await agent.register()
        await start_job(client, inventory, CREATE)
        task = await agent.next_task()
        clock.advance(31)
        await reaper.reap_once(app.state.sessions, app.state.runtime)
        again = await agent.next_task()
        assert (again["id"], again["attempt"]) == (task["id"], 2)
        r = await agent.heartbeat(task, "started")
        assert r.status_code == 409

    async def test_release_unstarted_reoffers_same_attempt(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        agent = TestAgent(client)
        await agent.register()
        await start_job(client, inventory, ECHO)
        task = await agent.next_task()
        body = {"agent_id": agent.agent_id, "attempt": 1, "started": False, "reason": "shutdown"}
        r = await agent.call(f"/tasks/{task['id']}/release", body)
        assert r.json() == {"status": "released", "reoffered": True}
        again = await agent.next_task()
        assert (again["id"], again["attempt"]) == (task["id"], 1)

    async def test_deregister_reconciles_started_non_idempotent(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        agent = TestAgent(client)
        await agent.register()
        job = await start_job(client, inventory, CREATE)
        task = await agent.next_task()
        await agent.heartbeat(task, "started")
        body = {"agent_id": agent.agent_id, "incarnation": agent.incarnation, "reason": "bye"}
        r = await agent.call("/deregister", body)
        assert r.json() == {"status": "offline"}
        assert (await job_in(client, job["id"], "error"))["message"] == "task lost: a1"
        items = (await client.get("/api/v1/agents")).json()["items"]
        assert items[0]["status"] == "offline"


class TestBatchAndTimeouts:
    async def test_batched_outcomes_settle_independently(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        agent = TestAgent(client)
        await agent.register()
        first = await start_job(client, inventory, ECHO, key="s1")
        await start_job(client, inventory, ECHO, key="s2")
        held: list[dict[str, Any]] = []
        for _ in range(10):  # bounded: at most 10 polls of at most 5 s
            if len(held) == 2:
                break
            running = [{"id": t["id"], "attempt": t["attempt"]} for t in held]
            held += (await agent.poll(wait_s=5, running=running))["tasks"]
        one, two = held
        body = {
            "agent_id": agent.agent_id,
            "items": [
                {"task_id": one["id"], "attempt": 1, "outcome": "result", "data": {"value": 5}},
                {"task_id": two["id"], "attempt": 9, "outcome": "error", "message": "x"},
            ],
        }
        r = await agent.call("/results", body)
        assert r.json()["items"] == [
            {"task_id": one["id"], "status": "recorded"},
            {"task_id": two["id"], "status": "rejected", "problem": "stale-attempt"},
        ]
        done_job = one["job_id"]
        assert (await job_in(client, done_job, "done"))["id"] in (first["id"], done_job)

    async def test_task_running_past_its_timeout_is_handled_as_lost(
        self, client: httpx.AsyncClient, app: FastAPI, inventory: FakeInventory, clock: ShiftedClock
    ) -> None:
        agent = TestAgent(client)
        await agent.register()
        job = await start_job(client, inventory, CREATE)
        task = await agent.next_task()
        await agent.heartbeat(task, "started")
        for _ in range(7):  # heartbeats keep the lease, not the timeout (300 s + 30 s)
            clock.advance(50)
            assert (await agent.heartbeat(task)).status_code == 200
        await reaper.reap_once(app.state.sessions, app.state.runtime)
        assert (await job_in(client, job["id"], "error"))["message"] == "task lost: a1"


async def test_agent_status_goes_stale_then_offline_with_events(
    client: httpx.AsyncClient, app: FastAPI, clock: ShiftedClock
) -> None:
    from contractor.foreman.loops import agent_status

    agent = TestAgent(client)
    await agent.register()
    state = app.state
    assert await agent_status.refresh_all(state.sessions, state.runtime) == 0
    clock.advance(120)
    assert await agent_status.refresh_all(state.sessions, state.runtime) == 1
    assert (await client.get(f"/api/v1/agents/{agent.agent_id}")).json()["status"] == "stale"
    clock.advance(400)
    await agent_status.refresh_all(state.sessions, state.runtime)
    feed = (await client.get("/api/v1/events", params={"types": "agent.*"})).json()["events"]
    assert [e["data"]["status"] for e in feed] == ["online", "stale", "offline"]
