"""The inventory application: ``create_app(settings)`` and its lifespan."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from contractor.inventory import api, deps, migrate, orm, problems, retention
from contractor.inventory.config import ConfigRenderer
from contractor.inventory.encryption import secret_box
from contractor.inventory.settings import Settings
from contractor.inventory.store.config_rows import KNOWN_CHAINS, KnownChains
from contractor.inventory.token_cache import CHANNEL as TOKENS_CHANNEL
from contractor.inventory.token_cache import TokenCache
from contractor.servicekit.db import create_engine, create_session_factory, is_sqlite
from contractor.servicekit.errors import install_problem_handlers
from contractor.servicekit.feed import Feed, feed_router
from contractor.servicekit.limits import MIB, BodyRule, RequestLimits
from contractor.servicekit.outbox import FeedSignal, listen, session_info
from fastapi import FastAPI

API_PREFIX = "/api/v1"
FEED_CHANNEL = "inventory_events"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the inventory app; nothing connects until the lifespan starts."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        box = secret_box(settings)
        engine = create_engine(settings.database_url, echo=settings.sql_echo)
        # SQLite: readers get their own engine so that they never queue for the write lock.
        # PostgreSQL: readers share the pool in autocommit: a read needs no BEGIN and ROLLBACK
        # round trips (under READ COMMITTED each statement has its own snapshot anyway).
        readers = (
            create_engine(settings.database_url, echo=settings.sql_echo, read_only=True)
            if is_sqlite(settings.database_url)
            else engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        try:
            await migrate.ensure_current(engine)
            signal = FeedSignal()
            # Write sessions also carry the chains recent creates read (``store.config_rows``).
            sessions = create_session_factory(
                engine,
                {**session_info(signal, FEED_CHANNEL), KNOWN_CHAINS: KnownChains()},
            )
            read_sessions = create_session_factory(readers, session_info(signal, FEED_CHANNEL))
            app.state.settings = settings
            app.state.box = box
            app.state.token_cache = TokenCache(settings.token_cache_s)
            app.state.renderer = ConfigRenderer(max_rounds=settings.render_max_rounds)
            app.state.sessions = sessions
            app.state.read_sessions = read_sessions
            app.state.feed = Feed(read_sessions, orm.events, signal, settings.feed_poll_interval_s)
            purger = asyncio.create_task(
                retention.purge_forever(
                    sessions, settings.event_retention_days, settings.event_purge_interval_s
                )
            )
            token_cache: TokenCache = app.state.token_cache

            listened = False

            def listening_again() -> None:  # what was missed meanwhile: wake readers, re-check
                nonlocal listened
                signal.notify()
                if listened:  # revocations may have been missed while not listening
                    token_cache.forget_all()
                listened = True

            handlers = {
                FEED_CHANNEL: lambda _payload: signal.notify(),
                TOKENS_CHANNEL: token_cache.on_revoked,
            }
            listener = asyncio.create_task(listen(engine, handlers, listening_again))
            try:
                yield
            finally:
                for task in (purger, listener):
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
        finally:
            await engine.dispose()
            if is_sqlite(settings.database_url):
                await readers.dispose()

    app = FastAPI(title="Contractor inventory", version="1", lifespan=lifespan)
    install_problem_handlers(app)
    problems.install(app)
    app.add_middleware(
        RequestLimits,
        overrides={
            f"{API_PREFIX}/blueprints/import": BodyRule(
                5 * MIB, frozenset({"application/toml", "text/plain"})
            )
        },
    )
    app.include_router(api.health.router)
    for router in api.ROUTERS:
        app.include_router(router, prefix=API_PREFIX)
    app.include_router(feed_router(), prefix=API_PREFIX, dependencies=deps.READ_ALL)
    return app
