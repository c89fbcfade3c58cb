"""The agent through an HTTP proxy, and its graceful shutdown (in process)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
from sc_fake_foreman import FakeForeman
from sc_proxy import ForwardingProxy
from sc_run import Plugins, running
from subcontractor.agent import Agent

MakeAgent = Callable[..., Agent]


@pytest.fixture
async def proxy() -> AsyncIterator[ForwardingProxy]:
    forwarding = ForwardingProxy()
    await forwarding.start()
    yield forwarding
    await forwarding.stop()


class TestProxy:
    async def test_all_traffic_goes_through_the_configured_proxy(
        self, foreman: FakeForeman, make_agent: MakeAgent, proxy: ForwardingProxy, plugins: Plugins
    ) -> None:
        task = foreman.add_task("sim", "power", {"machine": {"id": "m1"}, "state": "on"})
        async with running(make_agent(proxy=proxy.url)):
            await foreman.wait_until(lambda: task.state == "succeeded")
        urls = [url for _, url in proxy.seen]
        base = f"{foreman.url}/agent/v1"
        assert f"{base}/register" in urls
        assert f"{base}/poll" in urls
        assert f"{base}/tasks/{task.id}/result" in urls
        assert f"{base}/deregister" in urls
        assert len(urls) == len(foreman.requests)  # nothing reached foreman directly
        assert plugins.sim.executions[task.id] == 1


class TestGracefulShutdown:
    async def test_running_tasks_finish_within_the_grace(
        self, foreman: FakeForeman, make_agent: MakeAgent, plugins: Plugins
    ) -> None:
        task = foreman.add_task("gate", "hold", {"key": "finish"})
        agent = make_agent(grace=30)
        async with running(agent):
            await foreman.wait_until(lambda: task.id in plugins.gate.started)
            agent.request_stop()
            await foreman.wait_until(lambda: bool(foreman.calls("poll")))
            plugins.gate.gate("finish").set()  # finishes during the grace
            await foreman.wait_until(lambda: foreman.deregistered)
        assert task.state == "succeeded"
        assert task.releases == []
        routes = [name for name, _ in foreman.requests]
        assert routes[-1] == "deregister"

    async def test_tasks_still_running_after_the_grace_are_released(
        self, foreman: FakeForeman, make_agent: MakeAgent, plugins: Plugins
    ) -> None:
        task = foreman.add_task("gate", "hold", {"key": "forever"})
        agent = make_agent(grace=0)
        async with running(agent):
            await foreman.wait_until(lambda: task.id in plugins.gate.started)
            agent.request_stop()
            await foreman.wait_until(lambda: foreman.deregistered)
        assert task.outcomes == []
        assert task.releases == [
            {
                "agent_id": foreman.agent_id,
                "attempt": 1,
                "started": True,
                "reason": "shutdown",
            }
        ]
        assert task.id in plugins.gate.cancelled

    async def test_unstarted_tasks_are_released_as_not_started(
        self, foreman: FakeForeman, make_agent: MakeAgent, plugins: Plugins
    ) -> None:
        foreman.fail_next("heartbeat", *["drop"] * 100_000)  # the start ack never gets through
        task = foreman.add_task(
            "sim", "create", {"name": "vm"}, idempotent=False, needs_start_ack=True
        )
        agent = make_agent(grace=0)
        async with running(agent):
            await foreman.wait_until(lambda: len(foreman.calls("heartbeat")) >= 2)
            agent.request_stop()
            await foreman.wait_until(lambda: foreman.deregistered)
        assert [r["started"] for r in task.releases] == [False]
        assert plugins.sim.executions[task.id] == 0
