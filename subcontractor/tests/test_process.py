"""The agent as a real process: SIGTERM handling, exit codes, logs without secrets."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from pathlib import Path

from sc_fake_foreman import FakeForeman

SUBPROCESS_TIMEOUT_S = 30


def write_config(tmp_path: Path, foreman: FakeForeman, grace: float) -> Path:
    config = tmp_path / "agent.toml"
    (tmp_path / "token").write_text(foreman.token + "\n")
    config.write_text(
        f"""
[foreman]
url = "{foreman.url}"
token = "file:token"

[agent]
name = "proc-agent"
sites = ["dc1"]
state_dir = "state"
poll_wait_s = 5
shutdown_grace_s = {grace}
backoff_base_s = 0.01
backoff_cap_s = 0.05

[plugins.sim]
concurrency = 2
"""
    )
    return config


def clean_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if "proxy" not in k.lower() and not k.startswith("SUBCONTRACTOR_")
    }


async def start_agent(config: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "subcontractor",
        "run",
        "--config",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=clean_env(),
        cwd=config.parent,
    )


async def finish(process: asyncio.subprocess.Process) -> tuple[int, str]:
    try:
        _, stderr = await asyncio.wait_for(process.communicate(), SUBPROCESS_TIMEOUT_S)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise
    assert process.returncode is not None
    return process.returncode, stderr.decode()


class TestSigterm:
    async def test_finishes_the_running_task_then_exits_zero(
        self, tmp_path: Path, foreman: FakeForeman
    ) -> None:
        # The start acknowledgement tells us the agent is running the task (not just received it).
        task = foreman.add_task(
            "sim", "echo", {"value": "done", "delay_s": 0.5}, idempotent=False, needs_start_ack=True
        )
        process = await start_agent(write_config(tmp_path, foreman, grace=30))
        try:
            await foreman.wait_until(lambda: task.state == "started", timeout=SUBPROCESS_TIMEOUT_S)
            process.send_signal(signal.SIGTERM)
        finally:
            code, stderr = await finish(process)
        assert code == 0, stderr
        assert task.state == "succeeded"
        assert task.outcomes[0]["data"] == {"value": "done"}
        assert task.releases == []
        assert foreman.deregistered
        assert foreman.token not in stderr
        records = [json.loads(line) for line in stderr.splitlines() if line.strip()]
        assert {"ts", "level", "logger", "msg"} <= set(records[0])

    async def test_releases_a_task_that_outlives_the_grace(
        self, tmp_path: Path, foreman: FakeForeman
    ) -> None:
        task = foreman.add_task(
            "sim", "echo", {"value": 1, "delay_s": 120}, idempotent=False, needs_start_ack=True
        )
        process = await start_agent(write_config(tmp_path, foreman, grace=0.2))
        try:
            await foreman.wait_until(lambda: task.state == "started", timeout=SUBPROCESS_TIMEOUT_S)
            process.send_signal(signal.SIGTERM)
        finally:
            code, stderr = await finish(process)
        assert code == 0, stderr
        assert [r["started"] for r in task.releases] == [True]
        assert task.outcomes == []
        assert foreman.deregistered

    async def test_a_second_signal_exits_at_once(
        self, tmp_path: Path, foreman: FakeForeman
    ) -> None:
        task = foreman.add_task(
            "sim", "echo", {"value": 1, "delay_s": 120}, idempotent=False, needs_start_ack=True
        )
        process = await start_agent(write_config(tmp_path, foreman, grace=120))
        try:
            await foreman.wait_until(lambda: task.state == "started", timeout=SUBPROCESS_TIMEOUT_S)
            process.send_signal(signal.SIGTERM)
            await asyncio.sleep(0.2)  # not a timing assertion: only lets the first signal land
            process.send_signal(signal.SIGTERM)
        finally:
            code, _ = await finish(process)
        assert code != 0
        assert task.outcomes == [] and task.releases == []


class TestStartRefusals:
    async def test_bad_config_exits_2_naming_the_key(
        self, tmp_path: Path, foreman: FakeForeman
    ) -> None:
        config = write_config(tmp_path, foreman, grace=1)
        config.write_text(config.read_text().replace("concurrency = 2", "concurrency = -1"))
        process = await start_agent(config)
        code, stderr = await finish(process)
        assert code == 2
        assert "plugins.sim.concurrency" in stderr
        assert foreman.requests == []
