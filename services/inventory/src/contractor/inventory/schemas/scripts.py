"""Script schemas (§3.3)."""

from __future__ import annotations

from contractor.inventory.schemas.fields import (
    ClosedBody,
    Description,
    Name,
    ReadOnly,
    ResourceRead,
)
from pydantic import Field

MAX_BODY = 1024 * 1024


class ScriptCreate(ClosedBody):
    """``POST /scripts``."""

    name: Name
    description: Description
    body: str = Field(max_length=MAX_BODY)
    created_at: ReadOnly = None
    updated_at: ReadOnly = None
    version: ReadOnly = None


class ScriptUpdate(ClosedBody):
    """``PATCH /scripts/{name}``."""

    description: Description | None = None
    body: str | None = Field(None, max_length=MAX_BODY)
    name: ReadOnly = None
    created_at: ReadOnly = None
    updated_at: ReadOnly = None
    version: ReadOnly = None


class ScriptRead(ResourceRead):
    """A script."""

    name: str
    description: str
    body: str
