"""The sim plugin's execution ledger: counts per task id, a durable JSON-lines file, its config."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from sc_run import task_context
from subcontractor.cli import main
from subcontractor.errors import ConfigError, PluginError
from subcontractor.plugins.sim import SimConfig, SimPlugin
from subcontractor.plugins.sim.ledger import ExecutionLedger, counts_of, read_ledger
from subcontractor.registry import build_plugins, discover
from subcontractor.settings import load_settings

CONFIG = """
[foreman]
url = "http://127.0.0.1:9"
token = "literal-token"

[agent]
name = "ledger-agent"
sites = ["dc1"]

[plugins.sim]
"""


async def call(plugin: SimPlugin, function: str, params: dict[str, Any], task_id: str) -> Any:
    fn = plugin.functions()[function]
    assert fn.handler is not None
    return await fn.handler(fn.params.model_validate(params), task_context(task_id))


def write(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(CONFIG + extra)
    return path


class TestLedger:
    async def test_one_line_per_execution_with_counts(self, tmp_path: Path) -> None:
        path = tmp_path / "executions.jsonl"
        sim = SimPlugin(SimConfig(executions_file=path))
        await call(sim, "echo", {"value": 1}, "a")
        await call(sim, "echo", {"value": 1}, "a")
        await call(sim, "destroy", {"name": "vm1"}, "b")
        with pytest.raises(PluginError):  # a failing run is still a run
            await call(sim, "echo", {"fail": "fatal"}, "c")
        assert sim.executions == {"a": 2, "b": 1, "c": 1}
        entries = read_ledger(path)
        assert [(e["task_id"], e["function"], e["attempt"], e["job_id"]) for e in entries] == [
            ("a", "echo", 1, 1),
            ("a", "echo", 1, 1),
            ("b", "destroy", 1, 1),
            ("c", "echo", 1, 1),
        ]
        assert all(e["time"].endswith("Z") and "T" in e["time"] for e in entries)
        assert counts_of(path) == Counter({"a": 2, "b": 1, "c": 1})
        await sim.stop()
        await call(sim, "echo", {"value": 1}, "d")  # closed: counted in memory only
        assert sim.executions["d"] == 1 and "d" not in counts_of(path)

    async def test_without_a_file_counts_stay_in_memory(self, tmp_path: Path) -> None:
        sim = SimPlugin(SimConfig())
        await call(sim, "echo", {"value": 1}, "a")
        assert sim.executions == {"a": 1} and list(tmp_path.iterdir()) == []

    def test_appends_to_an_existing_file(self, tmp_path: Path) -> None:
        path = tmp_path / "executions.jsonl"
        ExecutionLedger(path).record("a", 1, "echo", 7)
        again = ExecutionLedger(path)  # an agent restart: the earlier lines stay
        assert again.record("a", 2, "echo", 7) == 1  # the count is per process
        assert [e["attempt"] for e in read_ledger(path)] == [1, 2]

    def test_lines_survive_sigkill(self, tmp_path: Path) -> None:
        path = tmp_path / "executions.jsonl"
        child = (
            "import os, signal, sys\n"
            "from pathlib import Path\n"
            "from subcontractor.plugins.sim.ledger import ExecutionLedger\n"
            "ledger = ExecutionLedger(Path(sys.argv[1]))\n"
            "for n in range(3):\n"
            "    ledger.record(f't{n}', 1, 'echo', None)\n"
            "os.kill(os.getpid(), signal.SIGKILL)\n"
        )
        done = subprocess.run([sys.executable, "-c", child, str(path)], check=False, timeout=60)
        assert done.returncode == -9
        assert counts_of(path) == Counter({"t0": 1, "t1": 1, "t2": 1})

    def test_a_torn_last_line_is_skipped(self, tmp_path: Path) -> None:
        path = tmp_path / "executions.jsonl"
        path.write_text(json.dumps({"task_id": "a"}) + '\n{"task_id": "b", "att')
        assert [e["task_id"] for e in read_ledger(path)] == ["a"]


class TestConfig:
    def test_relative_to_the_config_file(self, tmp_path: Path) -> None:
        settings = load_settings(write(tmp_path, 'executions_file = "sim-runs.jsonl"\n'))
        plugins = build_plugins(settings, discover())
        sim = plugins["sim"]
        assert isinstance(sim, SimPlugin)
        assert sim.config.executions_file == tmp_path / "sim-runs.jsonl"
        assert (tmp_path / "sim-runs.jsonl").exists()

    @pytest.mark.parametrize(
        ("value", "reason"),
        [
            ('""', "must be a file path"),
            ("5", "valid path"),
            ('"."', "is a directory"),
            ('"no-such-dir/runs.jsonl"', "cannot append to"),
        ],
    )
    def test_bad_values_are_refused_naming_the_key(
        self, tmp_path: Path, value: str, reason: str
    ) -> None:
        settings = load_settings(write(tmp_path, f"executions_file = {value}\n"))
        with pytest.raises(ConfigError) as exc:
            build_plugins(settings, discover())
        [(key, message)] = exc.value.problems
        assert key == "plugins.sim.executions_file" and reason in message

    def test_run_refuses_it_with_exit_2(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        path = write(tmp_path, 'executions_file = "absent/runs.jsonl"\n')
        assert main(["run", "--config", str(path)]) == 2
        assert "config error: plugins.sim.executions_file: cannot append to" in (
            capsys.readouterr().err
        )
