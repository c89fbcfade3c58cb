"""Reservation schemas (§5.4)."""

from __future__ import annotations

from typing import Any, Literal

from contractor.inventory.schemas.fields import ClosedBody, JobSlotRead, Slot
from pydantic import BaseModel, Field


class ReserveRequest(ClosedBody):
    """``PUT /{targets}/{key}/job``."""

    job_id: int = Field(ge=1)
    script: Slot
    wait: bool = False


class ReserveAnswer(BaseModel):
    """Blocked (slot held, waiting) or granted (script and snapshot included)."""

    outcome: Literal["blocked", "granted"]
    slot: JobSlotRead | None
    waiting_on: list[dict[str, Any]] = Field(default_factory=list)
    script: dict[str, Any] | None = None
    snapshot: dict[str, Any] | None = None


class SlotState(BaseModel):
    """``GET /{targets}/{key}/job``."""

    slot: JobSlotRead | None
    can_start: bool
    waiting_on: list[dict[str, Any]]
