"""The command line: check-config, list-plugins, and refusals with exit code 2."""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import subcontractor.cli
from subcontractor.cli import main

CONFIG = """
[foreman]
url = "http://127.0.0.1:9"
token = "literal-s3cret-token"

[agent]
name = "cli-agent"
sites = ["dc1", "dc2"]

[plugins.sim]
concurrency = 3

[plugins.iputils]
"""


def write(tmp_path: Path, text: str = CONFIG) -> str:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    return str(path)


class TestCheckConfig:
    def test_prints_a_summary_without_secrets(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["check-config", "--config", write(tmp_path)]) == 0
        out = capsys.readouterr().out
        assert "config OK" in out
        assert "cli-agent" in out and "dc1, dc2" in out
        assert "plugin sim 0.1.0: concurrency 3" in out
        assert "plugin iputils" in out and "port_check" in out
        assert "literal-s3cret-token" not in out

    def test_refuses_bad_config_with_exit_2(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        text = CONFIG.replace("concurrency = 3", "concurrency = 'lots'")
        assert main(["check-config", "--config", write(tmp_path, text)]) == 2
        err = capsys.readouterr().err
        assert "config error: plugins.sim.concurrency:" in err

    def test_plugin_prerequisites_are_checked(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        text = CONFIG + 'ping_method = "command"\nping_command = "no-such-ping-program"\n'
        assert main(["check-config", "--config", write(tmp_path, text)]) == 2
        assert "plugins.iputils.ping_command" in capsys.readouterr().err

    def test_run_refuses_bad_config_with_exit_2(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["run", "--config", str(tmp_path / "absent.toml")]) == 2
        assert "cannot read" in capsys.readouterr().err


class TestRun:
    def test_the_garbage_collector_is_set_for_a_long_run_before_the_agent_starts(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        seen: list[tuple[int, int]] = []

        def fake_run(serve: Callable[..., Any], *args: Any) -> None:
            seen.append((gc.get_freeze_count(), gc.get_threshold()[0]))

        threshold = gc.get_threshold()
        monkeypatch.setattr(subcontractor.cli.anyio, "run", fake_run)
        monkeypatch.setattr(subcontractor.cli.logs, "configure", lambda *args: None)
        try:
            assert main(["run", "--config", write(tmp_path)]) == 0
        finally:
            gc.unfreeze()
            gc.set_threshold(*threshold)
        ((frozen, young),) = seen
        assert frozen > 10_000  # the modules, classes and validators loaded by then
        assert young == 5000


class TestListPlugins:
    def test_lists_installed_plugins_and_functions(
        self, capsys: pytest.CaptureFixture[str]
    ) -> None:
        assert main(["list-plugins"]) == 0
        lines = capsys.readouterr().out.splitlines()
        sim = next(line for line in lines if line.startswith("sim "))
        assert "power" in sim and "pxe_boot" in sim and "create*" in sim
        assert any(line.startswith("iputils 0.1.0: ping port_check") for line in lines)


class TestExampleConfig:
    def test_the_shipped_example_is_valid(
        self, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        monkeypatch.setenv("CONTRACTOR_AGENT_TOKEN", "example-token")
        example = Path(__file__).parents[1] / "agent.example.toml"
        assert main(["check-config", "--config", str(example)]) == 0
        assert "example-token" not in capsys.readouterr().out
