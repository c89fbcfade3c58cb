"""What every loop of the agent shares: the client, the book, the plugins, the pacing."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import TaskGroup
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from subcontractor.agent.book import TaskBook
from subcontractor.client import ForemanClient
from subcontractor.credentials import Credentials
from subcontractor.errors import UnknownFunction
from subcontractor.metrics import Metrics
from subcontractor.plugin import Function, Plugin
from subcontractor.retry import Pacing
from subcontractor.spool import Spool
from subcontractor.wire import ModuleDeclaration, Outcome, Registration

log = logging.getLogger("subcontractor.agent")


async def wait_or_stop(stop: anyio.Event, seconds: float) -> None:
    """Sleep ``seconds``, or less if ``stop`` is set meanwhile."""
    if seconds <= 0 or stop.is_set():
        await anyio.lowlevel.checkpoint()
        return
    with anyio.move_on_after(seconds):
        await stop.wait()


@dataclass
class Runtime:
    """State shared by the poll, runner, heartbeat and outcome loops of one agent."""

    name: str
    sites: list[str]
    client: ForemanClient
    plugins: dict[str, Plugin[Any]]
    pacing: Pacing
    spool: Spool
    credentials: Credentials
    state_dir: Path
    poll_wait_s: float
    book: TaskBook
    outbox_send: MemoryObjectSendStream[Outcome]
    outbox_receive: MemoryObjectReceiveStream[Outcome]
    stop: anyio.Event = field(default_factory=anyio.Event)
    registration: Registration | None = None
    runners: TaskGroup | None = None
    poll_scope: anyio.CancelScope | None = None
    register_lock: anyio.Lock = field(default_factory=anyio.Lock)
    limiters: dict[str, anyio.CapacityLimiter] = field(default_factory=dict)
    metrics: Metrics = field(default_factory=Metrics)
    _plugin_dirs: dict[str, Path] = field(default_factory=dict)

    def request_stop(self) -> None:
        """Begin a graceful shutdown: no more polling; running tasks get their grace."""
        self.stop.set()
        if self.poll_scope is not None:
            self.poll_scope.cancel()

    def function(self, module: str, name: str) -> Function[Any]:
        """Look up a task's function.

        Raises:
            UnknownFunction: This agent serves no such module or function.
        """
        plugin = self.plugins.get(module)
        if plugin is None:
            raise UnknownFunction(f"this agent serves no module {module!r}")
        function = plugin.functions().get(name)
        if function is None:
            raise UnknownFunction(f"module {module!r} has no function {name!r}")
        return function

    def plugin_dir(self, module: str) -> Path:
        """A plugin's private directory; remembered, as every task of the plugin is given it."""
        path = self._plugin_dirs.get(module)
        if path is None:
            path = self._plugin_dirs[module] = self.state_dir / "plugins" / module
        return path

    def limiter(self, module: str) -> anyio.CapacityLimiter:
        """The per-plugin limiter bounding concurrent executions (and worker threads)."""
        if module not in self.limiters:
            self.limiters[module] = anyio.CapacityLimiter(
                max(1, self.book.concurrency.get(module, 1))
            )
        return self.limiters[module]

    def declarations(self) -> dict[str, ModuleDeclaration]:
        """The ``modules`` of ``register``."""
        return {
            name: ModuleDeclaration(
                version=plugin.version,
                concurrency=plugin.config.concurrency,
                functions=sorted(plugin.functions()),
            )
            for name, plugin in self.plugins.items()
        }

    def render_metrics(self) -> str:
        """The metrics page: live counts from the book and the spool, plus the history."""
        running = dict.fromkeys(self.plugins, 0)
        for held in self.book.held.values():
            if held.phase == "started" and held.offer.module in running:
                running[held.offer.module] += 1
        return self.metrics.render(running, self.spool.count())

    @property
    def heartbeat_s(self) -> float:
        """Heartbeat interval: the pacing's override, else foreman's."""
        if self.pacing.heartbeat_s is not None:
            return self.pacing.heartbeat_s
        return self.registration.heartbeat_s if self.registration else 20.0
