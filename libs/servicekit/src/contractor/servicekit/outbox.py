"""The transactional outbox: events written with the change, read back as an ordered feed.

A service appends event rows inside the transaction that makes the change (the route owns the
transaction; :func:`append` only flushes). Readers follow ``GET /api/v1/events?after=<cursor>``.

**Cursor order equals commit order.** The cursor is an auto-incrementing integer key. On its own
that is not enough on PostgreSQL: transaction A may take cursor 7, transaction B cursor 8, and B
commit first; a reader that saw 8 and moved its cursor past it would never see 7. So
:func:`append` only records the event in the session; a ``before_commit`` hook then takes a
transaction-scoped advisory lock (``pg_advisory_xact_lock``) and inserts the transaction's
events, drawing their cursors (usually both in one statement), and the commit follows at once.
The lock is held until commit, so cursors are drawn in commit order and a visible cursor N
means every smaller cursor is committed or gone for good (rolled back). Outbox writers therefore
commit one at a time, but each holds the lock only for its final insert and commit, not while it
does its work. SQLite behaves the same way by construction: every write transaction starts with
``BEGIN IMMEDIATE`` (see :mod:`contractor.servicekit.db`), a single writer, and
``AUTOINCREMENT`` keeps cursors from ever being reused.

**Waking readers.** Waiting readers hold no database connection: they sleep on an in-process
:class:`FeedSignal`, set after every commit that appended events. Writers on PostgreSQL also
``NOTIFY`` the service's channel, and every replica runs :func:`listen`, one ``LISTEN``
connection that sets the signal when another replica commits events. Readers still re-query at
the latest every ``poll_interval`` seconds, which covers a notification lost while the listening
connection was being re-established.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from contractor.servicekit import ids
from contractor.servicekit.db import UTCDateTime, utcnow
from contractor.servicekit.errors import CursorExpired
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    bindparam,
    column,
    func,
    insert,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session, SessionTransaction

logger = logging.getLogger(__name__)
SIGNAL_INFO_KEY = "contractor.feed_signal"
CHANNEL_INFO_KEY = "contractor.feed_channel"
_PENDING_INFO_KEY = "contractor.outbox_pending"
_WROTE_INFO_KEY = "contractor.outbox_wrote"
_NOTIFY_INFO_KEY = "contractor.outbox_notify"
_CALLBACKS_INFO_KEY = "contractor.outbox_after_commit"


class FeedSignal:
    """Wakes every waiting feed reader of this process after a commit that appended events."""

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        """Wake all current waiters."""
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        """Sleep until the next :meth:`notify` or ``timeout`` seconds, whichever comes first."""
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            return


def events_table(metadata: MetaData, name: str = "events") -> Table:
    """Declare a service's outbox table on its metadata."""
    return Table(
        name,
        metadata,
        Column(
            "cursor",
            BigInteger().with_variant(Integer(), "sqlite"),
            primary_key=True,
            autoincrement=True,
        ),
        Column("id", String(36), nullable=False, unique=True),
        Column("type", String(64), nullable=False, index=True),
        Column("occurred_at", UTCDateTime(), nullable=False),
        Column("actor", JSON(), nullable=False),
        Column("site", String(100), nullable=True),
        Column("subject_kind", String(32), nullable=False),
        Column("subject_key", String(100), nullable=False),
        Column("data", JSON(), nullable=False),
        sqlite_autoincrement=True,
    )


def session_info(signal: FeedSignal, channel: str) -> dict[str, Any]:
    """The ``info`` a service's session factory carries so that :func:`append` can wake readers."""
    return {SIGNAL_INFO_KEY: signal, CHANNEL_INFO_KEY: channel}


def lock_key(channel: str) -> int:
    """The advisory lock id derived from a service's channel name (stable across processes)."""
    return zlib.crc32(channel.encode())


@dataclass(frozen=True)
class NewEvent:
    """An event to append."""

    type: str
    subject_kind: str
    subject_key: str
    data: dict[str, Any]
    actor: dict[str, Any]
    site: str | None = None


async def append(session: AsyncSession, table: Table, new: NewEvent) -> None:
    """Append one event to the caller's transaction; it is written when that transaction commits.

    The row is inserted by a ``before_commit`` hook, after the outbox lock (PostgreSQL), so the
    lock is held only for the insert and the commit itself. Events appended inside a savepoint
    that is rolled back are dropped with it.
    """
    sync = session.sync_session
    owner = sync.get_nested_transaction() or sync.get_transaction()
    pending = _hooked(session)
    pending.append(
        _Pending(
            owner=owner,
            table=table,
            values={
                "id": ids.uuid4(),
                "type": new.type,
                "occurred_at": utcnow(),
                "actor": new.actor,
                "site": new.site,
                "subject_kind": new.subject_kind,
                "subject_key": new.subject_key,
                "data": new.data,
            },
        )
    )


def insert_on_commit(session: AsyncSession, table: Table, values: dict[str, Any]) -> None:
    """Insert a row into ``table`` when the caller's transaction commits (not an event).

    For append-only rows nobody reads back in the transaction that writes them (logs, marks):
    they are inserted with one ``executemany`` per table just before the commit, which costs a
    fraction of flushing ORM objects one by one. Rows added inside a savepoint that is rolled
    back are dropped with it, as events are.
    """
    sync = session.sync_session
    owner = sync.get_nested_transaction() or sync.get_transaction()
    _hooked(session).append(_Pending(owner=owner, table=table, values=values, event=False))


def notify_on_commit(session: AsyncSession, channels: list[str], payload: str = "") -> None:
    """PostgreSQL ``NOTIFY`` each of ``channels`` with ``payload`` when the transaction commits.

    The notifications go out in the same statement as the outbox lock when the transaction
    appended events, else in one statement of their own, just before the commit: one round
    trip per transaction however many channels are named. Notifications sent inside a
    transaction are delivered only if it commits, so a rolled-back one wakes nobody. SQLite
    has no ``NOTIFY``: nothing is sent.
    """
    if not channels or session.get_bind().dialect.name != "postgresql":
        return
    _hooked(session)
    wanted: dict[str, str] = session.info.setdefault(_NOTIFY_INFO_KEY, {})
    for channel in channels:
        wanted[channel] = payload


def call_after_commit(session: AsyncSession, callback: Callable[[], None]) -> None:
    """Call ``callback`` in this process once the transaction commits (not if it rolls back).

    In-process wake-ups ride the commit hooks the outbox installs once per session, so a
    transaction that wakes someone registers no event listener of its own.
    """
    _hooked(session)
    session.info.setdefault(_CALLBACKS_INFO_KEY, []).append(callback)


def _hooked(session: AsyncSession) -> list[_Pending]:
    """The session's pending events (the commit hooks are installed once, on every session)."""
    pending: list[_Pending] | None = session.info.get(_PENDING_INFO_KEY)
    if pending is None:
        pending = session.info[_PENDING_INFO_KEY] = []
    return pending


@dataclass
class _Pending:
    owner: SessionTransaction | None
    table: Table
    values: dict[str, Any]
    event: bool = True


def _write_pending(session: Session) -> None:
    """``before_commit``: lock the outbox and insert the transaction's events (root commit only)."""
    if session.in_nested_transaction():
        return  # a savepoint is being released; its events stay pending with the root
    pending: list[_Pending] = session.info.get(_PENDING_INFO_KEY) or []
    notify: dict[str, str] = session.info.pop(_NOTIFY_INFO_KEY, None) or {}
    if not pending and not notify:
        return
    session.info[_PENDING_INFO_KEY] = []
    session.flush()  # the transaction's other writes first, so the lock is held only briefly
    _insert(session, [item for item in pending if not item.event])
    pending = [item for item in pending if item.event]
    if not pending:
        if notify:
            session.execute(_NOTIFY_MANY, _notify_params(notify))
        return
    if session.get_bind().dialect.name == "postgresql":
        # SQLite needs no lock: BEGIN IMMEDIATE already made this the only writer.
        channel = str(session.info.get(CHANNEL_INFO_KEY, "events"))
        _lock_and_insert(session, pending, channel, notify)
    else:
        _insert(session, pending)
    session.info[_WROTE_INFO_KEY] = True


def _by_table(pending: list[_Pending]) -> list[tuple[Table, list[dict[str, Any]]]]:
    """The pending rows grouped by table, tables and rows in the order they were added."""
    by_table: dict[str, tuple[Table, list[dict[str, Any]]]] = {}
    for item in pending:
        by_table.setdefault(item.table.name, (item.table, []))[1].append(item.values)
    return list(by_table.values())


def _insert(session: Session, pending: list[_Pending]) -> None:
    """One ``executemany`` per table, rows in the order they were added."""
    for table, rows in _by_table(pending):
        session.execute(table.insert(), rows)


LOCKED_INSERT_MAX_ROWS = 16
"""Events a transaction inserts in the lock's own statement; beyond, a separate insert."""


def _lock_and_insert(
    session: Session, pending: list[_Pending], channel: str, notify: dict[str, str]
) -> None:
    """Take the outbox lock (and send the notifications) and insert the events.

    Usually one round trip: the events of the first table ride in the lock's statement
    (:func:`_locked_insert`). A transaction with more than ``LOCKED_INSERT_MAX_ROWS`` events
    takes the lock first and inserts them by ``executemany``, as do further tables.
    """
    params: dict[str, Any] = {"key": lock_key(channel), "channel": channel}
    params.update(_notify_params(notify))
    (table, rows), *rest = _by_table(pending)
    names = tuple(rows[0])
    if len(rows) <= LOCKED_INSERT_MAX_ROWS and all(tuple(row) == names for row in rows):
        for index, row in enumerate(rows):
            params.update({f"e{index}_{name}": value for name, value in row.items()})
        session.execute(_locked_insert(table, names, len(rows)), params)
    else:
        session.execute(_LOCK_AND_NOTIFY, params)
        session.execute(table.insert(), rows)
    for table, rows in rest:
        session.execute(table.insert(), rows)


@functools.cache
def _locked_insert(table: Table, names: tuple[str, ...], count: int) -> Any:
    """``INSERT … SELECT`` of ``count`` rows from the lock's one-row CTE, built once per shape.

    The lock is taken before any cursor is drawn: each row's cursor default (``nextval``) is
    evaluated when the row is produced, and every row reads the CTE, which takes the lock
    first. ``UNION ALL`` keeps the rows, hence their cursors, in the order they were added.
    Parameters: those of `_LOCK_AND_NOTIFY`, and ``e<i>_<column>`` for row *i*.
    """
    lock = _LOCK_AND_NOTIFY.columns(column("locked"), column("notified"), column("sent")).cte(
        "outbox_lock"
    )
    selects = [
        select(
            *(bindparam(f"e{i}_{name}", type_=table.c[name].type) for name in names)
        ).select_from(lock)
        for i in range(count)
    ]
    return insert(table).from_select(list(names), selects[0] if count == 1 else union_all(*selects))


_NOTIFY_MANY = text(
    "SELECT count(pg_notify(c, p)) FROM unnest(CAST(:cs AS text[]), CAST(:ps AS text[])) AS n(c, p)"
)
_LOCK_AND_NOTIFY = text(
    "SELECT pg_advisory_xact_lock(:key) AS locked, pg_notify(:channel, '') AS notified, "
    "(SELECT count(pg_notify(c, p)) FROM unnest(CAST(:cs AS text[]), CAST(:ps AS text[])) "
    "AS n(c, p)) AS sent"
)


def _notify_params(notify: dict[str, str]) -> dict[str, list[str]]:
    return {"cs": list(notify), "ps": list(notify.values())}


def _drop_rolled_back(session: Session, previous: SessionTransaction) -> None:
    """``after_soft_rollback``: forget what was added inside the rolled-back transaction.

    A root rollback forgets everything still pending, notifications included (rows added before
    the transaction began, with no owner, belonged to it too); a savepoint's, only its own.
    """
    if previous.parent is None and not previous.nested:
        if session.info.get(_PENDING_INFO_KEY):
            session.info[_PENDING_INFO_KEY] = []
        session.info.pop(_NOTIFY_INFO_KEY, None)
        session.info.pop(_CALLBACKS_INFO_KEY, None)
        return
    pending: list[_Pending] = session.info.get(_PENDING_INFO_KEY) or []
    if pending:
        session.info[_PENDING_INFO_KEY] = [p for p in pending if not _within(p.owner, previous)]


def _within(owner: SessionTransaction | None, ended: SessionTransaction) -> bool:
    while owner is not None:
        if owner is ended:
            return True
        owner = owner.parent
    return False


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():
        return
    for callback in session.info.pop(_CALLBACKS_INFO_KEY, ()):
        callback()
    if not session.info.pop(_WROTE_INFO_KEY, False):
        return
    signal = session.info.get(SIGNAL_INFO_KEY)
    if isinstance(signal, FeedSignal):
        signal.notify()


async def listen(
    engine: AsyncEngine,
    handlers: Mapping[str, Callable[[str], None]],
    on_listening: Callable[[], None],
    *,
    check_s: float = 5.0,
) -> None:
    """Call ``handlers[channel](payload)`` on every ``NOTIFY`` (PostgreSQL; cancel to stop).

    ``on_listening`` runs each time the channels are listened to again, for what was committed
    while no one listened. The connection is checked every ``check_s`` seconds with a query
    outside any transaction (a listening session inside a transaction would get no
    notifications); a lost connection is opened again after a pause. Returns at once on SQLite.
    """
    if engine.dialect.name != "postgresql":
        return
    names = ", ".join(handlers)
    while True:
        try:
            async with engine.connect() as connection:
                raw = await connection.get_raw_connection()
                driver: Any = raw.driver_connection
                callbacks = {channel: _callback(handler) for channel, handler in handlers.items()}
                for channel, callback in callbacks.items():
                    await driver.add_listener(channel, callback)
                on_listening()
                try:
                    while True:
                        await asyncio.sleep(check_s)
                        await driver.fetchval("SELECT 1")
                except Exception:
                    # Errors of the raw driver connection bypass SQLAlchemy's disconnect
                    # handling: drop the connection, or the pool would hand it out again.
                    with contextlib.suppress(Exception):
                        await connection.invalidate()
                    raise
                finally:
                    for channel, callback in callbacks.items():
                        with contextlib.suppress(Exception):
                            await driver.remove_listener(channel, callback)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.warning("LISTEN %s: connection lost; listening again shortly", names)
            await asyncio.sleep(check_s / 5)


def _callback(handler: Callable[[str], None]) -> Callable[..., None]:
    def on_notify(_connection: Any, _pid: int, _channel: str, payload: str) -> None:
        handler(payload)

    return on_notify


def _type_filter(table: Table, types: list[str]) -> Any:
    clauses = []
    for pattern in types:
        if pattern.endswith("*"):
            clauses.append(table.c.type.startswith(pattern[:-1], autoescape=True))
        else:
            clauses.append(table.c.type == pattern)
    return or_(*clauses)


@dataclass(frozen=True)
class FeedQuery:
    """What a reader asks for."""

    after: int
    types: list[str]
    site: str | None
    limit: int


async def oldest_cursor(session: AsyncSession, table: Table) -> int | None:
    """The oldest retained cursor, or ``None`` when the outbox is empty."""
    value = (await session.execute(select(func.min(table.c.cursor)))).scalar_one_or_none()
    return None if value is None else int(value)


async def purge(session: AsyncSession, table: Table, older_than: datetime) -> int:
    """Delete events that occurred before ``older_than``; return how many went.

    The newest event is always kept, so cursors keep counting up.
    """
    head = await head_cursor(session, table)
    result = await session.execute(
        table.delete().where(table.c.occurred_at < older_than, table.c.cursor < head)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def check_not_expired(after: int, oldest: int | None) -> None:
    """Refuse a cursor whose successors may have been purged.

    A reader at ``after`` has seen every event up to it; if the oldest retained event is
    more than one past it, events in between may be gone (or were never committed: a rare
    false alarm, which only costs the reader a resync).

    Raises:
        CursorExpired: 410 with ``oldest_cursor``.
    """
    if after > 0 and oldest is not None and after < oldest - 1:
        raise CursorExpired(
            f"cursor {after} is older than the oldest retained event", oldest_cursor=str(oldest)
        )


async def read_page(
    session: AsyncSession, table: Table, query: FeedQuery
) -> tuple[list[Row[Any]], int]:
    """Read one page of matching events after ``query.after``.

    Returns:
        The events and the last cursor *scanned*, so that filtered-out events are not scanned
        again by the next request.
    """
    check_not_expired(query.after, await oldest_cursor(session, table))
    head = await head_cursor(session, table)
    if head <= query.after:
        return [], query.after
    stmt = select(table).where(table.c.cursor > query.after, table.c.cursor <= head)
    if query.types:
        stmt = stmt.where(_type_filter(table, query.types))
    if query.site is not None:
        stmt = stmt.where(table.c.site == query.site)
    rows = list((await session.execute(stmt.order_by(table.c.cursor).limit(query.limit))).all())
    scanned = rows[-1].cursor if len(rows) == query.limit else head
    return rows, int(scanned)


async def head_cursor(session: AsyncSession, table: Table) -> int:
    """The newest cursor, or 0 when the outbox is empty."""
    value = (await session.execute(select(func.max(table.c.cursor)))).scalar_one_or_none()
    return int(value or 0)


async def wait_for_page(
    sessions: async_sessionmaker[AsyncSession],
    table: Table,
    query: FeedQuery,
    *,
    wait: float,
    signal: FeedSignal,
    poll_interval: float = 0.5,
) -> tuple[list[Row[Any]], int]:
    """Long-poll: answer as soon as a matching event exists or ``wait`` seconds have passed.

    No database connection is held while waiting.
    """
    deadline = time.monotonic() + wait
    after = query.after
    while True:
        async with sessions() as session:
            rows, scanned = await read_page(
                session, table, FeedQuery(after, query.types, query.site, query.limit)
            )
        remaining = deadline - time.monotonic()
        if rows or remaining <= 0:
            return rows, scanned
        after = scanned
        await signal.wait(min(remaining, poll_interval))


def event_json(row: Row[Any]) -> dict[str, Any]:
    """Render an event row as the feed's envelope."""
    occurred: datetime = row.occurred_at
    return {
        "cursor": str(row.cursor),
        "id": row.id,
        "type": row.type,
        "occurred_at": occurred.isoformat(timespec="microseconds").replace("+00:00", "Z"),
        "actor": row.actor,
        "site": row.site,
        "subject": {"kind": row.subject_kind, "key": row.subject_key},
        "data": row.data,
    }


# The commit hooks listen on every ORM session of the process, once: registering three
# listeners per transaction cost more than the hooks do. A session that never used the outbox
# has nothing in its ``info`` for them, and they return at once.
sa_event.listen(Session, "before_commit", _write_pending)
sa_event.listen(Session, "after_soft_rollback", _drop_rolled_back)
sa_event.listen(Session, "after_commit", _after_commit)
