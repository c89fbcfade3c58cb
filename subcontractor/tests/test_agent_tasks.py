"""The real agent against the fake foreman: tasks run, outcomes arrive once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sc_fake_foreman import FakeForeman
from sc_run import Plugins, running
from subcontractor.agent import Agent

MACHINE = {"id": "rack1-u12", "macs": ["02:00:5e:10:00:01"]}
MakeAgent = Callable[..., Agent]


class TestRegistration:
    async def test_registers_with_modules_and_functions(
        self, foreman: FakeForeman, make_agent: MakeAgent
    ) -> None:
        async with running(make_agent()):
            await foreman.wait_until(lambda: bool(foreman.calls("poll")))
        body = foreman.calls("register")[0]
        assert body["name"] == "test-agent"
        assert body["sites"] == ["dc1"]
        assert body["modules"]["sim"]["concurrency"] == 2
        assert "power" in body["modules"]["sim"]["functions"]
        assert body["modules"]["iputils"]["functions"] == ["ping", "port_check"]
        poll = foreman.calls("poll")[0]
        assert poll["agent_id"] == foreman.agent_id
        assert poll["incarnation"] == foreman.incarnation
        assert poll["modules"]["sim"] == {"capacity": 2}
        assert poll["running"] == []
        assert foreman.deregistered


class TestResults:
    async def test_task_runs_once_and_its_result_arrives_once(
        self, foreman: FakeForeman, make_agent: MakeAgent, plugins: Plugins
    ) -> None:
        task = foreman.add_task("sim", "power", {"machine": MACHINE, "state": "on"})
        agent = make_agent()
        async with running(agent):
            await foreman.wait_until(lambda: task.state == "succeeded")
        assert [o["data"] for o in task.outcomes] == [{"state": "on"}]
        assert task.outcomes[0]["attempt"] == 1
        assert "started_at" in task.outcomes[0]
        assert plugins.sim.executions[task.id] == 1
        assert task.repeats == 0
        assert (agent.settings.agent.state_dir / "plugins" / "sim").is_dir()

    async def test_many_tasks_each_run_once(
        self, foreman: FakeForeman, make_agent: MakeAgent, plugins: Plugins
    ) -> None:
        tasks = [foreman.add_task("sim", "echo", {"value": n}) for n in range(12)]
        async with running(make_agent()):
            await foreman.wait_until(lambda: all(t.state == "succeeded" for t in tasks))
        assert [t.outcomes[0]["data"]["value"] for t in tasks] == list(range(12))
        assert all(plugins.sim.executions[t.id] == 1 for t in tasks)
        assert all(len(t.outcomes) == 1 for t in tasks)

    async def test_a_redelivered_task_is_not_run_twice(
        self, foreman: FakeForeman, make_agent: MakeAgent, plugins: Plugins
    ) -> None:
        task = foreman.add_task("gate", "hold", {"key": "redeliver"})
        async with running(make_agent()):
            await foreman.wait_until(lambda: task.id in plugins.gate.started)
            foreman.redeliver.append(task.id)  # as if the poll answer had been lost
            foreman.add_task("sim", "echo", {"value": "wake"})  # wake the held poll
            await foreman.wait_until(lambda: not foreman.redeliver)
            plugins.gate.gate("redeliver").set()
            await foreman.wait_until(lambda: task.state == "succeeded")
        assert plugins.gate.started.count(task.id) == 1
        assert len(task.outcomes) == 1

    async def test_polls_list_held_tasks(
        self, foreman: FakeForeman, make_agent: MakeAgent, plugins: Plugins
    ) -> None:
        task = foreman.add_task("gate", "hold", {"key": "listed"})
        async with running(make_agent()):
            await foreman.wait_until(lambda: task.id in plugins.gate.started)
            foreman.add_task("sim", "echo", {"value": 1})  # answers the poll, so another follows
            await foreman.wait_until(lambda: any(p["running"] for p in foreman.calls("poll")))
            plugins.gate.gate("listed").set()
            await foreman.wait_until(lambda: task.state == "succeeded")
        listed = [p["running"] for p in foreman.calls("poll") if p["running"]]
        assert {"id": task.id, "attempt": 1} in listed[0]


async def polled_with(foreman: FakeForeman, gate: int) -> None:
    """Wait for a poll, sent after now, that offers ``gate`` free slots."""
    mark = len(foreman.calls("poll"))
    foreman.add_task("sim", "echo", {"value": "answers the held poll"})

    def seen() -> bool:
        return any(
            p["modules"].get("gate") == {"capacity": gate} for p in foreman.calls("poll")[mark:]
        )

    await foreman.wait_until(seen)


class TestConcurrency:
    async def test_per_plugin_limit_is_respected(
        self, foreman: FakeForeman, make_agent: MakeAgent, plugins: Plugins
    ) -> None:
        tasks = [foreman.add_task("gate", "hold", {"key": "many"}) for _ in range(5)]
        async with running(make_agent()):
            await foreman.wait_until(lambda: plugins.gate.running == 2)
            pending = [t for t in tasks if t.state == "pending"]
            assert len(pending) == 3  # the agent asked only for its free slots
            assert all(
                p["modules"].get("gate", {"capacity": 0})["capacity"] <= 2
                for p in foreman.calls("poll")
            )
            plugins.gate.gate("many").set()
            await foreman.wait_until(lambda: all(t.state == "succeeded" for t in tasks))
        assert plugins.gate.max_running == 2

    async def test_an_abandoned_thread_keeps_its_slot_until_it_returns(
        self, foreman: FakeForeman, make_agent: MakeAgent, plugins: Plugins
    ) -> None:
        task = foreman.add_task("gate", "stuck", {"key": "hung"}, timeout_s=0.05)
        agent = make_agent()
        async with running(agent):
            await foreman.wait_until(lambda: task.state == "failed")  # timed out, thread still busy
            assert task.outcomes[0]["code"] == "timeout"
            await polled_with(foreman, gate=1)
            plugins.gate.thread_gate("hung").set()  # the thread returns: its slot comes back
            book = agent.runtime.book if agent.runtime else None
            assert book is not None
            await foreman.wait_until(lambda: book.capacity()["gate"] == 2)
            await polled_with(foreman, gate=2)
        assert plugins.gate.stuck_returned == [task.id]
        assert len(task.outcomes) == 1  # the late return is not reported

    async def test_blocking_functions_run_in_worker_threads(
        self, foreman: FakeForeman, make_agent: MakeAgent, plugins: Plugins
    ) -> None:
        task = foreman.add_task("gate", "nap", {"seconds": 0.01})
        async with running(make_agent()):
            await foreman.wait_until(lambda: task.state == "succeeded")
        assert task.outcomes[0]["data"]["main_thread"] is False


def _error(task: Any) -> dict[str, Any]:
    assert len(task.outcomes) == 1
    outcome: dict[str, Any] = task.outcomes[0]
    assert outcome["outcome"] == "error"
    return outcome


class TestErrors:
    async def test_plugin_errors_are_posted_as_errors(
        self, foreman: FakeForeman, make_agent: MakeAgent
    ) -> None:
        fatal = foreman.add_task("sim", "echo", {"value": 1, "fail": "fatal"})
        retry = foreman.add_task("sim", "echo", {"value": 1, "fail": "retryable"})
        async with running(make_agent()):
            await foreman.wait_until(lambda: fatal.state == retry.state == "failed")
        assert _error(fatal)["retryable"] is False
        assert _error(fatal)["code"] == "internal"
        assert _error(retry)["retryable"] is True
        assert _error(retry)["code"] == "unreachable"
        assert "asked to fail" in _error(retry)["message"]
        assert _error(retry)["details"] == {"exception": "PluginError"}

    async def test_bad_parameters_and_unknown_functions(
        self, foreman: FakeForeman, make_agent: MakeAgent, plugins: Plugins
    ) -> None:
        bad = foreman.add_task("sim", "power", {"machine": MACHINE, "state": "sideways"})
        unknown_fn = foreman.add_task("sim", "explode", {})
        unknown_module = foreman.add_task(
            "ipmi",
            "power",
            {},
        )
        async with running(make_agent()):
            await foreman.wait_until(lambda: bad.state == unknown_fn.state == "failed")
        assert _error(bad)["code"] == "invalid_parameters"
        assert _error(bad)["retryable"] is False
        assert _error(unknown_fn)["code"] == "unknown_function"
        assert plugins.sim.executions[bad.id] == 0
        assert unknown_module.state == "pending"  # never offered: we do not declare ipmi

    async def test_timeout_is_a_retryable_timeout(
        self, foreman: FakeForeman, make_agent: MakeAgent
    ) -> None:
        task = foreman.add_task("gate", "hold", {"key": "never"}, timeout_s=0.05)
        async with running(make_agent()):
            await foreman.wait_until(lambda: task.state == "failed")
        assert _error(task)["code"] == "timeout"
        assert _error(task)["retryable"] is True

    async def test_injected_sim_failures(self, foreman: FakeForeman, make_agent: MakeAgent) -> None:
        machine = {**MACHINE, "fail_rate": 1.0, "fail_mode": "abort"}
        task = foreman.add_task("sim", "power_state", {"machine": machine})
        async with running(make_agent()):
            await foreman.wait_until(lambda: task.state == "failed")
        assert _error(task)["code"] == "sim_abort"
