from __future__ import annotations

import httpx
from foreman_agentkit import TestAgent, start_job, tasks_of
from foreman_fake_inventory import FakeInventory
from foreman_testkit import ShiftedClock, job_in

MODULES = ("sim", "iputils", "ssh")


async def poll_any(agent: TestAgent) -> dict[str, object]:
    body = {
        "agent_id": agent.agent_id,
        "incarnation": agent.incarnation,
        "sites": ["dc1"],
        "modules": {m: {"capacity": 2} for m in MODULES},
        "wait_s": 10,
    }
    r = await agent.call("/poll", body)
    [task] = r.json()["tasks"]
    return task  # type: ignore[no-any-return]


class TestNetwork:
    async def test_ping_and_wait_for_port(
        self, client: httpx.AsyncClient, inventory: FakeInventory, clock: ShiftedClock
    ) -> None:
        agent = TestAgent(client)
        await agent.register(modules=MODULES)
        script = (
            "pct1 = iputils.ping(target='10.0.0.5', count=3)\n"
            "iputils.wait_for_port(target='10.0.0.5', port=22, interval=5)\n"
        )
        job = await start_job(client, inventory, script)
        ping = await poll_any(agent)
        assert (ping["module"], ping["function"]) == ("iputils", "ping")
        assert ping["parameters"] == {"target": "10.0.0.5", "count": 3, "timeout": 1}
        await agent.result(ping, {"percent": 100})
        check = await poll_any(agent)
        assert check["function"] == "port_check"
        await agent.result(check, {"state": "closed"})
        await job_in(client, job["id"], "waiting_delay")
        clock.advance(6)
        again = await poll_any(agent)
        assert again["id"] != check["id"]
        await agent.result(again, {"state": "open"})
        await job_in(client, job["id"], "done")
        state = (await client.get(f"/api/v1/jobs/{job['id']}/state")).json()
        assert state["variables"]["pct1"] == 100

    async def test_ssh_rc_mismatch_is_an_error_and_site_overrides(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        agent = TestAgent(client)
        await agent.register(modules=MODULES)
        script = "out1 = ssh.execute(host='h1', command='false', password='pw')\n"
        job = await start_job(client, inventory, script)
        task = await poll_any(agent)
        assert task["module"] == "ssh" and task["needs_start_ack"] is True
        assert task["parameters"]["password"] == "pw" and "_site" not in task["parameters"]
        await agent.heartbeat(task, "started")
        await agent.result(task, {"rc": 1, "stdout": "", "stderr": "boom"})
        failed = await job_in(client, job["id"], "error")
        assert failed["message"] == "ssh.execute: rc 1 (expected 0): boom"
        [stored] = await tasks_of(client, job["id"])
        assert stored["parameters"]["password"] == "***"

    async def test_site_parameter_routes_the_task(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        job = await start_job(client, inventory, "iputils.ping(target='x', site='dc2')\n")
        await job_in(client, job["id"], "waiting_task")
        [task] = await tasks_of(client, job["id"])
        assert task["site"] == "dc2" and "_site" not in task["parameters"]
