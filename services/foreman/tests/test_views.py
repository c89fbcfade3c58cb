from __future__ import annotations

import httpx
from foreman_agentkit import ECHO, TestAgent, start_job
from foreman_fake_inventory import FakeInventory
from foreman_testkit import ShiftedClock, job_in


async def test_timeline_and_task_queue(client: httpx.AsyncClient, inventory: FakeInventory) -> None:
    agent = TestAgent(client)
    await agent.register()
    inventory.add(
        "foundation", "sim1", state="located", scripts={"create": "foundation.power_on()\n"}
    )
    job = (await client.post("/api/v1/foundations/sim1/jobs", json={"script": "create"})).json()
    task = await agent.next_task()
    queue = (await client.get("/api/v1/tasks", params={"state": "leased"})).json()["items"]
    assert [t["id"] for t in queue] == [task["id"]]
    assert queue[0]["parameters"]["machine"]["credentials"] == "***"
    assert queue[0]["agent_id"] == agent.agent_id
    await agent.result(task, {"state": "on"})
    await job_in(client, job["id"], "done")
    timeline = (await client.get(f"/api/v1/jobs/{job['id']}/timeline")).json()
    marks = [m["mark"] for m in timeline["marks"]]
    assert marks == [
        "job.created",
        "job.started",
        "task.created",
        "task.delivered",
        "task.settled",
        "power.on",  # the power task reported on
        "job.finished",
    ]
    assert timeline["marks"][2]["detail"]["function"] == "power"
    assert timeline["marks"][3]["detail"] == {"task_id": task["id"], "attempt": 1, "agent": "a1"}
    assert timeline["marks"][4]["detail"] == {
        "task_id": task["id"],
        "state": "succeeded",
        "attempt": 1,
    }
    times = [m["at"] for m in timeline["marks"]]
    assert times == sorted(times)


async def test_timeline_marks_each_delivery_of_a_retried_task(
    client: httpx.AsyncClient, inventory: FakeInventory, clock: ShiftedClock
) -> None:
    agent = TestAgent(client)
    await agent.register()
    job = await start_job(client, inventory, ECHO)
    task = await agent.next_task()
    await agent.error(task, "busy", retryable=True, code="timeout")
    clock.advance(10)
    retry = await agent.next_task()
    await agent.result(retry, {"value": 5})
    await job_in(client, job["id"], "done")
    marks = (await client.get(f"/api/v1/jobs/{job['id']}/timeline")).json()["marks"]
    tasks = [
        (m["mark"], m["detail"].get("attempt")) for m in marks if m["mark"].startswith("task.")
    ]
    assert tasks == [
        ("task.created", None),
        ("task.delivered", 1),
        ("task.delivered", 2),
        ("task.settled", 2),
    ]
    first, second = (m["at"] for m in marks if m["mark"] == "task.delivered")
    assert second > first  # the second delivery came after the clock moved on


async def test_state_view_redacts(client: httpx.AsyncClient, inventory: FakeInventory) -> None:
    script = "password1 = 'x'\nconf1 = {password='hunter2', user='u'}\npause(msg='look')\n"
    inventory.add("foundation", "sim1", state="located", scripts={"create": script})
    job = (await client.post("/api/v1/foundations/sim1/jobs", json={"script": "create"})).json()
    await job_in(client, job["id"], "paused")
    state = (await client.get(f"/api/v1/jobs/{job['id']}/state")).json()
    assert state["variables"]["password1"] == "***"
    assert state["variables"]["conf1"] == {"password": "***", "user": "u"}
    assert state["line"] == 3 and state["script"] == script


async def test_metrics(client: httpx.AsyncClient, inventory: FakeInventory) -> None:
    inventory.add("foundation", "sim1", state="located")
    job = (await client.post("/api/v1/foundations/sim1/jobs", json={"script": "create"})).json()
    await job_in(client, job["id"], "done")
    r = await client.get("/metrics", headers={"Authorization": ""})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert 'contractor_foreman_jobs{state="done"} 1.0' in text
    assert 'contractor_foreman_job_transitions_total{from="running",to="done"} 1.0' in text
    assert "contractor_foreman_steps_total" in text


async def test_secrets_are_sealed_at_rest_and_opened_for_the_agent(
    client: httpx.AsyncClient, app: object, inventory: FakeInventory
) -> None:
    from contractor.foreman import orm
    from sqlalchemy import select

    agent = TestAgent(client)
    await agent.register()
    inventory.add(
        "foundation", "sim1", state="located", scripts={"create": "foundation.power_on()\n"}
    )
    job = (await client.post("/api/v1/foundations/sim1/jobs", json={"script": "create"})).json()
    task = await agent.next_task()
    assert task["parameters"]["machine"]["credentials"] == {"password": "s3cret"}
    async with app.state.sessions() as session:  # type: ignore[attr-defined]
        stored = await session.scalar(select(orm.Task).where(orm.Task.id == task["id"]))
        row = await session.get(orm.Job, job["id"])
    assert stored is not None and row is not None
    assert set(stored.parameters["machine"]["credentials"]) == {"$secret"}
    assert "s3cret" not in str(row.snapshot) and "s3cret" not in str(row.interp)
