"""Job timeline marks (spec §12.3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contractor.foreman import orm
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession


def mark(
    session: AsyncSession, job_id: int, at: datetime, name: str, detail: dict[str, Any] | None
) -> None:
    """Add one mark (written with the caller's next flush)."""
    session.add(orm.TimelineMark(job_id=job_id, at=at, mark=name, detail=detail))


async def for_job(session: AsyncSession, job_id: int) -> list[orm.TimelineMark]:
    """A job's marks in time order."""
    rows = await session.scalars(
        select(orm.TimelineMark)
        .where(orm.TimelineMark.job_id == job_id)
        .order_by(orm.TimelineMark.at, orm.TimelineMark.id)
    )
    return list(rows)
