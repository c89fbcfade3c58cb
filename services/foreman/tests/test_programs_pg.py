"""Two job creations with the same script store its program once, neither fails (PostgreSQL)."""

from __future__ import annotations

import asyncio

from contractor.foreman import orm
from contractor.foreman.store import programs
from contractor.servicekit import testing
from contractor.servicekit.db import create_engine, create_session_factory
from sqlalchemy import func, select


async def test_concurrent_ensure_of_the_same_source(pg_url: str) -> None:
    await testing.wipe_tables(pg_url, orm.Base.metadata)
    engine = create_engine(pg_url)
    sessions = create_session_factory(engine)
    source = "x1 = sim.echo(value=1)\n"
    try:
        async with sessions() as first, sessions() as second:
            await first.begin()
            await second.begin()
            pid = await programs.ensure(first, source)  # inserted, not committed yet
            # The second one does not see the row yet; its insert waits for the first commit.
            pending = asyncio.create_task(programs.ensure(second, source))
            await asyncio.sleep(0.2)
            await first.commit()
            assert await asyncio.wait_for(pending, 10) == pid
            await second.commit()
        async with sessions() as session:
            count = await session.scalar(select(func.count()).select_from(orm.Program))
            assert count == 1
    finally:
        await engine.dispose()
