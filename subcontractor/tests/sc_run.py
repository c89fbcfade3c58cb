"""Running an agent in the background of a test, and the plugins tests give it."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from sc_plugins import GateConfig, GatePlugin
from subcontractor.agent import Agent
from subcontractor.credentials import Credentials
from subcontractor.plugin import Plugin, TaskContext
from subcontractor.plugins.iputils import IputilsConfig, IputilsPlugin
from subcontractor.plugins.sim import SimConfig, SimPlugin


class Plugins:
    def __init__(self, concurrency: int = 2) -> None:
        self.sim = SimPlugin(SimConfig(concurrency=concurrency, seed=7))
        self.gate = GatePlugin(GateConfig(concurrency=concurrency))
        self.iputils = IputilsPlugin(IputilsConfig(concurrency=concurrency))

    def all(self) -> dict[str, Plugin[Any]]:
        return {"sim": self.sim, "gate": self.gate, "iputils": self.iputils}


@asynccontextmanager
async def running(agent: Agent) -> AsyncIterator[asyncio.Task[None]]:
    """Run the agent in the background; stop it gracefully (bounded) on exit."""
    task = asyncio.ensure_future(agent.run())
    try:
        yield task
    finally:
        agent.request_stop()
        await asyncio.wait_for(task, timeout=15)


_HTTP: list[httpx.AsyncClient] = []


def _shared_http() -> httpx.AsyncClient:
    if not _HTTP:  # built once: an SSL context per call would dominate plugin tests
        _HTTP.append(httpx.AsyncClient(trust_env=False))
    return _HTTP[0]


def task_context(task_id: str = "task-1", tmp: Path | None = None) -> TaskContext:
    """A context for calling plugin functions directly."""
    return TaskContext(
        task_id=task_id,
        attempt=1,
        job_id=1,
        deadline=time.monotonic() + 60,
        log=logging.LoggerAdapter(logging.getLogger("test"), {}),
        http=_shared_http(),
        state_dir=tmp or Path("/nonexistent"),
        credentials=Credentials(tmp or Path("/nonexistent")),
    )
