"""Config edit schema (§6.6)."""

from __future__ import annotations

from typing import Any

from contractor.inventory.schemas.fields import ClosedBody
from pydantic import Field


class ConfigEdit(ClosedBody):
    """``PATCH /…/config``: remove keys, then set keys."""

    set: dict[str, Any] = Field(default_factory=dict)
    remove: list[str] = Field(default_factory=list)
