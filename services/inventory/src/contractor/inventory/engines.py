"""The service's database engine: servicekit's, with a liveness check of one round trip.

Pooled connections are checked before use, so that connections a database restart left stale
are replaced without failing requests (servicekit's ``pool_pre_ping``). On asyncpg,
SQLAlchemy's check wraps its ``;`` in ``BEGIN`` … ``ROLLBACK`` unless the connection is in
autocommit at checkout (for pgbouncer's transaction mode, SQLAlchemy issue 10226), and ours
never are (readers switch to autocommit after checkout): three round trips before every
request's first statement, more than most reads cost in all.

Here the check is one ``SELECT 1`` sent by the simple query protocol: one round trip, and no
prepared statement, which is what pgbouncer's transaction mode cannot take. (Not ``;``: asyncpg
fails on the empty query's answer in the simple protocol.) A failed check
raises ``InvalidatePoolError``, as SQLAlchemy's own does: the pool drops every connection
older than now and checks out a new one (a connection just made is not checked).

The pool keeps every connection it opens: SQLAlchemy's default (5 kept, 10 more opened for a
burst and closed on return) makes a steady load of 6 to 15 concurrent requests open and close
connections all the time, each opening a TCP connection, authentication and re-preparing
statements. Up to 15 are kept (``pool_size=15, max_overflow=0``): the same ceiling of 15
connections per replica as before.
"""

from __future__ import annotations

from typing import Any

from contractor.servicekit.db import create_engine as servicekit_engine
from contractor.servicekit.db import is_sqlite
from sqlalchemy import event, exc
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.util import await_

_FRESH = "contractor.fresh"
POOL_SIZE = 15
"""Connections per replica: SQLAlchemy's default ceiling (5 + 10 overflow), all kept."""


def create_engine(url: str, *, echo: bool = False, read_only: bool = False) -> AsyncEngine:
    """Build the engine for ``url`` (see :func:`contractor.servicekit.db.create_engine`)."""
    if is_sqlite(url):
        return servicekit_engine(url, echo=echo, read_only=read_only)
    engine = create_async_engine(url, echo=echo, pool_size=POOL_SIZE, max_overflow=0)
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
            raise exc.InvalidatePoolError(f"liveness check failed: {error!r}") from error

    return engine
