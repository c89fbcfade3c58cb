"""Foreman's log lines (spec §12.2): state changes, lost tasks and refused agent requests."""

from __future__ import annotations

import logging

import httpx
import pytest
from contractor.foreman.loops import reaper
from fastapi import FastAPI
from foreman_agentkit import CREATE, ECHO, TestAgent, start_job
from foreman_fake_inventory import FakeInventory
from foreman_testkit import ShiftedClock, job_in


def _records(caplog: pytest.LogCaptureFixture, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == name]


async def test_state_changes_are_logged_at_info_with_the_job(
    client: httpx.AsyncClient, inventory: FakeInventory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="contractor")
    agent = TestAgent(client)
    await agent.register()
    job = await start_job(client, inventory, ECHO)
    task = await agent.next_task()
    await agent.result(task, {"value": 5})
    await job_in(client, job["id"], "done")
    changes = [
        r
        for r in _records(caplog, "contractor.foreman.store.jobs")
        if getattr(r, "job_id", None) == job["id"]
    ]
    assert all(r.levelno == logging.INFO for r in changes)
    moves = [r.getMessage().split(": ", 1)[1].split(" (")[0] for r in changes]
    log = (await client.get(f"/api/v1/jobs/{job['id']}/log")).json()["items"]
    logged = [f"{e['from']} -> {e['to']}" for e in log if e["to"]]
    assert moves == logged  # one line per state change, in order
    assert moves[-1].endswith("-> done") and "waiting_task -> running" in moves


async def test_a_lost_task_is_logged_as_a_warning(
    client: httpx.AsyncClient,
    app: FastAPI,
    inventory: FakeInventory,
    clock: ShiftedClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="contractor")
    agent = TestAgent(client)
    await agent.register()
    job = await start_job(client, inventory, CREATE)
    task = await agent.next_task()
    await agent.heartbeat(task, "started")
    clock.advance(61)
    await reaper.reap_once(app.state.sessions, app.state.runtime)
    await job_in(client, job["id"], "error")
    [lost] = _records(caplog, "contractor.foreman.runner.settle")
    assert lost.levelno == logging.WARNING and "task lost: a1" in lost.getMessage()
    assert (getattr(lost, "task_id", None), getattr(lost, "job_id", None)) == (
        task["id"],
        job["id"],
    )
    assert getattr(lost, "task_module", None) == "sim"


async def test_refused_agent_requests_are_logged(
    client: httpx.AsyncClient, inventory: FakeInventory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="contractor")
    agent = TestAgent(client)
    await agent.register()
    await start_job(client, inventory, ECHO)
    task = await agent.next_task()
    r = await agent.result(task, {"value": 5}, attempt=2)
    assert r.status_code == 409
    r = await agent.call(
        "/results",
        {"agent_id": agent.agent_id, "items": [{"task_id": task["id"], "attempt": 9,
                                                "outcome": "result", "data": {}}]},
    )  # fmt: skip
    assert r.json()["items"][0]["status"] == "rejected"
    refused = [
        r.getMessage()
        for r in caplog.records
        if r.levelno >= logging.INFO and "refused" in r.getMessage()
    ]
    assert refused == [
        f"refused POST /agent/v1/tasks/{task['id']}/result: 409 stale-attempt",
        f"refused outcome of task {task['id']}: stale-attempt",
    ]
