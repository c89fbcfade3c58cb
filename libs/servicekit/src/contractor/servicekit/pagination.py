"""Keyset (cursor) pagination: opaque cursors and the list envelope.

A cursor encodes the sort key of the last item of a page; the next page starts after it. Lists
are ordered by natural key or id, so a cursor stays valid while rows are added or removed.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from typing import Annotated, Generic, TypeVar

from contractor.servicekit.errors import FieldError
from pydantic import BaseModel, Field

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 1000

Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT, description="Page size.")]


class Page(BaseModel, Generic[T]):
    """One page of a list: ``{"items": [...], "next_cursor": "<opaque>" | null}``."""

    items: list[T]
    next_cursor: str | None = None


def encode_cursor(key: str | int) -> str:
    """Encode the sort key of a page's last item as an opaque cursor."""
    raw = json.dumps([key], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> str | int:
    """Decode a cursor made by :func:`encode_cursor`.

    Raises:
        FieldError: The cursor was not made by this service (422 naming ``cursor``).
    """
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error) as exc:
        raise FieldError(["query", "cursor"], "cursor is not valid") from exc
    if not (isinstance(value, list) and len(value) == 1 and isinstance(value[0], str | int)):
        raise FieldError(["query", "cursor"], "cursor is not valid")
    key: str | int = value[0]
    return key


def paginate(
    rows: Sequence[T], limit: int, key_of: Callable[[T], str | int]
) -> tuple[list[T], str | None]:
    """Cut ``limit + 1`` fetched rows to one page and compute the next cursor.

    Args:
        rows: Rows fetched with ``LIMIT limit + 1`` after the previous cursor.
        limit: Page size.
        key_of: The sort key of a row.

    Returns:
        The page's rows and the next cursor (``None`` on the last page).
    """
    if len(rows) <= limit:
        return list(rows), None
    page = list(rows[:limit])
    return page, encode_cursor(key_of(page[-1]))
