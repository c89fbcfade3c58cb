from __future__ import annotations

import asyncio

import httpx
from foreman_agentkit import ECHO, TestAgent, start_job, tasks_of
from foreman_fake_inventory import FakeInventory
from foreman_testkit import ShiftedClock, job_in


class TestRegister:
    async def test_register_gives_ids_and_timings(self, client: httpx.AsyncClient) -> None:
        answer = await TestAgent(client).register()
        assert answer["lease_s"] == 60 and answer["heartbeat_s"] == 20
        assert answer["start_ack_timeout_s"] == 30 and answer["poll_wait_max_s"] == 30
        assert answer["server_time"].endswith("Z")

    async def test_id_is_stable_incarnation_is_new(self, client: httpx.AsyncClient) -> None:
        agent = TestAgent(client)
        first = await agent.register()
        second = await agent.register()
        assert first["agent_id"] == second["agent_id"]
        assert first["incarnation"] != second["incarnation"]

    async def test_old_incarnation_must_reregister(self, client: httpx.AsyncClient) -> None:
        agent = TestAgent(client)
        first = await agent.register()
        await agent.register()
        body = {"agent_id": first["agent_id"], "incarnation": first["incarnation"], "wait_s": 0}
        r = await agent.call("/poll", {**body, "sites": ["dc1"], "modules": {}})
        assert r.status_code == 409
        assert r.json()["type"] == "urn:contractor:problem:reregister"

    async def test_site_outside_token_is_403(self, client: httpx.AsyncClient) -> None:
        body = {"name": "x", "sites": ["dc2"], "modules": {}}
        r = await TestAgent(client).call("/register", body)
        assert r.status_code == 403
        assert r.json()["site"] == "dc2"

    async def test_user_token_is_403(self, client: httpx.AsyncClient) -> None:
        r = await client.post("/agent/v1/register", json={"name": "x", "sites": ["dc1"]})
        assert r.status_code == 403

    async def test_registry_lists_the_agent(self, client: httpx.AsyncClient) -> None:
        agent = TestAgent(client)
        await agent.register()
        items = (await client.get("/api/v1/agents")).json()["items"]
        assert [(a["id"], a["status"], a["token"]) for a in items] == [
            (agent.agent_id, "online", "dc1-agents")
        ]
        assert items[0]["modules"] == {"sim": {"concurrency": 4, "running": 0}}

    async def test_disabled_agent_is_refused(self, client: httpx.AsyncClient) -> None:
        agent = TestAgent(client)
        await agent.register()
        admin = {"Authorization": "Bearer admin-token"}
        r = await client.post(f"/api/v1/agents/{agent.agent_id}/disable", headers=admin)
        assert r.status_code == 200 and r.json()["status"] == "disabled"
        r = await agent.call(
            "/poll", {"agent_id": agent.agent_id, "incarnation": agent.incarnation, "wait_s": 0}
        )
        assert r.status_code == 403
        assert r.json()["type"] == "urn:contractor:problem:agent-disabled"


class TestPoll:
    async def test_ready_task_is_answered_at_once(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        agent = TestAgent(client)
        await agent.register()
        job = await start_job(client, inventory, ECHO)
        await job_in(client, job["id"], "waiting_task")
        answer = await asyncio.wait_for(agent.poll(wait_s=30), 10)
        [task] = answer["tasks"]
        assert task["job_id"] == job["id"] and task["site"] == "dc1"
        assert (task["module"], task["function"], task["attempt"]) == ("sim", "echo", 1)
        assert task["parameters"] == {"value": 5, "delay_s": 0, "fail": None}
        assert task["idempotent"] is True and task["needs_start_ack"] is False
        assert task["lease_until"].endswith("Z")
        assert answer["cancel"] == []

    async def test_waiting_poll_wakes_when_a_task_appears(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        agent = TestAgent(client)
        await agent.register()
        waiting = asyncio.create_task(agent.poll(wait_s=30))
        await asyncio.sleep(0.1)
        job = await start_job(client, inventory, ECHO)
        answer = await asyncio.wait_for(waiting, 10)
        assert [t["job_id"] for t in answer["tasks"]] == [job["id"]]

    async def test_empty_poll_answers_empty(self, client: httpx.AsyncClient) -> None:
        agent = TestAgent(client)
        await agent.register()
        answer = await agent.poll(wait_s=0)
        assert answer["tasks"] == [] and answer["cancel"] == []

    async def test_wait_above_30_is_422(self, client: httpx.AsyncClient) -> None:
        agent = TestAgent(client)
        await agent.register()
        r = await agent.call(
            "/poll", {"agent_id": agent.agent_id, "incarnation": agent.incarnation, "wait_s": 31}
        )
        assert r.status_code == 422

    async def test_second_poll_answers_the_first(self, client: httpx.AsyncClient) -> None:
        agent = TestAgent(client)
        await agent.register()
        first = asyncio.create_task(agent.poll(wait_s=30))
        await asyncio.sleep(0.1)
        second = asyncio.create_task(agent.poll(wait_s=0))
        assert (await asyncio.wait_for(first, 10))["tasks"] == []
        await second

    async def test_task_lost_in_transit_is_delivered_again(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        agent = TestAgent(client)
        await agent.register()
        await start_job(client, inventory, ECHO)
        task = await agent.next_task()
        again = await agent.poll(wait_s=0, running=[])
        assert [(t["id"], t["attempt"]) for t in again["tasks"]] == [(task["id"], 1)]
        listed = await agent.poll(wait_s=0, running=[{"id": task["id"], "attempt": 1}])
        assert listed["tasks"] == []


class TestOutcomes:
    async def test_result_once_then_job_done(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        agent = TestAgent(client)
        await agent.register()
        job = await start_job(client, inventory, ECHO)
        task = await agent.next_task()
        r = await agent.heartbeat(task)
        assert r.status_code == 200 and r.json()["cancel"] is False
        r = await agent.result(task, {"value": 5})
        assert (r.status_code, r.json()) == (200, {"status": "recorded"})
        r = await agent.result(task, {"value": 6})
        assert (r.status_code, r.json()) == (200, {"status": "already recorded"})
        done = await job_in(client, job["id"], "done", "error", "aborted")
        assert done["state"] == "done", done
        state = (await client.get(f"/api/v1/jobs/{job['id']}/state")).json()
        assert state["variables"]["result1"] == 5
        [recorded] = await tasks_of(client, job["id"])
        assert recorded["state"] == "succeeded" and recorded["result"] == {"value": 5}

    async def test_wrong_attempt_and_unknown_task_change_nothing(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        agent = TestAgent(client)
        await agent.register()
        job = await start_job(client, inventory, ECHO)
        task = await agent.next_task()
        r = await agent.result(task, {"value": 5}, attempt=2)
        assert r.status_code == 409
        assert r.json()["type"] == "urn:contractor:problem:stale-attempt"
        r = await agent.result({**task, "id": "0d9e2c4b-8a71-4f3e-b5d6-7c1a2e9f4b30"}, {})
        assert r.status_code == 409
        assert r.json()["type"] == "urn:contractor:problem:unknown-task"
        r = await agent.heartbeat(task, attempt=3)
        assert r.status_code == 409 and r.json()["cancel"] is True
        [still] = await tasks_of(client, job["id"])
        assert (still["state"], still["attempt"], still["result"]) == ("leased", 1, None)
        assert (await client.get(f"/api/v1/jobs/{job['id']}")).json()["state"] == "waiting_task"

    async def test_other_agent_cannot_post_the_result(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        holder, other = TestAgent(client), TestAgent(client, "agent2-token")
        await holder.register()
        await other.register("a2")
        await start_job(client, inventory, ECHO)
        task = await holder.next_task()
        r = await other.result(task, {"value": 1})
        assert r.status_code == 409

    async def test_retryable_error_reoffers_next_attempt(
        self, client: httpx.AsyncClient, inventory: FakeInventory, clock: ShiftedClock
    ) -> None:
        agent = TestAgent(client)
        await agent.register()
        job = await start_job(client, inventory, ECHO)
        task = await agent.next_task()
        r = await agent.error(task, "busy", retryable=True, code="timeout")
        assert r.json()["status"] == "recorded" and r.json()["will_retry"] is True
        assert (await agent.error(task, "busy", retryable=True)).json() == {
            "status": "already recorded"
        }
        clock.advance(10)
        retry = await agent.next_task()
        assert (retry["id"], retry["attempt"]) == (task["id"], 2)
        await agent.result(retry, {"value": 5})
        assert (await job_in(client, job["id"], "done"))["state"] == "done"

    async def test_error_puts_job_in_error_and_reset_retries(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        agent = TestAgent(client)
        await agent.register()
        job = await start_job(client, inventory, ECHO)
        task = await agent.next_task()
        r = await agent.error(task, "boom", code="invalid_parameters")
        assert r.json()["will_retry"] is False
        failed = await job_in(client, job["id"], "error")
        assert failed["origin"] == "call" and failed["message"] == "sim.echo: boom"
        assert failed["actions"] == ["reset", "rollback", "cancel"]
        r = await client.post(f"/api/v1/jobs/{job['id']}/reset")
        assert r.status_code == 200, r.text
        retry = await agent.next_task()
        assert retry["id"] != task["id"] and retry["attempt"] == 1
        await agent.result(retry, {"value": 5})
        assert (await job_in(client, job["id"], "done"))["state"] == "done"
        log = (await client.get(f"/api/v1/jobs/{job['id']}/log")).json()["items"]
        assert any(e["action"] == "reset" and e["message"] == "retrying sim.echo" for e in log)


class TestCancel:
    async def test_cancel_cancels_the_leased_task(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        agent = TestAgent(client)
        await agent.register()
        job = await start_job(client, inventory, ECHO)
        task = await agent.next_task()
        r = await client.post(f"/api/v1/jobs/{job['id']}/cancel")
        assert r.status_code == 200 and r.json()["state"] == "canceled"
        r = await agent.result(task, {"value": 5})
        assert r.status_code == 409
        assert r.json()["type"] == "urn:contractor:problem:task-canceled"
        answer = await agent.poll(wait_s=0, running=[{"id": task["id"], "attempt": 1}])
        assert answer["cancel"] == [task["id"]]


async def test_job_says_when_no_agent_serves_the_module(
    client: httpx.AsyncClient, inventory: FakeInventory
) -> None:
    job = await start_job(client, inventory, ECHO)
    waiting = await job_in(client, job["id"], "waiting_task")
    assert waiting["message"] == "no agent serves sim for site dc1"
