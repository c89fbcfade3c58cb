"""Credential references resolved by the agent: env, file and Vault; secrets never leave it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from sc_fake_foreman import FakeForeman
from sc_fake_vault import FakeVault
from sc_run import Plugins, running
from subcontractor.agent import Agent
from subcontractor.retry import Pacing
from subcontractor.settings import Settings, load_settings

BMC = {"username": "ADMIN", "password": "s3cret-bmc"}


@pytest.fixture
async def vault() -> AsyncIterator[FakeVault]:
    fake = FakeVault()
    fake.secrets["kv/data/bmc/rack1"] = BMC
    await fake.start()
    yield fake
    await fake.stop()


def with_vault(settings: Settings, url: str, token: str, **extra: Any) -> Settings:
    table = {"provider": "vault", "address": url, "token": token, **extra}
    return Settings(**{**settings.model_dump(), "credentials": table})


@pytest.fixture
def make_vault_agent(
    make_settings: Callable[..., Settings], plugins: Plugins, vault: FakeVault
) -> Callable[..., Agent]:
    def make(token: str | None = None, **extra: Any) -> Agent:
        settings = with_vault(make_settings(), vault.url, token or vault.token, **extra)
        return Agent(settings, plugins.all(), Pacing.zero())

    return make


def login(foreman: FakeForeman, credentials: Any) -> Any:
    return foreman.add_task("gate", "login", {"host": "10.0.1.5", "credentials": credentials})


class TestVault:
    async def test_references_are_resolved_before_the_plugin_runs(
        self,
        foreman: FakeForeman,
        make_vault_agent: Callable[..., Agent],
        plugins: Plugins,
        vault: FakeVault,
    ) -> None:
        first = login(foreman, {"ref": "vault:kv/data/bmc/rack1"})
        second = login(foreman, {"ref": "vault:kv/data/bmc/rack1"})
        async with running(make_vault_agent()):
            await foreman.wait_until(lambda: first.state == second.state == "succeeded")
        assert plugins.gate.logins == [BMC, BMC]
        assert first.outcomes[0]["data"] == {"host": "10.0.1.5", "user": "ADMIN", "careless": "***"}
        assert vault.reads == ["/v1/kv/data/bmc/rack1"]  # cached

    @pytest.mark.parametrize(
        ("ref", "token", "code"),
        [
            ("vault:kv/data/absent", None, "not_found"),
            ("vault:kv/data/bmc/rack1", "wrong-token", "auth"),
        ],
    )
    async def test_vault_refusals_fail_the_task(
        self,
        foreman: FakeForeman,
        make_vault_agent: Callable[..., Agent],
        plugins: Plugins,
        ref: str,
        token: str | None,
        code: str,
    ) -> None:
        task = login(foreman, {"ref": ref})
        async with running(make_vault_agent(token)):
            await foreman.wait_until(lambda: task.state == "failed")
        assert (task.outcomes[0]["code"], task.outcomes[0]["retryable"]) == (code, False)
        assert plugins.gate.logins == []

    async def test_an_unreachable_vault_is_retryable(
        self, foreman: FakeForeman, make_settings: Callable[..., Settings], plugins: Plugins
    ) -> None:
        settings = with_vault(make_settings(), "http://127.0.0.1:9", "t")
        task = login(foreman, {"ref": "vault:kv/data/bmc/rack1"})
        async with running(Agent(settings, plugins.all(), Pacing.zero())):
            await foreman.wait_until(lambda: task.state == "failed")
        assert (task.outcomes[0]["code"], task.outcomes[0]["retryable"]) == ("unreachable", True)

    async def test_without_a_vault_a_vault_reference_is_an_auth_error(
        self, foreman: FakeForeman, make_agent: Callable[..., Agent]
    ) -> None:
        task = login(foreman, {"ref": "vault:kv/data/bmc/rack1"})
        async with running(make_agent()):
            await foreman.wait_until(lambda: task.state == "failed")
        assert task.outcomes[0]["code"] == "auth"
        assert "no [credentials] vault configured" in task.outcomes[0]["message"]


class TestEnvAndFile:
    async def test_env_references_inside_parameters(
        self,
        foreman: FakeForeman,
        make_agent: Callable[..., Agent],
        plugins: Plugins,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        monkeypatch.setenv("SC_TEST_BMC_PASSWORD", "from-env")
        task = login(foreman, {"username": "root", "password": {"ref": "env:SC_TEST_BMC_PASSWORD"}})
        # A parameter model of dict[str, str] accepts the resolved string only.
        async with running(make_agent()):
            await foreman.wait_until(lambda: task.state in ("succeeded", "failed"))
        assert plugins.gate.logins == [{"username": "root", "password": "from-env"}]
        assert task.outcomes[0]["data"]["careless"] == "***"


class TestConfig:
    def test_credentials_table(self, tmp_path: Path) -> None:
        (tmp_path / "vault-token").write_text("vt\n")
        path = tmp_path / "agent.toml"
        path.write_text(
            '[foreman]\nurl = "http://f"\ntoken = "t"\n[agent]\nname = "a"\nsites = ["dc1"]\n'
            '[credentials]\nprovider = "vault"\naddress = "https://vault.example.test:8200/"\n'
            'token = "file:vault-token"\n'
        )
        settings = load_settings(path, {})
        assert settings.credentials is not None
        assert settings.credentials.address == "https://vault.example.test:8200"
        assert settings.credentials.token.get_secret_value() == "vt"
        assert settings.credentials.cache_s == 300
