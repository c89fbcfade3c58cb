"""PXE profile schemas (§3.3)."""

from __future__ import annotations

from contractor.inventory.schemas.fields import (
    ClosedBody,
    Description,
    ReadOnly,
    ResourceRead,
    Slot,
)
from pydantic import Field

MAX_TEXT = 1024 * 1024


class PxeCreate(ClosedBody):
    """``POST /pxes``."""

    name: Slot
    description: Description | None = None
    boot_script: str = Field("", max_length=MAX_TEXT)
    template: str = Field("", max_length=MAX_TEXT)
    created_at: ReadOnly = None
    updated_at: ReadOnly = None
    version: ReadOnly = None


class PxeUpdate(ClosedBody):
    """``PATCH /pxes/{name}``."""

    description: Description | None = None
    boot_script: str | None = Field(None, max_length=MAX_TEXT)
    template: str | None = Field(None, max_length=MAX_TEXT)
    name: ReadOnly = None
    created_at: ReadOnly = None
    updated_at: ReadOnly = None
    version: ReadOnly = None


class PxeRead(ResourceRead):
    """A PXE profile."""

    name: str
    description: str | None
    boot_script: str
    template: str
