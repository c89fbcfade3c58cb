"""Async engines and sessions for PostgreSQL (asyncpg) and SQLite (aiosqlite).

The URL decides the database. SQLite gets WAL, foreign keys, a busy timeout and
``BEGIN IMMEDIATE`` for every transaction: SQLite allows one writer, and taking the write lock
up front turns lock upgrades (which fail with "database is locked") into plain waiting.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import DateTime, event, make_url
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import InvalidatePoolError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util import await_

SQLITE_BUSY_TIMEOUT_MS = 30_000
PREPARED_STATEMENT_CACHE = 500
POOL_SIZE = 15
"""Connections per process: SQLAlchemy's default ceiling (5 + 10 overflow), all kept."""
_FRESH = "contractor.fresh"


def json_dumps(value: Any) -> str:
    """JSON column text: orjson (several times faster than ``json``), ``json`` for what it refuses.

    orjson refuses integers beyond 64 bits and non-string keys, which ``json`` writes.
    """
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(value)


def json_loads(text: str) -> Any:
    """A JSON column's value: orjson, or ``json`` where orjson would differ.

    orjson reads an integer beyond 64 bits as a float, so text holding a run of 19 or more
    digits (the only place such an integer can be) is read by ``json``, which keeps it exact.
    The run is looked for in the text's bytes with every digit mapped to 0: a byte search,
    some twenty times faster than a regular expression.
    """
    if _DIGIT_RUN not in text.encode().translate(_DIGITS_TO_ZERO):
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            pass
    return json.loads(text)


_DIGITS_TO_ZERO = bytes(0 if 0x30 <= byte <= 0x39 else 1 for byte in range(256))
_DIGIT_RUN = bytes(19)


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
            json_serializer=json_dumps,
            json_deserializer=json_loads,
            pool_size=POOL_SIZE,
            max_overflow=0,
            # Hot statements with expanding IN lists come in many lengths; the default cache
            # of 100 prepared statements per connection thrashes and re-prepares them.
            connect_args={"prepared_statement_cache_size": PREPARED_STATEMENT_CACHE},
        )
        _check_on_checkout(engine)
        return engine
    path = make_url(url).database
    if path and path != ":memory:" and not path.startswith("file:"):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(
        url,
        echo=echo,
        json_serializer=json_dumps,
        json_deserializer=json_loads,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
    )
    _configure_sqlite(engine, read_only=read_only)
    return engine


def _check_on_checkout(engine: AsyncEngine) -> None:
    """Check each pooled connection before use, in one round trip.

    Connections a database restart left stale are replaced without failing requests, as
    ``pool_pre_ping`` does. But SQLAlchemy's check on asyncpg wraps its ``;`` in ``BEGIN`` …
    ``ROLLBACK`` unless the connection is in autocommit at checkout (for pgbouncer's transaction
    mode, SQLAlchemy issue 10226): three round trips before every transaction, as much as a
    small transaction costs. Here the check is one ``SELECT 1`` by the simple query protocol:
    one round trip and no prepared statement, which pgbouncer's transaction mode cannot take
    either (not ``;``: asyncpg fails on the empty query's answer in the simple protocol). A
    failed check raises ``InvalidatePoolError``, as SQLAlchemy's own does: the pool drops every
    connection older than now and checks out a new one. A connection just made is not checked.

    The pool keeps every connection it opens (``POOL_SIZE``, no overflow): SQLAlchemy's
    default (5 kept, 10 more opened for a burst and closed on return) makes a steady load of 6
    to 15 concurrent transactions open and close connections all the time, each a TCP
    connection, an authentication and statements prepared again.
    """
    pool = engine.sync_engine.pool

    @event.listens_for(pool, "connect")
    def _on_connect(_dbapi_connection: Any, record: Any) -> None:
        record.info[_FRESH] = True

    @event.listens_for(pool, "checkout")
    def _on_checkout(_dbapi_connection: Any, record: Any, proxy: Any) -> None:
        if record.info.pop(_FRESH, False):
            return
        try:
            await_(proxy.driver_connection.execute("SELECT 1"))
        except Exception as error:  # any failure: the connection is not fit for use
            raise InvalidatePoolError(f"liveness check failed: {error!r}") from error


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
