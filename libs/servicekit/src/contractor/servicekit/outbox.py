"""The transactional outbox: events written with the change, read back as an ordered feed.

A service appends event rows inside the transaction that makes the change (the route owns the
transaction; :func:`append` only flushes). Readers follow ``GET /api/v1/events?after=<cursor>``.

**Cursor order equals commit order.** The cursor is an auto-incrementing integer key. On its own
that is not enough on PostgreSQL: transaction A may take cursor 7, transaction B cursor 8, and B
commit first; a reader that saw 8 and moved its cursor past it would never see 7. So every
outbox writer first takes a transaction-scoped advisory lock (``pg_advisory_xact_lock``) and only
then draws its cursor; the lock is held until commit, so cursors are drawn in commit order and a
visible cursor N means every smaller cursor is committed or gone for good (rolled back). The
price is that outbox writers commit one at a time, which is also how SQLite behaves: there every
write transaction starts with ``BEGIN IMMEDIATE`` (see :mod:`contractor.servicekit.db`), a single
writer, and ``AUTOINCREMENT`` keeps cursors from ever being reused.

**Waking readers.** Waiting readers hold no database connection: they sleep on an in-process
:class:`FeedSignal`, set after every commit that appended events, and re-query at the latest
every ``poll_interval`` seconds so that events committed by other replicas are seen too. Writers
on PostgreSQL also ``NOTIFY`` the service's channel, for listeners on other replicas.
"""

from __future__ import annotations

import asyncio
import time
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

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
    func,
    or_,
    select,
    text,
)
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

SIGNAL_INFO_KEY = "contractor.feed_signal"
CHANNEL_INFO_KEY = "contractor.feed_channel"
_LOCKED_INFO_KEY = "contractor.outbox_locked_tx"


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


async def append(session: AsyncSession, table: Table, new: NewEvent) -> int:
    """Append one event inside the caller's transaction and return its cursor.

    Takes the outbox lock on first use in the transaction (PostgreSQL), so that cursor order
    equals commit order. Flushes only; the caller commits.
    """
    await _lock_once(session)
    result = await session.execute(
        table.insert()
        .values(
            id=str(uuid.uuid4()),
            type=new.type,
            occurred_at=utcnow(),
            actor=new.actor,
            site=new.site,
            subject_kind=new.subject_kind,
            subject_key=new.subject_key,
            data=new.data,
        )
        .returning(table.c.cursor)
    )
    cursor: int = result.scalar_one()
    signal = session.info.get(SIGNAL_INFO_KEY)
    if isinstance(signal, FeedSignal):
        sa_event.listen(session.sync_session, "after_commit", _notifier(signal), once=True)
    return cursor


def _notifier(signal: FeedSignal) -> Any:
    def _after_commit(_session: Session) -> None:
        signal.notify()

    return _after_commit


async def _lock_once(session: AsyncSession) -> None:
    if session.get_bind().dialect.name != "postgresql":
        return  # SQLite: BEGIN IMMEDIATE already made this the only writer.
    transaction = session.sync_session.get_transaction()
    if session.info.get(_LOCKED_INFO_KEY) is transaction:
        return
    channel = str(session.info.get(CHANNEL_INFO_KEY, "events"))
    # One round trip: the notification is only delivered at commit anyway.
    await session.execute(
        text("SELECT pg_advisory_xact_lock(:key), pg_notify(:channel, '')"),
        {"key": lock_key(channel), "channel": channel},
    )
    session.info[_LOCKED_INFO_KEY] = transaction


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
