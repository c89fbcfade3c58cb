"""Foundation schemas (§3.4)."""

from __future__ import annotations

from typing import Any, Literal

from contractor.inventory.schemas.discovery import HardwareSummary
from contractor.inventory.schemas.fields import (
    ClosedBody,
    JobSlotRead,
    Locator,
    Name,
    ReadOnly,
    ResourceRead,
    Timestamp,
)
from contractor.inventory.schemas.interfaces import RealInterfaceCreate
from contractor.inventory.schemas.stats import Resources
from pydantic import Field

FoundationState = Literal["planned", "located", "built"]


class _ReadOnlyFields(ClosedBody):
    state: ReadOnly = None
    located_at: ReadOnly = None
    built_at: ReadOnly = None
    class_list: ReadOnly = None
    console: ReadOnly = None
    structure: ReadOnly = None
    dependency: ReadOnly = None
    job: ReadOnly = None
    secrets_set: ReadOnly = None
    hardware: ReadOnly = None
    resources: ReadOnly = None
    created_at: ReadOnly = None
    updated_at: ReadOnly = None
    version: ReadOnly = None


class FoundationCreate(_ReadOnlyFields):
    """``POST /foundations``."""

    locator: Locator
    site: Name
    blueprint: Name
    type: str = Field(min_length=1, max_length=40)
    complex: Name | None = None
    serial: str | None = Field(None, min_length=1, max_length=100)
    attributes: dict[str, Any] = Field(default_factory=dict)
    interfaces: list[RealInterfaceCreate] = Field(default_factory=list)


class FoundationUpdate(_ReadOnlyFields):
    """``PATCH /foundations/{locator}``; ``attributes`` is merged key by key (null removes)."""

    site: Name | None = None
    blueprint: Name | None = None
    complex: Name | None = None
    serial: str | None = Field(None, min_length=1, max_length=100)
    attributes: dict[str, Any] | None = None
    locator: ReadOnly = None
    type: ReadOnly = None


class FoundationRead(ResourceRead):
    """A foundation (secret attributes never appear; ``secrets_set`` names those set)."""

    locator: str
    site: str
    blueprint: str
    type: str
    complex: str | None
    serial: str | None
    attributes: dict[str, Any]
    state: FoundationState
    located_at: Timestamp | None
    built_at: Timestamp | None
    class_list: list[str]
    console: str
    structure: int | None
    dependency: int | None = None
    job: JobSlotRead | None
    secrets_set: list[str]
    hardware: HardwareSummary | None = None
    resources: Resources | None = None


class FoundationTransitioned(FoundationRead):
    """The answer to a state transition."""

    repeat: bool = False
