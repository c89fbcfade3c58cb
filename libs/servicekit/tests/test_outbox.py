from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from contractor.servicekit import outbox
from contractor.servicekit.db import create_engine, create_session_factory
from sqlalchemy import Column, Integer, MetaData, String, Table, event, select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

metadata = MetaData()
events = outbox.events_table(metadata, "kit_events")


def new(key: str, type: str = "thing.created") -> outbox.NewEvent:
    return outbox.NewEvent(
        type=type,
        subject_kind="thing",
        subject_key=key,
        data={"k": key},
        actor={"kind": "test"},
        site="s1",
    )


@pytest.fixture
async def sessions(kit_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    url = kit_url
    engine = create_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.drop_all)
        await connection.run_sync(metadata.create_all)
    signal = outbox.FeedSignal()
    try:
        yield create_session_factory(engine, outbox.session_info(signal, "kit_events"))
    finally:
        await engine.dispose()


async def test_append_and_read_in_order(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        for key in ("a", "b", "c"):
            await outbox.append(session, events, new(key))
    async with sessions() as session:
        rows, scanned = await outbox.read_page(session, events, outbox.FeedQuery(0, [], None, 2))
        assert [r.subject_key for r in rows] == ["a", "b"] and scanned == rows[-1].cursor
        rows, scanned = await outbox.read_page(
            session, events, outbox.FeedQuery(scanned, [], None, 10)
        )
        assert [r.subject_key for r in rows] == ["c"]
        assert scanned == await outbox.head_cursor(session, events)


async def test_rolled_back_events_vanish(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session:
        await session.begin()
        await outbox.append(session, events, new("gone"))
        await session.rollback()
    async with sessions() as session:
        rows, _ = await outbox.read_page(session, events, outbox.FeedQuery(0, [], None, 10))
        assert rows == []


async def test_cursor_order_is_commit_order(sessions: async_sessionmaker[AsyncSession]) -> None:
    first, second = sessions(), sessions()
    try:
        await first.begin()
        await outbox.append(first, events, new("first"))
        # The second writer starts later but commits first: its event comes first in the feed.
        await _append_and_commit(second, "second")
        async with sessions() as reader:
            rows, _ = await outbox.read_page(reader, events, outbox.FeedQuery(0, [], None, 10))
            assert [r.subject_key for r in rows] == ["second"]  # nothing visible before commit
        await first.commit()
    finally:
        await first.close()
        await second.close()
    async with sessions() as session:
        rows, _ = await outbox.read_page(session, events, outbox.FeedQuery(0, [], None, 10))
    assert [r.subject_key for r in rows] == ["second", "first"]
    assert rows[0].cursor < rows[1].cursor


async def test_outbox_lock_is_taken_at_commit_not_at_append(kit_pg_url: str) -> None:
    # PostgreSQL: a transaction holding the outbox lock (committing) blocks other committers;
    # a transaction that has only appended holds nothing, so others commit past it.
    engine = create_engine(kit_pg_url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.drop_all)
        await connection.run_sync(metadata.create_all)
    sessions = create_session_factory(engine, outbox.session_info(outbox.FeedSignal(), "kit_lk"))
    idle, holder = sessions(), sessions()
    try:
        await idle.begin()
        await outbox.append(idle, events, new("idle"))
        await _append_and_commit(sessions(), "passes")  # not blocked by the idle appender
        await holder.begin()
        await holder.execute(
            text("SELECT pg_advisory_xact_lock(:k)"), {"k": outbox.lock_key("kit_lk")}
        )
        late = asyncio.create_task(_append_and_commit(sessions(), "waits"))
        await asyncio.sleep(0.3)
        assert not late.done()  # its commit waits for the outbox lock
        await holder.commit()
        await asyncio.wait_for(late, 10)
        await idle.rollback()
    finally:
        await idle.close()
        await holder.close()
    async with sessions() as session:
        rows, _ = await outbox.read_page(session, events, outbox.FeedQuery(0, [], None, 10))
    assert [r.subject_key for r in rows] == ["passes", "waits"]
    await engine.dispose()


async def test_savepoint_rollback_drops_its_events(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        await outbox.append(session, events, new("outer"))
        with pytest.raises(ValueError):
            async with session.begin_nested():
                await outbox.append(session, events, new("rolled-back"))
                raise ValueError
        async with session.begin_nested():
            await outbox.append(session, events, new("released"))
        await outbox.append(session, events, new("last"))
    async with sessions() as session:
        rows, _ = await outbox.read_page(session, events, outbox.FeedQuery(0, [], None, 10))
    assert [r.subject_key for r in rows] == ["outer", "released", "last"]


async def test_session_reused_for_a_second_transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        async with session.begin():
            await outbox.append(session, events, new("one"))
        async with session.begin():
            await outbox.append(session, events, new("dropped"))
            await session.rollback()
        async with session.begin():
            await outbox.append(session, events, new("two"))
    async with sessions() as session:
        rows, _ = await outbox.read_page(session, events, outbox.FeedQuery(0, [], None, 10))
    assert [r.subject_key for r in rows] == ["one", "two"]


async def _append_and_commit(session: AsyncSession, key: str) -> None:
    await session.begin()
    await outbox.append(session, events, new(key))
    await session.commit()
    await session.close()


async def test_wait_for_page_wakes_on_commit(sessions: async_sessionmaker[AsyncSession]) -> None:
    signal = sessions.kw["info"][outbox.SIGNAL_INFO_KEY]
    query = outbox.FeedQuery(0, ["thing.*"], None, 10)
    waiter = asyncio.create_task(
        outbox.wait_for_page(sessions, events, query, wait=10, signal=signal, poll_interval=5)
    )
    await asyncio.sleep(0.2)
    async with sessions() as session, session.begin():
        await outbox.append(session, events, new("x", "other.created"))
        await outbox.append(session, events, new("y"))
    rows, _ = await asyncio.wait_for(waiter, 3)
    assert [r.subject_key for r in rows] == ["y"]


async def test_sqlite_write_transactions_begin_immediate(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'lock.sqlite3'}")
    try:
        async with engine.begin() as connection:
            mode = (await connection.execute(text("PRAGMA journal_mode"))).scalar_one()
            assert mode == "wal"
            await connection.execute(text("CREATE TABLE t (x INTEGER)"))
        sessions = create_session_factory(engine)
        holder = sessions()
        await holder.begin()
        await holder.execute(text("SELECT 1"))  # BEGIN IMMEDIATE: the write lock is taken now
        other = asyncio.create_task(_insert(sessions))
        await asyncio.sleep(0.3)
        assert not other.done()
        await holder.commit()
        await holder.close()
        await asyncio.wait_for(other, 10)
    finally:
        await engine.dispose()


async def _insert(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        await session.execute(text("INSERT INTO t VALUES (1)"))


notes = Table(
    "kit_notes",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("body", String(50), nullable=False),
)


async def _notes(sessions: async_sessionmaker[AsyncSession]) -> list[str]:
    async with sessions() as session:
        return list(await session.scalars(select(notes.c.body).order_by(notes.c.id)))


async def test_insert_on_commit_writes_rows_at_commit_only(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        outbox.insert_on_commit(session, notes, {"body": "a"})
        outbox.insert_on_commit(session, notes, {"body": "b"})
        # Not written yet: nothing in the transaction reads them back before the commit.
        assert list(await session.scalars(select(notes.c.body))) == []
    assert await _notes(sessions) == ["a", "b"]
    async with sessions() as session, session.begin():
        outbox.insert_on_commit(session, notes, {"body": "rolled back"})
        await session.rollback()
    assert await _notes(sessions) == ["a", "b"]


async def test_insert_on_commit_follows_savepoints_and_keeps_events_apart(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        outbox.insert_on_commit(session, notes, {"body": "outer"})
        with pytest.raises(ValueError):
            async with session.begin_nested():
                outbox.insert_on_commit(session, notes, {"body": "dropped"})
                await outbox.append(session, events, new("dropped"))
                raise ValueError
        async with session.begin_nested():
            outbox.insert_on_commit(session, notes, {"body": "kept"})
    assert await _notes(sessions) == ["outer", "kept"]
    async with sessions() as session:
        rows, _ = await outbox.read_page(session, events, outbox.FeedQuery(0, [], None, 10))
    assert rows == []  # plain rows are not events: the feed stays empty


async def test_notify_on_commit_sends_after_commit_with_payload(kit_pg_url: str) -> None:
    engine = create_engine(kit_pg_url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    sessions = create_session_factory(engine, outbox.session_info(outbox.FeedSignal(), "kit"))
    listener = await asyncpg.connect(kit_pg_url.replace("+asyncpg", ""))
    heard: list[tuple[str, str]] = []
    for channel in ("kit_a", "kit_b"):
        await listener.add_listener(
            channel, lambda _c, _p, ch, payload: heard.append((ch, payload))
        )
    try:
        async with sessions() as session:
            async with session.begin():
                outbox.notify_on_commit(session, ["kit_a"], "r1")
                outbox.insert_on_commit(session, notes, {"body": "r1"})
                await session.rollback()  # a rolled-back transaction notifies nobody ...
            async with session.begin():
                await session.execute(text("SELECT 1"))  # ... nor the session's next one
        async with sessions() as session, session.begin():
            outbox.notify_on_commit(session, ["kit_a", "kit_b"], "r2")
            await outbox.append(session, events, new("with-event"))  # one statement for both
        async with sessions() as session, session.begin():
            outbox.notify_on_commit(session, ["kit_b"], "r3")  # no event: a statement of its own
        for _ in range(100):
            if len(heard) >= 3:
                break
            await asyncio.sleep(0.02)
        assert sorted(heard) == [("kit_a", "r2"), ("kit_b", "r2"), ("kit_b", "r3")]
        assert "r1" not in await _notes(sessions)
    finally:
        await listener.close()
        await engine.dispose()


async def test_call_after_commit_runs_on_commit_only(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    called: list[str] = []
    async with sessions() as session:
        async with session.begin():
            outbox.call_after_commit(session, lambda: called.append("rolled back"))
            await session.rollback()
        async with session.begin():
            outbox.call_after_commit(session, lambda: called.append("committed"))
            assert called == []  # not before the commit
    assert called == ["committed"]


async def test_commit_locks_and_inserts_its_events_in_one_statement(kit_pg_url: str) -> None:
    engine = create_engine(kit_pg_url)
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    sessions = create_session_factory(engine, outbox.session_info(outbox.FeedSignal(), "kit_one"))
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
        statements.append(statement)

    try:
        async with sessions() as session:
            await session.begin()
            for key in ("one-a", "one-b"):
                await outbox.append(session, events, new(key))
            event.listen(engine.sync_engine, "before_cursor_execute", record)
            await session.commit()
        event.remove(engine.sync_engine, "before_cursor_execute", record)
        assert len(statements) == 1  # the lock and both rows: one round trip before COMMIT
        assert "pg_advisory_xact_lock" in statements[0]
        assert "INSERT INTO kit_events" in statements[0]
    finally:
        await engine.dispose()


async def test_many_events_in_one_transaction_keep_their_order(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # Beyond LOCKED_INSERT_MAX_ROWS the rows go in by executemany after the lock (PostgreSQL).
    for count in (outbox.LOCKED_INSERT_MAX_ROWS, outbox.LOCKED_INSERT_MAX_ROWS + 5):
        keys = [f"n{count}-{i:02d}" for i in range(count)]
        async with sessions() as session, session.begin():
            for key in keys:
                await outbox.append(session, events, new(key))
        async with sessions() as session:
            rows = (
                await session.execute(
                    select(events.c.subject_key)
                    .where(events.c.subject_key.startswith(f"n{count}-"))
                    .order_by(events.c.cursor)
                )
            ).all()
        assert [r.subject_key for r in rows] == keys
