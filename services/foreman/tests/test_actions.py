from __future__ import annotations

from typing import Any

import httpx
import pytest
from foreman_agentkit import TestAgent
from foreman_fake_inventory import FakeInventory
from foreman_testkit import eventually, job_in

PAUSE = "pause(msg='hold')\nafter1 = 1\n"
ECHO = "result1 = sim.echo(value=5)\n"


async def start(client: httpx.AsyncClient, inventory: FakeInventory, script: str) -> dict[str, Any]:
    inventory.add("foundation", "sim1", state="located", scripts={"create": script})
    r = await client.post("/api/v1/foundations/sim1/jobs", json={"script": "create"})
    assert r.status_code == 201, r.text
    job: dict[str, Any] = r.json()
    return job


async def released(client: httpx.AsyncClient, job_id: int) -> None:
    """Wait until the canceled job has released its target (clear is refused until then)."""

    async def probe() -> bool:
        return not (await client.get(f"/api/v1/jobs/{job_id}")).json()["release_pending"]

    await eventually(probe)


async def act(client: httpx.AsyncClient, job_id: int, action: str) -> httpx.Response:
    return await client.post(f"/api/v1/jobs/{job_id}/{action}", json={"message": "why"})


class TestRefusedActions:
    @pytest.mark.parametrize(
        ("action", "allowed"),
        [
            ("reset", ["error"]),
            ("rollback", ["error"]),
            ("resume", ["paused"]),
            ("clear", ["done", "aborted", "canceled"]),
        ],
    )
    async def test_refused_from_waiting_task(
        self, client: httpx.AsyncClient, inventory: FakeInventory, action: str, allowed: list[str]
    ) -> None:
        job = await start(client, inventory, ECHO)
        await job_in(client, job["id"], "waiting_task")
        if action == "clear":
            r = await client.delete(f"/api/v1/jobs/{job['id']}")
        else:
            r = await act(client, job["id"], action)
        assert r.status_code == 409
        problem = r.json()
        assert problem["type"] == "urn:contractor:problem:action-not-allowed"
        assert problem["allowed_from"] == allowed and problem["state"] == "waiting_task"
        log = (await client.get(f"/api/v1/jobs/{job['id']}/log")).json()["items"]
        assert log[-1]["to"] == "waiting_task"

    async def test_pause_and_cancel_refused_when_terminal(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        job = await start(client, inventory, "")
        await job_in(client, job["id"], "done")
        for action in ("pause", "cancel", "resume", "reset"):
            r = await act(client, job["id"], action)
            assert r.status_code == 409, action
            assert r.json()["state"] == "done"

    async def test_unknown_action_is_404(self, client: httpx.AsyncClient) -> None:
        assert (await act(client, 1, "explode")).status_code == 404


class TestPauseResume:
    async def test_script_pause_then_resume_continues(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        job = await start(client, inventory, PAUSE)
        paused = await job_in(client, job["id"], "paused")
        assert paused["origin"] == "script" and paused["message"] == "hold"
        assert paused["actions"] == ["resume", "cancel"]
        r = await act(client, job["id"], "resume")
        assert r.status_code == 200, r.text
        assert (await job_in(client, job["id"], "done"))["state"] == "done"

    async def test_operator_pause_restores_waiting_task(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        agent = TestAgent(client)
        await agent.register()
        job = await start(client, inventory, ECHO)
        task = await agent.next_task()
        r = await act(client, job["id"], "pause")
        assert r.json()["state"] == "paused" and r.json()["origin"] == "operator"
        r = await act(client, job["id"], "resume")
        assert r.json()["state"] == "waiting_task"
        await agent.result(task, {"value": 5})
        assert (await job_in(client, job["id"], "done"))["state"] == "done"

    async def test_result_during_pause_is_consumed_after_resume(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        agent = TestAgent(client)
        await agent.register()
        job = await start(client, inventory, ECHO)
        task = await agent.next_task()
        await act(client, job["id"], "pause")
        assert (await agent.result(task, {"value": 5})).json()["status"] == "recorded"
        assert (await client.get(f"/api/v1/jobs/{job['id']}")).json()["state"] == "paused"
        r = await act(client, job["id"], "resume")
        assert r.json()["state"] == "running"
        assert (await job_in(client, job["id"], "done"))["state"] == "done"


class TestErrorActions:
    async def test_script_error_reset_continues_after_it(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        job = await start(client, inventory, "error(msg='bad')\nafter1 = 2\n")
        failed = await job_in(client, job["id"], "error")
        assert failed["origin"] == "script" and failed["message"] == "bad"
        assert (await act(client, job["id"], "reset")).status_code == 200
        assert (await job_in(client, job["id"], "done"))["state"] == "done"

    async def test_rollback_of_script_error_behaves_as_reset(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        job = await start(client, inventory, "error(msg='bad')\n")
        await job_in(client, job["id"], "error")
        assert (await act(client, job["id"], "rollback")).status_code == 200
        assert (await job_in(client, job["id"], "done"))["state"] == "done"

    async def test_rollback_noop_call_retries(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        agent = TestAgent(client)
        await agent.register()
        job = await start(client, inventory, "foundation.power_on()\n")
        task = await agent.next_task()
        assert (task["module"], task["function"], task["parameters"]["state"]) == (
            "sim",
            "power",
            "on",
        )
        await agent.error(task, "bmc says no")
        await job_in(client, job["id"], "error")
        assert (await act(client, job["id"], "rollback")).status_code == 200
        retry = await agent.next_task()
        assert retry["id"] != task["id"]
        await agent.result(retry, {"state": "on"})
        assert (await job_in(client, job["id"], "done"))["state"] == "done"

    async def test_rollback_task_runs_then_call_restarts(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        agent = TestAgent(client)
        await agent.register()
        job = await start(client, inventory, "vm1 = sim.create(vm_spec={name='vm1'})\n")
        task = await agent.next_task()
        await agent.heartbeat(task, "started")
        await agent.error(task, "half made")
        await job_in(client, job["id"], "error")
        assert (await act(client, job["id"], "rollback")).status_code == 200
        undo = await agent.next_task()
        assert undo["function"] == "destroy"
        await agent.result(undo, {"destroyed": True})
        again = await agent.next_task()
        assert again["function"] == "create"
        await agent.heartbeat(again, "started")
        await agent.result(again, {"id": "vm-1"})
        assert (await job_in(client, job["id"], "done"))["state"] == "done"

    async def test_aborted_job_releases_the_slot(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        job = await start(client, inventory, "fatal_error(msg='no way')\n")
        aborted = await job_in(client, job["id"], "aborted")
        assert aborted["message"] == "no way" and aborted["actions"] == ["clear"]
        target = inventory.targets[("foundation", "sim1")]

        async def released() -> bool:
            return target.slot is None

        from foreman_testkit import eventually

        await eventually(released)
        assert ("release", "sim1", job["id"]) in inventory.calls


class TestCancelClear:
    async def test_cancel_then_clear_keeps_the_log(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        job = await start(client, inventory, PAUSE)
        await job_in(client, job["id"], "paused")
        r = await act(client, job["id"], "cancel")
        assert r.status_code == 200 and r.json()["state"] == "canceled"
        await released(client, job["id"])
        r = await client.delete(f"/api/v1/jobs/{job['id']}")
        assert r.status_code == 204
        assert (await client.get(f"/api/v1/jobs/{job['id']}")).status_code == 404
        log = (await client.get(f"/api/v1/jobs/{job['id']}/log")).json()["items"]
        assert [e["action"] for e in log][-2:] == ["cancel", "clear"]

    async def test_a_new_job_never_takes_a_cleared_jobs_id(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        job = await start(client, inventory, PAUSE)
        await job_in(client, job["id"], "paused")
        await act(client, job["id"], "cancel")
        await released(client, job["id"])
        assert (await client.delete(f"/api/v1/jobs/{job['id']}")).status_code == 204
        r = await client.post("/api/v1/foundations/sim1/jobs", json={"script": "create"})
        assert r.status_code == 201, r.text
        assert r.json()["id"] > job["id"]  # the newest job's id, cleared, is not handed out again
        log = (await client.get(f"/api/v1/jobs/{job['id']}/log")).json()["items"]
        assert [e["action"] for e in log][-1] == "clear"  # the old log is not mixed with the new

    async def test_new_job_after_cancel(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        job = await start(client, inventory, PAUSE)
        await job_in(client, job["id"], "paused")
        await act(client, job["id"], "cancel")
        target = inventory.targets[("foundation", "sim1")]

        async def created() -> bool:
            r = await client.post("/api/v1/foundations/sim1/jobs", json={"script": "create"})
            return r.status_code == 201

        from foreman_testkit import eventually

        await eventually(created)
        assert target.slot is not None and target.slot != job["id"]


class TestManualFoundation:
    async def test_power_on_pauses_and_resume_completes(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        script = "state1 = foundation.power_on()\nstate2 = foundation.power_state()\n"
        inventory.add(
            "foundation", "m1", state="located", ftype="manual", scripts={"create": script}
        )
        job = (await client.post("/api/v1/foundations/m1/jobs", json={"script": "create"})).json()
        paused = await job_in(client, job["id"], "paused")
        assert paused["origin"] == "call"
        assert paused["message"] == "Set power of m1 to on then resume"
        assert (await act(client, job["id"], "resume")).status_code == 200
        await job_in(client, job["id"], "done")
        state = (await client.get(f"/api/v1/jobs/{job['id']}/state")).json()
        assert state["variables"] == {"state1": "on", "state2": "unknown"}


class TestRetention:
    async def test_old_done_job_expires_but_recent_stays(
        self, client: httpx.AsyncClient, app: Any, inventory: FakeInventory, clock: Any
    ) -> None:
        from contractor.foreman.loops import retention

        job = await start(client, inventory, "")
        await job_in(client, job["id"], "done")
        state = app.state
        assert await retention.expire_once(state.sessions, state.runtime) == 0
        clock.advance(8 * 86400)
        assert await retention.expire_once(state.sessions, state.runtime) == 1
        assert (await client.get(f"/api/v1/jobs/{job['id']}")).status_code == 404
        log = (await client.get(f"/api/v1/jobs/{job['id']}/log")).json()["items"]
        assert log[-1]["action"] == "expire"

    async def test_canceled_job_still_releasing_its_slot_is_kept(
        self, client: httpx.AsyncClient, app: Any, inventory: FakeInventory, clock: Any
    ) -> None:
        from contractor.foreman.loops import retention

        inventory.unavailable = 10_000  # inventory is away: the slot release keeps retrying
        job = await start(client, inventory, PAUSE)
        await job_in(client, job["id"], "paused")
        await act(client, job["id"], "cancel")
        clock.advance(31 * 86400)
        state = app.state
        assert await retention.expire_once(state.sessions, state.runtime) == 0
        after = (await client.get(f"/api/v1/jobs/{job['id']}")).json()
        assert after["state"] == "canceled" and after["release_pending"] is True
        inventory.unavailable = 0
        await released(client, job["id"])
        assert await retention.expire_once(state.sessions, state.runtime) == 1
