"""Async engines and sessions for PostgreSQL (asyncpg) and SQLite (aiosqlite).

The URL decides the database. SQLite gets WAL, foreign keys, a busy timeout and
``BEGIN IMMEDIATE`` for every transaction: SQLite allows one writer, and taking the write lock
up front turns lock upgrades (which fail with "database is locked") into plain waiting.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, event, make_url
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.types import TypeDecorator

SQLITE_BUSY_TIMEOUT_MS = 30_000
PREPARED_STATEMENT_CACHE = 500
IDLE_PING_S = 1.0
"""A pooled connection unused for longer than this is pinged before it is handed out."""
_LAST_CHECKIN = "contractor.last_checkin"


def is_sqlite(url: str) -> bool:
    """Tell whether a database URL names SQLite."""
    return url.startswith("sqlite")


def create_engine(url: str, *, echo: bool = False, read_only: bool = False) -> AsyncEngine:
    """Build an async engine for ``url`` (``sqlite+aiosqlite://…`` or ``postgresql+asyncpg://…``).

    Args:
        url: SQLAlchemy database URL.
        echo: Log SQL statements (never enable in production: parameters may hold secrets).
        read_only: SQLite only: an engine for readers. Its transactions start with a plain
            (deferred) ``BEGIN`` and the connection refuses writes (``query_only``), so readers
            never queue for the write lock; in WAL mode they see the last committed state.

    Returns:
        The engine; the caller disposes of it.
    """
    if not is_sqlite(url):
        engine = create_async_engine(
            url,
            echo=echo,
            # Hot statements with expanding IN lists come in many lengths; the default cache
            # of 100 prepared statements per connection thrashes and re-prepares them.
            connect_args={"prepared_statement_cache_size": PREPARED_STATEMENT_CACHE},
        )
        _ping_when_idle(engine)
        return engine
    path = make_url(url).database
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    )
    _configure_sqlite(engine, read_only=read_only)
    return engine


def _ping_when_idle(engine: AsyncEngine) -> None:
    """Check a pooled connection on checkout only if it sat unused for ``IDLE_PING_S``.

    A stale connection (the database restarted) is replaced before a request uses it, like
    ``pool_pre_ping``, but a busy connection is not pinged: the ping is three round trips
    (``BEGIN``, ``;``, ``ROLLBACK``), as much as a small transaction. A connection that breaks
    while busy fails its statement, and SQLAlchemy then invalidates every connection of the
    pool that is older, so the next checkouts reconnect.
    """

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        if time.monotonic() - record.info.get(_LAST_CHECKIN, 0.0) < IDLE_PING_S:
            return
        try:
            dbapi_connection.ping()
        except Exception as exc:
            raise DisconnectionError(f"stale pooled connection: {exc}") from exc

    @event.listens_for(engine.sync_engine, "checkin")
    @event.listens_for(engine.sync_engine, "connect")
    def _on_checkin(_dbapi_connection: Any, record: Any) -> None:
        record.info[_LAST_CHECKIN] = time.monotonic()


def _configure_sqlite(engine: AsyncEngine, *, read_only: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, emit BEGIN, so that it can be BEGIN IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        if read_only:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")


def create_session_factory(
    engine: AsyncEngine, info: dict[str, Any] | None = None
) -> async_sessionmaker[AsyncSession]:
    """Build the session factory services keep in ``app.state.sessions``.

    Args:
        engine: The service's engine.
        info: Copied into every session's ``info`` (e.g. :func:`outbox.session_info`).
    """
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False, info=info or {})


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on both databases (SQLite drops the zone otherwise)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store aware values as UTC."""
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Load values as aware UTC datetimes."""
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    """Now, as an aware UTC datetime."""
    return datetime.now(UTC)
