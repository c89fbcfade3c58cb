"""Job timeline marks (spec §12.3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from contractor.foreman import orm
from contractor.servicekit.outbox import insert_on_commit
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

MARKS_TABLE: Table = orm.TimelineMark.__table__  # type: ignore[assignment]


def mark(
    session: AsyncSession, job_id: int, at: datetime, name: str, detail: dict[str, Any] | None
) -> None:
    """Add one mark (inserted when the transaction commits, with its other marks)."""
    insert_on_commit(
        session, MARKS_TABLE, {"job_id": job_id, "at": at, "mark": name, "detail": detail}
    )


async def for_job(session: AsyncSession, job_id: int) -> list[orm.TimelineMark]:
    """A job's marks in time order."""
    rows = await session.scalars(
        select(orm.TimelineMark)
        .where(orm.TimelineMark.job_id == job_id)
        .order_by(orm.TimelineMark.at, orm.TimelineMark.id)
    )
    return list(rows)
