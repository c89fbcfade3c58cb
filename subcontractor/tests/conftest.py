from __future__ import annotations

# pytest's importlib mode names this file "subcontractor.tests.conftest" and, to do that,
# registers the folder subcontractor/ as a namespace package "subcontractor", which hides
# the real package (subcontractor/src/subcontractor). Put the real one back first.
import importlib
import sys

if getattr(sys.modules.get("subcontractor"), "__file__", None) is None:
    sys.modules.pop("subcontractor", None)
    importlib.import_module("subcontractor")

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from pytest_asyncio import is_async_test
from sc_fake_foreman import FakeForeman
from sc_run import Plugins
from subcontractor.agent import Agent
from subcontractor.retry import Pacing
from subcontractor.settings import Settings

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    marker = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if is_async_test(item) and HERE in Path(str(item.path)).parents:
            item.add_marker(marker, append=False)


@pytest.fixture
async def foreman() -> AsyncIterator[FakeForeman]:
    fake = FakeForeman()
    await fake.start()
    yield fake
    await fake.stop()


MakeSettings = Callable[..., Settings]


@pytest.fixture
def make_settings(tmp_path: Path, foreman: FakeForeman) -> MakeSettings:
    def make(**agent: Any) -> Settings:
        proxy = agent.pop("proxy", "")
        return Settings(
            foreman={"url": foreman.url, "token": foreman.token, "proxy": proxy},
            agent={
                "name": "test-agent",
                "sites": ["dc1"],
                "state_dir": tmp_path / "state",
                "poll_wait_s": 5,
                "shutdown_grace_s": agent.pop("grace", 5),
                **agent,
            },
            plugins={},
        )

    return make


@pytest.fixture
def plugins() -> Plugins:
    return Plugins()


@pytest.fixture
def make_agent(make_settings: MakeSettings, plugins: Plugins) -> Callable[..., Agent]:
    def make(pacing: Pacing | None = None, **agent: Any) -> Agent:
        return Agent(make_settings(**agent), plugins.all(), pacing or Pacing.zero())

    return make
