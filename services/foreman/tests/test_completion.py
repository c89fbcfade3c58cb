from __future__ import annotations

import httpx
from foreman_fake_inventory import FakeInventory
from foreman_testkit import job_in


class TestCompletion:
    async def test_refused_completion_is_an_error_and_reset_retries(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        target = inventory.add("foundation", "sim1", state="located", refuse_complete=True)
        job = (await client.post("/api/v1/foundations/sim1/jobs", json={"script": "create"})).json()
        failed = await job_in(client, job["id"], "error", "done")
        assert failed["state"] == "error" and failed["origin"] == "internal"
        assert failed["message"] == "refused by the fake"
        target.refuse_complete = False
        assert (await client.post(f"/api/v1/jobs/{job['id']}/reset")).status_code == 200
        done = await job_in(client, job["id"], "done")
        assert done["progress"]["percent"] == 100.0
        assert target.state == "built"

    async def test_unavailable_inventory_is_retried(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        target = inventory.add("foundation", "sim1", state="located")
        inventory.unavailable = 1
        job = (await client.post("/api/v1/foundations/sim1/jobs", json={"script": "create"})).json()
        assert (await job_in(client, job["id"], "done"))["state"] == "done"
        assert target.state == "built"
        states = [c for c in inventory.calls if c[0] == "state"]
        assert len(states) == 2

    async def test_destroy_goes_to_planned(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        target = inventory.add("structure", "9", state="built")
        job = (await client.post("/api/v1/structures/9/jobs", json={"script": "destroy"})).json()
        assert job["kind"] == "destroy"
        assert (await job_in(client, job["id"], "done"))["state"] == "done"
        assert target.state == "planned"

    async def test_utility_job_releases_the_slot(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        target = inventory.add("structure", "9", state="built", scripts={"check": "x1 = 1\n"})
        job = (await client.post("/api/v1/structures/9/jobs", json={"script": "check"})).json()
        assert job["kind"] == "utility"
        assert (await job_in(client, job["id"], "done"))["state"] == "done"
        assert target.state == "built" and target.slot is None
        assert ("release", "9", job["id"]) in inventory.calls

    async def test_delay_waits_then_finishes(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        inventory.add(
            "foundation", "sim1", state="located", scripts={"create": "delay(seconds=1)\n"}
        )
        job = (await client.post("/api/v1/foundations/sim1/jobs", json={"script": "create"})).json()
        waiting = await job_in(client, job["id"], "waiting_delay", "done")
        if waiting["state"] == "waiting_delay":
            assert waiting["wait"]["kind"] == "delay"
        assert (await job_in(client, job["id"], "done"))["state"] == "done"


class TestWrites:
    async def test_setter_and_set_pxe_reach_inventory_before_the_next_task(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        from foreman_agentkit import TestAgent

        agent = TestAgent(client)
        await agent.register()
        script = (
            "foundation.sim_id = 'vm-9'\n"
            "seen1 = foundation.sim_id\n"
            "dhcp.set_pxe(interface='eth0', pxe='installer')\n"
            "foundation.power_on()\n"
        )
        target = inventory.add("foundation", "sim1", state="located", scripts={"create": script})
        job = (await client.post("/api/v1/foundations/sim1/jobs", json={"script": "create"})).json()
        task = await agent.next_task()
        assert target.values == {"sim_id": "vm-9"} and target.pxe == {77: "installer"}
        [(_, _, batch)] = [c for c in inventory.calls if c[0] == "writes"]
        assert [w["op"] for w in batch["writes"]] == ["set_value", "set_pxe"]
        assert batch["writes"][0]["target"] == {"kind": "foundation", "key": "sim1"}
        await agent.result(task, {"state": "on"})
        await job_in(client, job["id"], "done")
        state = (await client.get(f"/api/v1/jobs/{job['id']}/state")).json()
        assert state["variables"]["seen1"] == "vm-9"

    async def test_rejected_writes_error_and_reset_resends(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        target = inventory.add(
            "foundation",
            "sim1",
            state="located",
            scripts={"create": "foundation.sim_id = 'x'\n"},
            reject_writes=True,
        )
        job = (await client.post("/api/v1/foundations/sim1/jobs", json={"script": "create"})).json()
        failed = await job_in(client, job["id"], "error")
        assert failed["origin"] == "call"
        assert failed["message"] == "writes rejected by inventory: no such attribute"
        target.reject_writes = False
        assert (await client.post(f"/api/v1/jobs/{job['id']}/reset")).status_code == 200
        await job_in(client, job["id"], "done")
        assert target.values == {"sim_id": "x"} and target.state == "built"

    async def test_bad_pxe_name_aborts(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        script = "dhcp.set_pxe(interface='eth0', pxe='nope')\n"
        inventory.add("foundation", "sim1", state="located", scripts={"create": script})
        job = (await client.post("/api/v1/foundations/sim1/jobs", json={"script": "create"})).json()
        aborted = await job_in(client, job["id"], "aborted")
        assert "no PXE named 'nope'" in aborted["message"]


async def test_completion_uses_the_targets_current_state(
    client: httpx.AsyncClient, inventory: FakeInventory
) -> None:
    target = inventory.add(
        "foundation", "sim1", state="planned", scripts={"create": "pause(msg='x')\n"}
    )
    job = (await client.post("/api/v1/foundations/sim1/jobs", json={"script": "create"})).json()
    await job_in(client, job["id"], "paused")
    target.state = "located"  # discovery located it while the job ran (decision 1)
    await client.post(f"/api/v1/jobs/{job['id']}/resume")
    assert (await job_in(client, job["id"], "done", "error"))["state"] == "done"
    assert target.state == "built"
