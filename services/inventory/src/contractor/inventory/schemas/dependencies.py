"""Dependency schemas (§3.8)."""

from __future__ import annotations

from typing import Literal

from contractor.inventory.schemas.fields import (
    ClosedBody,
    JobSlotRead,
    Locator,
    ReadOnly,
    ResourceRead,
    Slot,
    Timestamp,
)
from pydantic import Field

Link = Literal["soft", "hard"]


class _ReadOnlyFields(ClosedBody):
    id: ReadOnly = None
    state: ReadOnly = None
    built_at: ReadOnly = None
    job: ReadOnly = None
    created_at: ReadOnly = None
    updated_at: ReadOnly = None
    version: ReadOnly = None


class DependencyCreate(_ReadOnlyFields):
    """``POST /dependencies``: exactly one of ``structure`` and ``dependency``."""

    structure: int | None = Field(None, ge=1)
    dependency: int | None = Field(None, ge=1)
    foundation: Locator | None = None
    script_structure: int | None = Field(None, ge=1)
    link: Link = "soft"
    create_script_name: Slot | None = None
    destroy_script_name: Slot | None = None


class DependencyUpdate(DependencyCreate):
    """``PATCH /dependencies/{id}``: only the fields given change."""

    link: Link | None = None  # type: ignore[assignment]  # optional in a PATCH


class DependencyRead(ResourceRead):
    """A dependency."""

    id: int
    structure: int | None
    dependency: int | None
    foundation: str | None
    script_structure: int | None
    link: Link
    create_script_name: str | None
    destroy_script_name: str | None
    state: Literal["planned", "built"]
    built_at: Timestamp | None
    job: JobSlotRead | None


class DependencyTransitioned(DependencyRead):
    """The answer to a state transition."""

    repeat: bool = False
