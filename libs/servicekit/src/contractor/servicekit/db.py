"""Async engines and sessions for PostgreSQL (asyncpg) and SQLite (aiosqlite).

The URL decides the database. SQLite gets WAL, foreign keys, a busy timeout and
``BEGIN IMMEDIATE`` for every transaction: SQLite allows one writer, and taking the write lock
up front turns lock upgrades (which fail with "database is locked") into plain waiting.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, event, make_url
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.types import TypeDecorator

SQLITE_BUSY_TIMEOUT_MS = 30_000


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
        # Pre-ping costs a round trip per checkout but replaces connections a database
        # restart left stale, so services recover without failing requests.
        return create_async_engine(url, echo=echo, pool_pre_ping=True)
    path = make_url(url).database
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        url, echo=echo, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
    )
    _configure_sqlite(engine, read_only=read_only)
    return engine


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
