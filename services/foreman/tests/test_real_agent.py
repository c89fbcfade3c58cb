"""The real subcontractor agent (sim plugin) runs a job to done against foreman over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import uvicorn
from contractor.foreman import orm
from contractor.foreman.main import create_app
from contractor.servicekit import testing
from foreman_fake_inventory import FakeInventory, free_port
from foreman_testkit import auth, job_in, make_settings
from subcontractor.agent.daemon import Agent
from subcontractor.registry import build_plugins, discover
from subcontractor.retry import Pacing
from subcontractor.settings import Settings as AgentSettings

SCRIPT = """value1 = sim.echo(value=7)
foundation.power_on()
state1 = foundation.power_state()
if state1 != 'on' then error(msg='not on')
"""


@pytest.fixture
async def served_foreman(database_url: str, inventory: FakeInventory) -> AsyncIterator[str]:
    await testing.wipe_tables(database_url, orm.Base.metadata)
    port = free_port()
    app = create_app(make_settings(database_url, inventory.url))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    serving = asyncio.create_task(server.serve())
    for _ in range(500):  # bounded: at most ~5 s
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started, "foreman did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await asyncio.wait_for(serving, 20)


async def test_real_agent_runs_a_job_to_done(
    served_foreman: str, inventory: FakeInventory, tmp_path: Path
) -> None:
    settings = AgentSettings(
        foreman={"url": served_foreman, "token": "agent-token"},
        agent={
            "name": "real-sim",
            "sites": ["dc1"],
            "state_dir": tmp_path / "state",
            "poll_wait_s": 5,
            "shutdown_grace_s": 5,
        },
        plugins={"sim": {}},
    )
    agent = Agent(settings, build_plugins(settings, discover()), Pacing.zero())
    running = asyncio.create_task(agent.run())
    target = inventory.add("foundation", "sim1", state="located", scripts={"create": SCRIPT})
    try:
        async with httpx.AsyncClient(base_url=served_foreman, headers=auth("operator-token")) as c:
            r = await c.post("/api/v1/foundations/sim1/jobs", json={"script": "create"})
            assert r.status_code == 201, r.text
            job = await job_in(c, r.json()["id"], "done", "error", "aborted")
            assert job["state"] == "done", job
            state = (await c.get(f"/api/v1/jobs/{job['id']}/state")).json()
            assert state["variables"] == {"value1": 7, "state1": "on"}
            agents = (await c.get("/api/v1/agents")).json()["items"]
            assert [a["name"] for a in agents] == ["real-sim"]
    finally:
        agent.request_stop()
        await asyncio.wait_for(running, 30)
    assert target.state == "built"
