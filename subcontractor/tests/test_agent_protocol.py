"""The real agent against the fake foreman: leases, acknowledgements, cancels, failures, retries."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from sc_fake_foreman import FakeForeman, FakeTask
from sc_http import problem
from sc_run import Plugins, running
from subcontractor.agent import Agent
from subcontractor.retry import Pacing
from subcontractor.spool import Spool
from subcontractor.wire import Outcome

MakeAgent = Callable[..., Agent]


@dataclass
class RecordingPacing(Pacing):
    """Zero waits, but remembers every backoff asked for."""

    asked: list[int] = field(default_factory=list)

    def backoff(self, failures: int) -> float:
        self.asked.append(failures)
        return 0.0


def recording() -> RecordingPacing:
    return RecordingPacing(backoff_base_s=0, backoff_cap_s=0, reauth_wait_s=0, heartbeat_s=0.05)


class TestHeartbeats:
    async def test_heartbeats_keep_the_lease_of_a_running_task(
        self, foreman: FakeForeman, make_agent: MakeAgent, plugins: Plugins
    ) -> None:
        task = foreman.add_task("gate", "hold", {"key": "beat"})
        async with running(make_agent()):
            await foreman.wait_until(lambda: len(task.heartbeats) >= 3)
            plugins.gate.gate("beat").set()
            await foreman.wait_until(lambda: task.state == "succeeded")
        assert all(beat["phase"] == "running" for beat in task.heartbeats)
        assert all(beat["attempt"] == 1 for beat in task.heartbeats)
        assert all(beat["incarnation"] == foreman.incarnation for beat in task.heartbeats)
        progress = [beat["progress"] for beat in task.heartbeats if "progress" in beat]
        assert progress[0] == {"message": "holding beat", "percent": 50}

    async def test_a_task_outliving_its_lease_keeps_it_by_heartbeats(
        self, foreman: FakeForeman, make_agent: MakeAgent, plugins: Plugins
    ) -> None:
        foreman.lease_s = 1.0  # twenty heartbeat intervals
        task = foreman.add_task("gate", "hold", {"key": "long"})
        async with running(make_agent()):
            await foreman.wait_until(lambda: len(task.heartbeats) >= 30)  # well past one lease
            plugins.gate.gate("long").set()
            await foreman.wait_until(lambda: task.state == "succeeded")
        assert task.expired == 0
        assert task.outcomes[0]["attempt"] == 1

    async def test_without_heartbeats_the_lease_expires_and_the_late_result_is_dropped(
        self, foreman: FakeForeman, make_agent: MakeAgent, plugins: Plugins
    ) -> None:
        foreman.lease_s = 0.1
        task = foreman.add_task("gate", "hold", {"key": "late"})
        pacing = recording()
        pacing.heartbeat_s = 3600  # never beats
        agent = make_agent(pacing)
        async with running(agent):
            await foreman.wait_until(lambda: task.expired >= 1)
            await foreman.wait_until(lambda: task.deliveries >= 2)  # attempt 2 offered to us
            plugins.gate.gate("late").set()
            await foreman.wait_until(lambda: bool(foreman.calls("result")))
            await foreman.wait_until(
                lambda: agent.runtime is not None and not agent.runtime.book.held
            )
        assert task.outcomes == []  # attempt 1's result came too late
        assert plugins.gate.started.count(task.id) == 1  # the redelivery was not run again
        assert Spool(agent.settings.agent.state_dir).load() == []

    async def test_a_refused_heartbeat_stops_the_task_and_reports_nothing(
        self, foreman: FakeForeman, make_agent: MakeAgent, plugins: Plugins
    ) -> None:
        task = foreman.add_task("gate", "hold", {"key": "stale"})
        async with running(make_agent()):
            await foreman.wait_until(lambda: task.id in plugins.gate.started)
            task.attempt, task.state = 2, "leased elsewhere"  # our attempt is stale
            await foreman.wait_until(lambda: task.id in plugins.gate.cancelled)
            await foreman.wait_until(lambda: plugins.gate.running == 0)
        assert task.outcomes == []
        assert task.releases == []


class TestStartAcknowledgement:
    async def test_runs_only_after_the_started_heartbeat(
        self, foreman: FakeForeman, make_agent: MakeAgent, plugins: Plugins
    ) -> None:
        task = foreman.add_task(
            "sim", "create", {"name": "vm1"}, idempotent=False, needs_start_ack=True
        )
        async with running(make_agent()):
            await foreman.wait_until(lambda: task.state == "succeeded")
        assert task.heartbeats[0]["phase"] == "started"
        assert plugins.sim.executions[task.id] == 1
        assert task.outcomes[0]["data"]["id"] == "vm1"

    async def test_a_refused_start_is_never_run(
        self, foreman: FakeForeman, make_agent: MakeAgent, plugins: Plugins
    ) -> None:
        task = foreman.add_task(
            "sim",
            "create",
            {"name": "vm2"},
            idempotent=False,
            needs_start_ack=True,
            refuse_start=True,
        )
        after = foreman.add_task("sim", "echo", {"value": "after"})
        async with running(make_agent()):
            await foreman.wait_until(lambda: after.state == "succeeded" and bool(task.heartbeats))
        assert plugins.sim.executions[task.id] == 0
        assert task.outcomes == []

    async def test_start_ack_is_retried_through_server_errors(
        self, foreman: FakeForeman, make_agent: MakeAgent, plugins: Plugins
    ) -> None:
        foreman.fail_next("heartbeat", problem(503, "unavailable"), "drop")
        pacing = recording()
        task = foreman.add_task(
            "sim", "create", {"name": "vm3"}, idempotent=False, needs_start_ack=True
        )
        async with running(make_agent(pacing)):
            await foreman.wait_until(lambda: task.state == "succeeded")
        assert plugins.sim.executions[task.id] == 1
        assert pacing.asked[:2] == [1, 2]


class TestCancel:
    async def test_a_poll_cancel_stops_the_task_and_reports_canceled(
        self, foreman: FakeForeman, make_agent: MakeAgent, plugins: Plugins
    ) -> None:
        task = foreman.add_task("gate", "hold", {"key": "cancel"})
        async with running(make_agent()):
            await foreman.wait_until(lambda: task.id in plugins.gate.started)
            foreman.cancel(task.id)
            await foreman.wait_until(lambda: task.state == "failed")
        assert task.outcomes[0]["code"] == "canceled"
        assert task.outcomes[0]["retryable"] is False
        assert task.id in plugins.gate.cancelled


class TestRetries:
    async def test_result_posts_are_retried_until_acknowledged(
        self, foreman: FakeForeman, make_agent: MakeAgent, plugins: Plugins
    ) -> None:
        foreman.fail_next("result", problem(503, "unavailable"), "drop", problem(429, "slow-down"))
        pacing = recording()
        task = foreman.add_task("sim", "echo", {"value": 7})
        async with running(make_agent(pacing)):
            await foreman.wait_until(lambda: task.state == "succeeded")
        assert len(foreman.calls("result")) == 4
        assert len(task.outcomes) == 1
        assert plugins.sim.executions[task.id] == 1
        assert pacing.asked[:3] == [1, 2, 3]

    async def test_an_answer_lost_after_recording_is_not_recorded_twice(
        self, foreman: FakeForeman, make_agent: MakeAgent, plugins: Plugins
    ) -> None:
        task = foreman.add_task("sim", "echo", {"value": 8})
        async with running(make_agent()):
            await foreman.wait_until(lambda: task.state == "succeeded")
            # Post the same outcome again, as an agent would after losing the 200.
            agent_posts = foreman.calls("result")
        assert len(agent_posts) == 1
        status = await _post_again(foreman, agent_posts[0])
        assert status == "already recorded"
        assert len(task.outcomes) == 1 and task.repeats == 1

    async def test_stale_outcomes_are_dropped_not_retried(
        self, foreman: FakeForeman, make_agent: MakeAgent
    ) -> None:
        foreman.fail_next("result", problem(409, "stale-attempt", "re-offered"))
        task = foreman.add_task("sim", "echo", {"value": 9})
        agent = make_agent()
        async with running(agent):
            await foreman.wait_until(lambda: bool(foreman.calls("result")))
            await foreman.wait_until(lambda: not agent.runtime or not agent.runtime.book.held)
        assert len(foreman.calls("result")) == 1
        assert task.outcomes == []
        assert Spool(agent.settings.agent.state_dir).load() == []

    async def test_register_is_retried_with_backoff(
        self, foreman: FakeForeman, make_agent: MakeAgent
    ) -> None:
        foreman.fail_next(
            "register", "drop", problem(502, "bad-gateway"), problem(503, "unavailable")
        )
        pacing = recording()
        async with running(make_agent(pacing)):
            await foreman.wait_until(lambda: bool(foreman.calls("poll")))
        assert len(foreman.calls("register")) == 4
        assert pacing.asked[:3] == [1, 2, 3]

    async def test_poll_failures_back_off_and_success_resets_the_count(
        self, foreman: FakeForeman, make_agent: MakeAgent, plugins: Plugins
    ) -> None:
        foreman.fail_next("poll", "drop", problem(500, "internal"))
        pacing = recording()
        first = foreman.add_task("gate", "hold", {"key": "reset"})
        async with running(make_agent(pacing)):
            await foreman.wait_until(lambda: first.id in plugins.gate.started)  # poll 3 succeeded
            await foreman.wait_until(lambda: len(foreman.calls("poll")) == 4)  # poll 4 is held
            foreman.fail_next("poll", problem(503, "unavailable"))
            foreman.add_task("gate", "hold", {"key": "reset"})  # answers poll 4; poll 5 fails
            await foreman.wait_until(lambda: len(pacing.asked) >= 3)
            plugins.gate.gate("reset").set()
        assert pacing.asked[:3] == [1, 2, 1]

    async def test_reregister_when_foreman_forgets_the_incarnation(
        self, foreman: FakeForeman, make_agent: MakeAgent
    ) -> None:
        async with running(make_agent()):
            await foreman.wait_until(lambda: bool(foreman.calls("poll")))
            foreman.incarnation = "forgotten"  # e.g. an operator reset the agent record
            foreman.add_task("sim", "echo", {"value": 0})  # answer the held poll
            await foreman.wait_until(lambda: len(foreman.calls("register")) == 2)
            task = foreman.add_task("sim", "echo", {"value": 12})
            await foreman.wait_until(lambda: task.state == "succeeded")

    async def test_a_rejected_token_waits_then_registers_again(
        self, foreman: FakeForeman, make_agent: MakeAgent
    ) -> None:
        foreman.fail_next("poll", problem(401, "unauthorized"))
        async with running(make_agent()):
            await foreman.wait_until(lambda: len(foreman.calls("register")) == 2)
            task = foreman.add_task("sim", "echo", {"value": 13})
            await foreman.wait_until(lambda: task.state == "succeeded")


class TestSpool:
    async def test_spooled_outcomes_are_posted_in_one_batch_before_registering(
        self, foreman: FakeForeman, make_agent: MakeAgent
    ) -> None:
        agent = make_agent()
        tasks = [foreman.add_task("sim", "echo", {"value": n}) for n in range(3)]
        spool = Spool(agent.settings.agent.state_dir)
        for task in tasks:
            task.state = "started"  # leased to the agent's previous run
            spool.write(
                Outcome(
                    agent_id=foreman.agent_id,
                    task_id=task.id,
                    attempt=1,
                    outcome="result",
                    data={"value": "from spool"},
                )
            )
        stale = foreman.add_task("sim", "echo", {"value": "stale"})
        stale.attempt, stale.state = 2, "started"
        spool.write(
            Outcome(
                agent_id=foreman.agent_id,
                task_id=stale.id,
                attempt=1,
                outcome="error",
                message="boom",
                retryable=True,
                code="timeout",
            )
        )
        async with running(agent):
            await foreman.wait_until(lambda: bool(foreman.calls("poll")))
        routes = [name for name, _ in foreman.requests]
        assert routes.index("results") < routes.index("register")
        assert [t.outcomes[0]["data"] for t in tasks] == [{"value": "from spool"}] * 3
        assert stale.outcomes == []  # stale attempt: dropped, not retried
        assert len(foreman.calls("results")) == 1
        assert spool.load() == []

    async def test_a_partly_answered_batch_left_by_a_crash_is_posted_again_whole(
        self, foreman: FakeForeman, make_agent: MakeAgent
    ) -> None:
        """Answers are not on disk: the next start re-posts them, and foreman says so."""
        agent = make_agent()
        tasks = [foreman.add_task("sim", "echo", {"value": n}) for n in range(3)]
        outcomes = [
            Outcome(
                agent_id=foreman.agent_id,
                task_id=task.id,
                attempt=1,
                outcome="result",
                data={"value": n},
            )
            for n, task in enumerate(tasks)
        ]
        for task in tasks:
            task.state = "started"
        crashed = Spool(agent.settings.agent.state_dir)
        crashed.write_many(outcomes)
        tasks[0].outcomes.append({"outcome": "result", **outcomes[0].item()})  # it got through
        tasks[0].state = "succeeded"
        crashed.answered(outcomes[:1])  # ... and was answered just before the crash
        async with running(agent):
            await foreman.wait_until(lambda: bool(foreman.calls("poll")))
        assert [len(task.outcomes) for task in tasks] == [1, 1, 1]
        assert tasks[0].repeats == 1  # posted again, "already recorded"
        assert [task.state for task in tasks] == ["succeeded"] * 3
        assert list(crashed.directory.iterdir()) == []


async def _post_again(foreman: FakeForeman, body: dict[str, object]) -> str:
    import httpx

    task_id = body.pop("task_id")
    async with httpx.AsyncClient(base_url=foreman.url, trust_env=False) as client:
        response = await client.post(
            f"/agent/v1/tasks/{task_id}/result",
            json=body,
            headers={"Authorization": f"Bearer {foreman.token}"},
        )
    return str(response.json()["status"])


@asynccontextmanager
async def _second_done_while_first_post_fails(
    foreman: FakeForeman, make_agent: MakeAgent, plugins: Plugins
) -> AsyncIterator[tuple[Agent, FakeTask, FakeTask]]:
    """Foreman refuses every outcome; two tasks run, and the second finishes while the first
    one's post keeps failing. Yields inside the running agent; stops it on the way out."""
    foreman.fail_next("result", *[problem(503, "unavailable")] * 10_000)
    foreman.fail_next("results", *[problem(503, "unavailable")] * 10_000)
    first = foreman.add_task("gate", "hold", {"key": "late-1"})
    second = foreman.add_task("gate", "hold", {"key": "late-2"})
    slow = Pacing(backoff_base_s=0.01, backoff_cap_s=0.02, heartbeat_s=0.05, drain_s=0.5)
    agent = make_agent(slow, grace=0.2)
    async with running(agent):
        await foreman.wait_until(lambda: plugins.gate.running == 2)
        plugins.gate.gate("late-1").set()
        await foreman.wait_until(lambda: bool(foreman.calls("result") or foreman.calls("results")))
        plugins.gate.gate("late-2").set()  # finishes while the first post is still failing
        yield agent, first, second
        agent.request_stop()


class TestShutdownWithForemanDown:
    async def test_outcomes_are_spooled_while_an_earlier_post_keeps_failing(
        self, foreman: FakeForeman, make_agent: MakeAgent, plugins: Plugins
    ) -> None:
        """A SIGKILL at any moment loses no finished outcome: each is on disk before any wait."""
        async with _second_done_while_first_post_fails(foreman, make_agent, plugins) as (
            agent,
            first,
            second,
        ):
            state_dir = agent.settings.agent.state_dir

            def both_on_disk() -> bool:  # what a restart after SIGKILL would find
                found = set()  # read only: Spool.load() would tidy the directory under the agent
                for path in (state_dir / "spool").glob("*.jsonl"):
                    lines = path.read_text(encoding="utf-8").splitlines()
                    found |= {json.loads(line)["task_id"] for line in lines if line.strip()}
                return found == {first.id, second.id}

            await foreman.wait_until(both_on_disk)

    async def test_unposted_outcomes_stay_spooled_for_the_next_start(
        self, foreman: FakeForeman, make_agent: MakeAgent, plugins: Plugins
    ) -> None:
        async with _second_done_while_first_post_fails(foreman, make_agent, plugins) as (
            agent,
            first,
            second,
        ):
            await foreman.wait_until(lambda: plugins.gate.running == 0)
        spooled = {o.task_id for o in Spool(agent.settings.agent.state_dir).load()}
        assert spooled == {first.id, second.id}
        assert first.outcomes == second.outcomes == []

        foreman.faults.clear()  # foreman is back: a new run posts them before registering
        async with running(make_agent()):
            await foreman.wait_until(lambda: first.state == second.state == "succeeded")
        assert Spool(agent.settings.agent.state_dir).load() == []
