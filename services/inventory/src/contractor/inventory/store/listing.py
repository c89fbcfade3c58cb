"""Keyset pages over ORM queries."""

from __future__ import annotations

from typing import Any, TypeVar

from contractor.servicekit.pagination import decode_cursor, paginate
from sqlalchemy import Select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

T = TypeVar("T")


async def page(
    session: AsyncSession,
    stmt: Select[T],
    key: InstrumentedAttribute[Any],
    *,
    limit: int,
    cursor: str | None,
) -> tuple[list[T], str | None]:
    """Run ``stmt`` ordered by ``key``, after ``cursor``, and cut one page."""
    if cursor is not None:
        stmt = stmt.where(key > decode_cursor(cursor))
    rows = list((await session.scalars(stmt.order_by(key).limit(limit + 1))).all())
    return paginate(rows, limit, lambda row: getattr(row, key.key))
