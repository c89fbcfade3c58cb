"""Script sources, stored once by content hash (spec §1 ``programs``)."""

from __future__ import annotations

from contractor.foreman import orm
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from tscript.program import source_sha256


def program_id(source: str) -> str:
    """``sha256:<hex>`` of a script source."""
    return f"sha256:{source_sha256(source)}"


async def ensure(session: AsyncSession, source: str) -> str:
    """Store ``source`` unless already stored; return its id.

    ``ON CONFLICT DO NOTHING``: concurrent job creations with the same script (same hash) race
    to insert the same row; the loser must not fail its request.
    """
    pid = program_id(source)
    if await session.get(orm.Program, pid) is None:
        postgres = session.get_bind().dialect.name == "postgresql"
        insert = pg_insert if postgres else sqlite_insert
        stmt = insert(orm.Program).values(id=pid, source=source)
        await session.execute(stmt.on_conflict_do_nothing(index_elements=["id"]))
    return pid


_SOURCES: dict[str, str] = {}
SOURCE_CACHE_SIZE = 256


async def source(session: AsyncSession, pid: str) -> str:
    """The source of program ``pid`` (kept in memory: an id names one source for good)."""
    cached = _SOURCES.get(pid)
    if cached is not None:
        return cached
    row = await session.get(orm.Program, pid)
    if row is None:
        raise LookupError(f"program {pid} is missing")
    if len(_SOURCES) >= SOURCE_CACHE_SIZE:
        _SOURCES.pop(next(iter(_SOURCES)))  # the oldest entry
    _SOURCES[pid] = row.source
    return row.source
