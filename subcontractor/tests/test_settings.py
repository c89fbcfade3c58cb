"""Configuration: TOML, environment overrides, references, and errors that name the key."""

from __future__ import annotations

from pathlib import Path

import pytest
from subcontractor.errors import ConfigError
from subcontractor.registry import build_plugins, discover
from subcontractor.settings import load_settings

GOOD = """
[foreman]
url = "https://contractor.example.test/foreman/"
token = "env:AGENT_TOKEN"
proxy = "http://proxy.example.test:3128"

[agent]
name = "dc1-sim-01"
sites = ["dc1"]
state_dir = "var/agent"

[plugins.sim]
concurrency = 8
seed = 3
fail_rate = 0.1

[plugins.iputils]
"""

ENV = {"AGENT_TOKEN": "t0ken-value"}


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    return path


def keys(exc: pytest.ExceptionInfo[ConfigError]) -> list[str]:
    return [key for key, _ in exc.value.problems]


class TestLoading:
    def test_a_good_file(self, tmp_path: Path) -> None:
        settings = load_settings(write(tmp_path, GOOD), ENV)
        assert settings.foreman.url == "https://contractor.example.test/foreman"
        assert settings.foreman.token.get_secret_value() == "t0ken-value"
        assert "t0ken-value" not in repr(settings)
        assert settings.agent.state_dir == tmp_path / "var/agent"
        assert settings.agent.poll_wait_s == 30
        plugins = build_plugins(settings, discover())
        assert sorted(plugins) == ["iputils", "sim"]
        assert plugins["sim"].config.concurrency == 8
        assert plugins["iputils"].config.concurrency == 32

    def test_env_overrides_are_parsed_as_toml_values(self, tmp_path: Path) -> None:
        env = {
            **ENV,
            "SUBCONTRACTOR_AGENT__POLL_WAIT_S": "5",
            "SUBCONTRACTOR_AGENT__SITES": '["dc2", "dc3"]',
            "SUBCONTRACTOR_AGENT__NAME": "bare-word",
            "SUBCONTRACTOR_PLUGINS__SIM__CONCURRENCY": "2",
            "SUBCONTRACTOR_FOREMAN__VERIFY_TLS": "false",
        }
        settings = load_settings(write(tmp_path, GOOD), env)
        assert settings.agent.poll_wait_s == 5
        assert settings.agent.sites == ["dc2", "dc3"]
        assert settings.agent.name == "bare-word"
        assert settings.foreman.verify_tls is False
        assert build_plugins(settings, discover())["sim"].config.concurrency == 2

    def test_token_from_a_file_relative_to_the_config(self, tmp_path: Path) -> None:
        (tmp_path / "secret").write_text("from-file\n")
        text = GOOD.replace('"env:AGENT_TOKEN"', '"file:secret"')
        assert (
            load_settings(write(tmp_path, text), {}).foreman.token.get_secret_value() == "from-file"
        )

    def test_a_disabled_plugin_is_not_built(self, tmp_path: Path) -> None:
        text = GOOD.replace("[plugins.iputils]", "[plugins.iputils]\nenabled = false")
        assert sorted(build_plugins(load_settings(write(tmp_path, text), ENV), discover())) == [
            "sim"
        ]


class TestErrorsNameTheKey:
    @pytest.mark.parametrize(
        ("change", "key"),
        [
            (
                ('url = "https://contractor.example.test/foreman/"', 'url = "ftp://x"'),
                "foreman.url",
            ),
            (('name = "dc1-sim-01"', ""), "agent.name"),
            (('sites = ["dc1"]', "sites = []"), "agent.sites"),
            (("[agent]", "[agent]\npoll_wait_s = 31"), "agent.poll_wait_s"),
            (("[agent]", "[agent]\ncolour = 'blue'"), "agent.colour"),
            (("[foreman]", "[foreman]\nproxy_url = 'x'"), "foreman.proxy_url"),
            (('proxy = "http://proxy.example.test:3128"', 'proxy = "gopher://x"'), "foreman.proxy"),
            (("[plugins.iputils]", "[extra]\nx = 1"), "extra"),
            (("[agent]", "[agent]\nmetrics_listen = '127.0.0.1'"), "agent.metrics_listen"),
        ],
    )
    def test_settings_errors(self, tmp_path: Path, change: tuple[str, str], key: str) -> None:
        with pytest.raises(ConfigError) as exc:
            load_settings(write(tmp_path, GOOD.replace(*change)), ENV)
        assert key in keys(exc)

    def test_unset_token_variable(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError) as exc:
            load_settings(write(tmp_path, GOOD), {})
        assert exc.value.problems == [
            ("foreman.token", "environment variable AGENT_TOKEN is not set")
        ]

    def test_empty_token(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError) as exc:
            load_settings(write(tmp_path, GOOD), {"AGENT_TOKEN": " "})
        assert keys(exc) == ["foreman.token"]

    @pytest.mark.parametrize(
        ("change", "key"),
        [
            (("concurrency = 8", "concurrency = -1"), "plugins.sim.concurrency"),
            (("fail_rate = 0.1", "fail_rate = 2"), "plugins.sim.fail_rate"),
            (("seed = 3", "sede = 3"), "plugins.sim.sede"),
            (("[plugins.iputils]", "[plugins.ipmi]"), "plugins.ipmi"),
        ],
    )
    def test_plugin_errors(self, tmp_path: Path, change: tuple[str, str], key: str) -> None:
        settings = load_settings(write(tmp_path, GOOD.replace(*change)), ENV)
        with pytest.raises(ConfigError) as exc:
            build_plugins(settings, discover())
        assert key in keys(exc)

    def test_a_bad_env_override_names_the_key(self, tmp_path: Path) -> None:
        env = {**ENV, "SUBCONTRACTOR_PLUGINS__SIM__CONCURRENCY": "many"}
        settings = load_settings(write(tmp_path, GOOD), env)
        with pytest.raises(ConfigError) as exc:
            build_plugins(settings, discover())
        assert keys(exc) == ["plugins.sim.concurrency"]

    def test_no_plugin_enabled(self, tmp_path: Path) -> None:
        text = GOOD.split("[plugins.sim]")[0]
        with pytest.raises(ConfigError) as exc:
            build_plugins(load_settings(write(tmp_path, text), ENV), discover())
        assert keys(exc) == ["plugins"]

    def test_unreadable_and_invalid_files(self, tmp_path: Path) -> None:
        with pytest.raises(ConfigError, match="cannot read"):
            load_settings(tmp_path / "missing.toml", ENV)
        with pytest.raises(ConfigError, match="not valid TOML"):
            load_settings(write(tmp_path, "[foreman\n"), ENV)
