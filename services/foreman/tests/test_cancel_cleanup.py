"""Cancel with cleanup tasks (spec §2.7): the rollback task of a call that may have acted."""

from __future__ import annotations

from typing import Any

import httpx
from foreman_agentkit import CREATE, ECHO, TestAgent, start_job
from foreman_fake_inventory import FakeInventory
from foreman_testkit import eventually, job_in


async def act(client: httpx.AsyncClient, job_id: int, action: str) -> httpx.Response:
    return await client.post(f"/api/v1/jobs/{job_id}/{action}", json={"message": "stop it"})


async def job_tasks(client: httpx.AsyncClient, job_id: int, purpose: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await client.get(f"/api/v1/jobs/{job_id}/tasks")).json()["items"]
    return [t for t in items if t["purpose"] == purpose]


async def log_actions(client: httpx.AsyncClient, job_id: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = (await client.get(f"/api/v1/jobs/{job_id}/log")).json()["items"]
    return items


async def released(client: httpx.AsyncClient, inventory: FakeInventory, job_id: int) -> None:
    """Wait until the slot is released at inventory and the job no longer shows it pending."""

    async def probe() -> bool:
        job = (await client.get(f"/api/v1/jobs/{job_id}")).json()
        return ("release", "sim1", job_id) in inventory.calls and not job["release_pending"]

    await eventually(probe)


async def next_cleanup(agent: TestAgent, holding: dict[str, Any]) -> dict[str, Any]:
    """Poll (still listing ``holding`` as running) until the cleanup task is offered."""
    running = [{"id": holding["id"], "attempt": holding["attempt"]}]

    async def probe() -> dict[str, Any] | None:
        offered: list[dict[str, Any]] = (await agent.poll(wait_s=0.2, running=running))["tasks"]
        return offered[0] if offered else None

    found: dict[str, Any] = await eventually(probe)
    return found


async def assert_new_job_refused(client: httpx.AsyncClient, job_id: int) -> None:
    r = await client.post("/api/v1/foundations/sim1/jobs", json={"script": "create"})
    assert r.status_code == 409, r.text
    problem = r.json()
    assert problem["type"] == "urn:contractor:problem:job-exists"
    assert problem["job_id"] == job_id and problem["state"] == "canceled"


async def canceled_while_running(
    client: httpx.AsyncClient, inventory: FakeInventory, script: str
) -> tuple[TestAgent, dict[str, Any], dict[str, Any], httpx.Response]:
    """A job whose first call has started on a new agent, then canceled: agent, job, task and
    the cancel's response."""
    agent = TestAgent(client)
    await agent.register()
    job = await start_job(client, inventory, script)
    task = await agent.next_task()
    await agent.heartbeat(task, "started")
    return agent, job, task, await act(client, job["id"], "cancel")


class TestCancelWithCleanup:
    async def test_started_create_is_cleaned_up_after_it_settles(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        agent = TestAgent(client)
        await agent.register()
        job = await start_job(client, inventory, CREATE)
        create = await agent.next_task()
        assert (await agent.heartbeat(create, "started")).status_code == 200
        r = await act(client, job["id"], "cancel")
        assert r.status_code == 200, r.text
        canceled = r.json()
        assert canceled["state"] == "canceled" and canceled["release_pending"] is True
        assert canceled["wait"]["kind"] == "cleanup" and "cleanup" not in canceled["wait"]
        # The original still runs (cancel requested): no cleanup yet, the slot is held.
        assert (await agent.heartbeat(create)).json()["cancel"] is True
        assert await job_tasks(client, job["id"], "cleanup") == []
        await assert_new_job_refused(client, job["id"])
        assert ("release", "sim1", job["id"]) not in inventory.calls

        # Clearing it now would delete the slot's release: refused, nothing changed.
        r = await client.delete(f"/api/v1/jobs/{job['id']}")
        assert r.status_code == 409, r.text
        assert r.json()["type"] == "urn:contractor:problem:release-pending"
        assert (await client.get(f"/api/v1/jobs/{job['id']}")).json()["state"] == "canceled"

        # Its late result is recorded (not consumed); then the cleanup task is queued.
        assert (await agent.result(create, {"id": "vm-1"})).json()["status"] == "recorded"
        undo = await next_cleanup(agent, create)
        assert (undo["module"], undo["function"]) == ("sim", "destroy")
        assert undo["parameters"] == {"name": "vm1"} and undo["idempotent"] is True
        listed = await job_tasks(client, job["id"], "cleanup")
        assert [t["id"] for t in listed] == [undo["id"]]
        assert (await client.get(f"/api/v1/jobs/{job['id']}")).json()["release_pending"] is True
        await assert_new_job_refused(client, job["id"])
        assert ("release", "sim1", job["id"]) not in inventory.calls

        await agent.result(undo, {"destroyed": True})
        await released(client, inventory, job["id"])
        after = (await client.get(f"/api/v1/jobs/{job['id']}")).json()
        assert after["state"] == "canceled" and after["wait"] is None
        log = await log_actions(client, job["id"])
        actions = [e["action"] for e in log]
        assert actions.index("cancel") < actions.index("cleanup_created")
        assert actions.index("cleanup_created") < actions.index("cleanup_settled")
        settled = next(e for e in log if e["action"] == "cleanup_settled")
        assert settled["message"] == "cleanup sim.destroy succeeded"
        assert settled["to"] is None  # logged, no state change
        assert (await client.delete(f"/api/v1/jobs/{job['id']}")).status_code == 204
        r = await client.post("/api/v1/foundations/sim1/jobs", json={"script": "create"})
        assert r.status_code == 201, r.text

    async def test_outcomes_of_a_canceled_job_settle_through_batched_results(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        agent, job, create, _ = await canceled_while_running(client, inventory, CREATE)

        async def batched(task: dict[str, Any], data: dict[str, Any]) -> None:
            item = {"task_id": task["id"], "attempt": task["attempt"], "outcome": "result"}
            r = await agent.call(
                "/results", {"agent_id": agent.agent_id, "items": [{**item, "data": data}]}
            )
            assert r.status_code == 200, r.text
            assert r.json()["items"][0]["status"] == "recorded", r.text

        await batched(create, {"id": "vm-1"})  # queues the cleanup
        undo = await next_cleanup(agent, create)
        await batched(undo, {"destroyed": True})  # logs it and releases the slot
        await released(client, inventory, job["id"])
        actions = [e["action"] for e in await log_actions(client, job["id"])]
        assert "cleanup_settled" in actions

    async def test_failed_cleanup_is_logged_and_the_slot_released(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        agent, job, create, _ = await canceled_while_running(client, inventory, CREATE)
        await agent.error(create, "canceled", code="canceled")
        undo = await next_cleanup(agent, create)
        await agent.error(undo, "hypervisor says no")
        await released(client, inventory, job["id"])
        after = (await client.get(f"/api/v1/jobs/{job['id']}")).json()
        assert after["state"] == "canceled" and after["message"] == "stop it"
        settled = [
            e for e in await log_actions(client, job["id"]) if e["action"] == "cleanup_settled"
        ]
        assert [e["message"] for e in settled] == ["cleanup sim.destroy failed: hypervisor says no"]

    async def test_result_not_consumed_is_cleaned_up_at_once(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        agent = TestAgent(client)
        await agent.register()
        job = await start_job(client, inventory, CREATE)
        create = await agent.next_task()
        await agent.heartbeat(create, "started")
        await act(client, job["id"], "pause")
        await agent.result(create, {"id": "vm-1"})  # recorded, not consumed while paused
        canceled = (await act(client, job["id"], "cancel")).json()
        assert canceled["state"] == "canceled" and canceled["release_pending"] is True
        [undo] = await job_tasks(client, job["id"], "cleanup")
        assert (undo["function"], undo["state"]) == ("destroy", "pending")
        offered = await agent.next_task()
        assert offered["id"] == undo["id"]
        await agent.result(offered, {"destroyed": True})
        await released(client, inventory, job["id"])

    async def test_never_started_task_needs_no_cleanup(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        agent = TestAgent(client)
        await agent.register()
        job = await start_job(client, inventory, CREATE)
        create = await agent.next_task()  # leased, start never acknowledged: it never ran
        canceled = (await act(client, job["id"], "cancel")).json()
        assert canceled["wait"] is None or canceled["wait"]["kind"] != "cleanup"
        await released(client, inventory, job["id"])
        assert await job_tasks(client, job["id"], "cleanup") == []
        assert (await agent.heartbeat(create, "started")).status_code == 409

    async def test_started_task_without_rollback_task_releases_at_once(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        agent = TestAgent(client)
        await agent.register()
        job = await start_job(client, inventory, ECHO)
        echo = await agent.next_task()
        await agent.heartbeat(echo, "started")
        await act(client, job["id"], "cancel")
        await released(client, inventory, job["id"])
        await agent.result(echo, {"value": 5})
        assert await job_tasks(client, job["id"], "cleanup") == []
        assert (await job_in(client, job["id"], "canceled"))["release_pending"] is False


class TestCancelRequestedTasksAreNotRunAgain:
    """A started task of a canceled job is settled by its outcome, never re-offered."""

    async def _canceled_while_running(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> tuple[TestAgent, dict[str, Any], dict[str, Any]]:
        agent, job, echo, canceled = await canceled_while_running(client, inventory, ECHO)
        assert canceled.status_code == 200
        assert (await agent.heartbeat(echo)).json()["cancel"] is True
        return agent, job, echo

    async def _never_offered_again(self, agent: TestAgent, echo: dict[str, Any]) -> None:
        answer = await agent.poll(wait_s=0.3)
        assert [t["id"] for t in answer["tasks"]] == []

    async def test_retryable_error_settles_instead_of_retrying(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        agent, job, echo = await self._canceled_while_running(client, inventory)
        r = await agent.error(echo, "canceled midway", retryable=True, code="canceled")
        assert r.status_code == 200 and r.json()["will_retry"] is False, r.text
        [task] = [t for t in await job_tasks(client, job["id"], "call") if t["id"] == echo["id"]]
        assert task["state"] == "failed" and task["attempt"] == 1
        await self._never_offered_again(agent, echo)

    async def test_release_settles_as_canceled(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        agent, job, echo = await self._canceled_while_running(client, inventory)
        body = {"agent_id": agent.agent_id, "attempt": echo["attempt"], "started": True}
        r = await agent.call(f"/tasks/{echo['id']}/release", body)
        assert r.status_code == 200 and r.json() == {"status": "released", "reoffered": False}
        [task] = [t for t in await job_tasks(client, job["id"], "call") if t["id"] == echo["id"]]
        assert task["state"] == "canceled"
        await self._never_offered_again(agent, echo)
