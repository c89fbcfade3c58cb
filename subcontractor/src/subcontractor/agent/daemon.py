"""The agent daemon: what happens at start, while running and at shutdown (foreman.md §8.6)."""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
from anyio.abc import TaskGroup

from subcontractor.agent.book import TaskBook
from subcontractor.agent.heartbeat import run_heartbeat_loop
from subcontractor.agent.outcomes import deliver, run_outcome_loop
from subcontractor.agent.poll import run_poll_loop
from subcontractor.agent.registration import register_until_ok
from subcontractor.agent.runtime import Runtime
from subcontractor.client import ForemanClient, make_http_client
from subcontractor.credentials import Credentials
from subcontractor.metrics import serve_metrics
from subcontractor.plugin import Plugin, PluginContext
from subcontractor.retry import Pacing, classify
from subcontractor.settings import Settings
from subcontractor.spool import Spool
from subcontractor.vault import make_vault
from subcontractor.wire import Outcome

log = logging.getLogger("subcontractor.agent")

DEREGISTER_TRIES = 3


class Agent:
    """One agent process's work: ``await Agent(...).run()`` until ``request_stop()``.

    Args:
        settings: The validated configuration.
        plugins: Enabled plugins by module name (``registry.build_plugins``).
        pacing: Delays; tests pass ``Pacing.zero()``.
        http: A ready client (tests); by default one is built from ``settings.foreman``.
    """

    def __init__(
        self,
        settings: Settings,
        plugins: dict[str, Plugin[Any]],
        pacing: Pacing | None = None,
        http: httpx.AsyncClient | None = None,
    ) -> None:
        self.settings = settings
        self.plugins = plugins
        self.pacing = pacing or Pacing(
            backoff_base_s=settings.agent.backoff_base_s,
            backoff_cap_s=settings.agent.backoff_cap_s,
            reauth_wait_s=settings.agent.reauth_wait_s,
        )
        self._http = http
        self._vault = make_vault(settings.credentials)
        self.credentials = Credentials(settings.agent.state_dir, self._vault)
        self.credentials.remember(settings.foreman.token.get_secret_value())
        if settings.credentials is not None:
            self.credentials.remember(settings.credentials.token.get_secret_value())
        self.runtime: Runtime | None = None
        self._stop_requested = False
        self.metrics_port: int | None = None

    def request_stop(self) -> None:
        """Begin the graceful shutdown (SIGTERM)."""
        self._stop_requested = True
        if self.runtime is not None:
            self.runtime.request_stop()

    async def run(self) -> None:
        """Run until stopped, then finish or release tasks, deregister and return."""
        http = self._http or make_http_client(self.settings.foreman)
        try:
            await self._run(http)
        finally:
            if self._http is None:
                await http.aclose()
            if self._vault is not None:
                await self._vault.aclose()

    def _runtime(self, http: httpx.AsyncClient) -> Runtime:
        send, receive = anyio.create_memory_object_stream[Outcome](math.inf)
        agent = self.settings.agent
        concurrency = {name: plugin.config.concurrency for name, plugin in self.plugins.items()}
        return Runtime(
            name=agent.name,
            sites=agent.sites,
            client=ForemanClient(http),
            plugins=self.plugins,
            pacing=self.pacing,
            spool=Spool(agent.state_dir),
            credentials=self.credentials,
            state_dir=agent.state_dir,
            poll_wait_s=agent.poll_wait_s,
            book=TaskBook(concurrency),
            outbox_send=send,
            outbox_receive=receive,
        )

    async def _run(self, http: httpx.AsyncClient) -> None:
        rt = self.runtime = self._runtime(http)
        if self._stop_requested:
            rt.request_stop()
        try:
            async with anyio.create_task_group() as group:
                listen = self.settings.agent.metrics_listen
                if listen:
                    group.start_soon(serve_metrics, listen, rt.render_metrics, self._metrics_bound)
                for name, plugin in self.plugins.items():
                    await plugin.start(self._plugin_context(rt, name, group))
                await self._lifecycle(rt)
                group.cancel_scope.cancel()
        finally:
            for plugin in self.plugins.values():
                with anyio.CancelScope(shield=True):
                    await plugin.stop()
        log.info("agent stopped")

    def _plugin_context(self, rt: Runtime, name: str, group: TaskGroup) -> PluginContext:
        state_dir = rt.plugin_dir(name)
        state_dir.mkdir(parents=True, exist_ok=True)
        plugin_log = logging.getLogger(f"subcontractor.plugins.{name}")

        def spawn(job: Callable[[], Awaitable[None]], job_name: str) -> None:
            async def guarded() -> None:
                try:
                    await job()
                except Exception:  # a plugin's background bug must not stop the agent
                    plugin_log.exception("background job %s failed", job_name)

            group.start_soon(guarded, name=f"{name}: {job_name}")

        return PluginContext(name, rt.sites, rt.client, state_dir, plugin_log, spawn)

    def _metrics_bound(self, port: int) -> None:
        self.metrics_port = port
        log.info("metrics on port %d", port)

    async def _lifecycle(self, rt: Runtime) -> None:
        spooled = rt.spool.load()
        if spooled:  # outcomes a previous run could not post go first (§8.3)
            log.info("posting %d spooled outcomes", len(spooled))
            await deliver(rt, spooled, stop=rt.stop)
        if await register_until_ok(rt):
            await self._serve(rt)
            await self._deregister(rt)

    async def _serve(self, rt: Runtime) -> None:
        grace = self.settings.agent.shutdown_grace_s
        async with anyio.create_task_group() as services:
            services.start_soon(run_heartbeat_loop, rt, name="heartbeats")
            posting = anyio.Event()
            services.start_soon(self._post_outcomes, rt, posting, name="outcomes")
            async with anyio.create_task_group() as runners:
                rt.runners = runners
                runners.start_soon(run_poll_loop, rt, name="poll")
                await rt.stop.wait()
                log.info("stopping: running tasks get %.1f s", grace)
                with anyio.move_on_after(grace):
                    while rt.book.executing():
                        await rt.book.wait_changed()
                for held in rt.book.executing():
                    rt.book.cancel(held.id, "shutdown")
            rt.outbox_send.close()
            with anyio.move_on_after(max(grace, rt.pacing.drain_s)):  # foreman down: spooled
                await posting.wait()
            services.cancel_scope.cancel()

    async def _post_outcomes(self, rt: Runtime, done: anyio.Event) -> None:
        await run_outcome_loop(rt, rt.outbox_receive)
        done.set()

    async def _deregister(self, rt: Runtime) -> None:
        for failures in range(1, DEREGISTER_TRIES + 1):
            try:
                await rt.client.deregister("shutdown")
                return
            except Exception as exc:
                verdict = classify(exc)
                log.warning("deregister failed (%s): %s", verdict.action, verdict.message)
                if not verdict.retryable:
                    return
                await anyio.sleep(rt.pacing.after(failures, exc))
