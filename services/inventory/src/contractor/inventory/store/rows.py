"""Versioning shared by every resource row: ``version``, timestamps and ``If-Match``."""

from __future__ import annotations

from typing import Any, Protocol

from contractor.servicekit.db import utcnow
from contractor.servicekit.errors import VersionMismatch


class VersionedRow(Protocol):
    """A row with the resource bookkeeping columns."""

    version: Any
    created_at: Any
    updated_at: Any


def stamp_new(row: VersionedRow) -> None:
    """Set the bookkeeping of a new row."""
    row.created_at = row.updated_at = utcnow()
    row.version = 1


def check_version(row: VersionedRow, expected: int | None) -> None:
    """Honour ``If-Match``.

    Raises:
        VersionMismatch: ``expected`` is given and is not the stored version.
    """
    if expected is not None and expected != row.version:
        raise VersionMismatch(
            f"version is {row.version}, not {expected}", current_version=row.version
        )


def apply_changes(row: Any, changes: dict[str, Any]) -> list[str]:
    """Set the given fields, bump the version if anything changed; return the changed names."""
    changed = [name for name, value in changes.items() if getattr(row, name) != value]
    for name in changed:
        setattr(row, name, changes[name])
    if changed:
        touch(row)
    return sorted(changed)


def touch(row: VersionedRow) -> None:
    """Record a change: ``version`` + 1 and a new ``updated_at``."""
    row.version = row.version + 1
    row.updated_at = utcnow()
