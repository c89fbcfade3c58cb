"""Prometheus metrics: the text page, and the agent serving it on metrics_listen."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from sc_fake_foreman import FakeForeman
from sc_http import problem
from sc_run import running
from subcontractor.agent import Agent
from subcontractor.metrics import Metrics

MakeAgent = Callable[..., Agent]


class TestRender:
    def test_histograms_counters_and_gauges(self) -> None:
        metrics = Metrics()
        metrics.task_done("sim", "power", "result", 0.02)
        metrics.task_done("sim", "power", "result", 3.0)
        metrics.poll_seconds.observe(0.5)
        metrics.foreman_error("retry")
        page = metrics.render({"sim": 1, "iputils": 0}, spool_items=2)
        labels = 'module="sim",function="power",outcome="result"'
        assert f'contractor_agent_task_seconds_bucket{{{labels},le="0.025"}} 1' in page
        assert f'contractor_agent_task_seconds_bucket{{{labels},le="5.0"}} 2' in page
        assert f'contractor_agent_task_seconds_bucket{{{labels},le="+Inf"}} 2' in page
        assert f"contractor_agent_task_seconds_count{{{labels}}} 2" in page
        assert 'contractor_agent_poll_seconds_bucket{le="0.5"} 1' in page
        assert "contractor_agent_poll_seconds_count 1" in page
        assert 'contractor_agent_tasks_running{module="sim"} 1' in page
        assert 'contractor_agent_foreman_errors_total{class="retry"} 1' in page
        assert "contractor_agent_spool_items 2" in page


class TestServed:
    async def test_the_agent_serves_its_metrics(
        self, foreman: FakeForeman, make_agent: MakeAgent
    ) -> None:
        foreman.fail_next("poll", problem(503, "unavailable"))
        task = foreman.add_task("sim", "echo", {"value": 1})
        agent = make_agent(metrics_listen="127.0.0.1:0")
        async with running(agent):
            await foreman.wait_until(
                lambda: task.state == "succeeded" and agent.metrics_port is not None
            )
            async with httpx.AsyncClient(trust_env=False) as client:
                base = f"http://127.0.0.1:{agent.metrics_port}"
                page = (await client.get(f"{base}/metrics")).text
                missing = await client.get(f"{base}/other")
        assert (
            'contractor_agent_task_seconds_count{module="sim",function="echo",outcome="result"} 1'
            in page
        )
        assert 'contractor_agent_foreman_errors_total{class="retry"} 1' in page
        assert 'contractor_agent_tasks_running{module="gate"} 0' in page
        assert missing.status_code == 404
