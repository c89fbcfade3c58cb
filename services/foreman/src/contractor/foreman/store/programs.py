"""Script sources, stored once by content hash (spec §1 ``programs``)."""

from __future__ import annotations

from contractor.foreman import orm
from sqlalchemy.ext.asyncio import AsyncSession
from tscript.program import source_sha256


def program_id(source: str) -> str:
    """``sha256:<hex>`` of a script source."""
    return f"sha256:{source_sha256(source)}"


async def ensure(session: AsyncSession, source: str) -> str:
    """Store ``source`` unless already stored; return its id."""
    pid = program_id(source)
    if await session.get(orm.Program, pid) is None:
        session.add(orm.Program(id=pid, source=source))
        await session.flush()
    return pid


async def source(session: AsyncSession, pid: str) -> str:
    """The source of program ``pid``."""
    row = await session.get(orm.Program, pid)
    if row is None:
        raise LookupError(f"program {pid} is missing")
    return row.source
