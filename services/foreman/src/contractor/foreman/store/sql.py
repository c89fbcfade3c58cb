"""SQL helpers shared by the stores."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from sqlalchemy import ARRAY, ColumnElement, any_, bindparam
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute


def one_of(
    session: AsyncSession, column: InstrumentedAttribute[Any], values: Collection[Any]
) -> ColumnElement[bool]:
    """``column`` is one of ``values``: ``= ANY(array)`` on PostgreSQL, ``IN (…)`` elsewhere.

    An ``IN`` list is a different statement for every length, so batches of varying size keep
    compiling and preparing new statements; one array parameter is one statement for all.
    """
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))
