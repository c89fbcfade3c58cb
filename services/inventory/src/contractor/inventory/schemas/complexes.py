"""Complex schemas (§3.7)."""

from __future__ import annotations

from typing import Any, Literal

from contractor.inventory.schemas.fields import (
    ClosedBody,
    Description,
    InterfaceName,
    Locator,
    Mac,
    Name,
    ReadOnly,
    ResourceRead,
    Slot,
)
from pydantic import Field


class _ReadOnlyFields(ClosedBody):
    state: ReadOnly = None
    secrets_set: ReadOnly = None
    built_members: ReadOnly = None
    created_at: ReadOnly = None
    updated_at: ReadOnly = None
    version: ReadOnly = None


class ComplexCreate(_ReadOnlyFields):
    """``POST /complexes``."""

    name: Name
    site: Name
    description: Description
    type: str = Field(min_length=1, max_length=40)
    members: list[int] = Field(default_factory=list)
    built_percentage: int = Field(90, ge=1, le=100)
    attributes: dict[str, Any] = Field(default_factory=dict)


class ComplexUpdate(_ReadOnlyFields):
    """``PATCH /complexes/{name}`` (``members`` replaces the list; attributes merge)."""

    description: Description | None = None
    members: list[int] | None = None
    built_percentage: int | None = Field(None, ge=1, le=100)
    attributes: dict[str, Any] | None = None
    name: ReadOnly = None
    site: ReadOnly = None
    type: ReadOnly = None


class ComplexRead(ResourceRead):
    """A complex."""

    name: str
    site: str
    description: str
    type: str
    members: list[int]
    built_members: list[int]
    built_percentage: int
    attributes: dict[str, Any]
    secrets_set: list[str]
    state: Literal["planned", "built"]


class ComplexPort(ClosedBody):
    """A port in ``POST /complexes/{name}/foundations``; defaults fill the blanks (§3.7)."""

    physical_location: str | None = Field(
        None, min_length=1, max_length=100, pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$"
    )
    name: InterfaceName | None = None
    network: int = Field(ge=1)
    mac: Mac | None = None
    is_provisioning: bool | None = None
    link_name: str | None = Field(None, max_length=100)
    pxe: Slot | None = None


class ComplexFoundationCreate(ClosedBody):
    """``POST /complexes/{name}/foundations``: a foundation of the complex's type on it."""

    locator: Locator
    blueprint: Name
    site: Name | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)
    interfaces: list[ComplexPort] = Field(default_factory=list)

    def ports(self) -> list[dict[str, Any]]:
        """The interfaces with §3.7's defaults applied."""
        filled = []
        for index, port in enumerate(self.interfaces):
            location = port.physical_location or f"eth{index}"
            provisioning = index == 0 if port.is_provisioning is None else port.is_provisioning
            filled.append(
                {
                    **port.model_dump(),
                    "physical_location": location,
                    "name": port.name or location,
                    "is_provisioning": provisioning,
                }
            )
        return filled
