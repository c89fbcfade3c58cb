"""The foreman application: ``create_app(settings)`` and its lifespan (loops included)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

import httpx
from contractor.foreman import api, deps, migrate, orm
from contractor.foreman.api import agent, agents, boot, health, jobs, metrics, targets, tasks
from contractor.foreman.auth import TokenCache
from contractor.foreman.clock import Clock, SystemClock
from contractor.foreman.encryption import secret_box
from contractor.foreman.inventory import InventoryClient
from contractor.foreman.loops import (
    agent_status,
    inventory_feed,
    listener,
    prerequisites,
    reaper,
    retention,
    server_tasks,
    stepper,
    vacuum,
)
from contractor.foreman.runtime import Runtime
from contractor.foreman.settings import Settings
from contractor.foreman.single import SingleProcessLock
from contractor.foreman.store.jobs import TRANSITION_COUNTER
from contractor.servicekit.db import create_engine, create_session_factory, is_sqlite
from contractor.servicekit.errors import install_problem_handlers
from contractor.servicekit.feed import Feed, feed_router
from contractor.servicekit.logs import RequestIdMiddleware
from contractor.servicekit.outbox import FeedSignal, session_info
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

API_PREFIX = "/api/v1"
FEED_CHANNEL = "foreman_events"
logger = logging.getLogger(__name__)
__all__ = ["api", "create_app"]


def create_app(settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    """Build the foreman app; nothing connects until the lifespan starts."""
    settings = settings or Settings()
    rt = Runtime(settings=settings, clock=clock or SystemClock())
    sqlite = is_sqlite(settings.database_url)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        rt.box = secret_box(settings)
        single = SingleProcessLock(settings.database_url) if sqlite else None
        if single is not None:
            single.acquire()
        engine = create_engine(settings.database_url, echo=settings.sql_echo)
        headers = {"Authorization": f"Bearer {settings.service_token.get_secret_value()}"}
        http = httpx.AsyncClient(
            base_url=settings.inventory_url, headers=headers, timeout=settings.inventory_timeout_s
        )
        stop = asyncio.Event()
        loops: list[asyncio.Task[None]] = []
        feed_listener: asyncio.Task[None] | None = None
        try:
            await migrate.ensure_current(engine)
            signal = FeedSignal()
            info = {**session_info(signal, FEED_CHANNEL), TRANSITION_COUNTER: rt.count}
            sessions = create_session_factory(engine, info)
            # Locked re-reads use populate_existing; autoflush first writes pending changes so
            # that a re-read never drops them.
            sessions.configure(autoflush=True)
            inventory = InventoryClient(http, rt.observe_inventory)
            app.state.settings = settings
            app.state.runtime = rt
            app.state.sessions = sessions
            app.state.inventory = inventory
            app.state.tokens = TokenCache(inventory, settings.token_cache_s)
            app.state.feed = Feed(sessions, orm.events, signal, settings.feed_poll_interval_s)
            app.state.loops = loops
            app.state.metrics = rt.metrics
            # One LISTEN connection: the events feed and the loops' wake-ups (polls use them too).
            feed_listener = asyncio.create_task(
                listener.run(engine, rt, stop, feed=(FEED_CHANNEL, signal))
            )
            if settings.run_loops:
                loops.extend(_start_loops(settings, rt, engine, sessions, inventory, stop))
            yield
        finally:
            stop.set()
            if feed_listener is not None:
                feed_listener.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await feed_listener
            for signal_ in rt.signals:
                signal_.notify_all()
            if loops:
                loops[-1].cancel()  # the inventory feed: no database state, a long long-poll
                await asyncio.wait(loops, timeout=10)
                for task in loops:
                    task.cancel()
            await http.aclose()
            await engine.dispose()
            if single is not None:
                single.release()

    app = FastAPI(title="Contractor foreman", version="1", lifespan=lifespan)
    install_problem_handlers(app)
    app.add_middleware(RequestIdMiddleware)  # every log line of a request carries its id
    app.include_router(health.router)
    app.include_router(metrics.router)
    for router in (jobs.router, targets.router, agents.router, tasks.router):
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(feed_router(), prefix=API_PREFIX, dependencies=deps.READ_ALL)
    app.include_router(agent.router, prefix="/agent/v1")
    app.include_router(boot.router, prefix="/agent/v1")
    return app


def _start_loops(
    settings: Settings,
    rt: Runtime,
    engine: AsyncEngine,
    sessions: async_sessionmaker[AsyncSession],
    inventory: InventoryClient,
    stop: asyncio.Event,
) -> list[asyncio.Task[None]]:
    """Start the loops of spec §3.1 and the vacuum (PostgreSQL); the inventory feed comes last."""
    sqlite = is_sqlite(settings.database_url)
    work: list[Coroutine[Any, Any, None]] = [
        stepper.run(sessions, rt, stop) for _ in range(1 if sqlite else settings.steppers)
    ]
    work.append(server_tasks.run(sessions, rt, inventory, stop))
    work.append(reaper.run(sessions, rt, stop))
    work.append(prerequisites.run(sessions, rt, inventory, stop))
    work.append(retention.run(sessions, rt, stop))
    work.append(agent_status.run(sessions, rt, stop))
    if not sqlite:
        work.append(vacuum.run(engine, rt, stop))
    work.append(inventory_feed.run(inventory, rt, stop))
    return [asyncio.create_task(w) for w in work]
