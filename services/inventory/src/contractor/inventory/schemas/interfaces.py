"""Interface schemas (§3.5)."""

from __future__ import annotations

from typing import Any, Literal

from contractor.inventory.schemas.fields import (
    ClosedBody,
    InterfaceName,
    Mac,
    ReadOnly,
    ResourceRead,
    Slot,
)
from pydantic import BaseModel, Field

PhysicalLocation = Slot


class _Stamps(ClosedBody):
    id: ReadOnly = None
    created_at: ReadOnly = None
    updated_at: ReadOnly = None
    version: ReadOnly = None


class RealInterfaceCreate(_Stamps):
    """A port of a foundation (``POST /foundations/{locator}/interfaces`` or inline)."""

    physical_location: str = Field(
        min_length=1, max_length=100, pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$"
    )
    name: InterfaceName
    network: int = Field(ge=1)
    mac: Mac | None = None
    is_provisioning: bool = False
    link_name: str | None = Field(None, max_length=100)
    pxe: Slot | None = None


class RealInterfaceUpdate(_Stamps):
    """``PATCH /foundations/{locator}/interfaces/{physical_location}``."""

    name: InterfaceName | None = None
    network: int | None = Field(None, ge=1)
    mac: Mac | None = None
    is_provisioning: bool | None = None
    link_name: str | None = Field(None, max_length=100)
    pxe: Slot | None = None
    physical_location: ReadOnly = None


class AbstractInterfaceCreate(_Stamps):
    """``POST /structures/{id}/interfaces``."""

    name: InterfaceName
    network: int = Field(ge=1)
    kind: Literal["abstract", "aggregated"] = "abstract"
    primary: InterfaceName | None = None
    secondaries: list[InterfaceName] = Field(default_factory=list)
    parameters: dict[str, Any] = Field(default_factory=dict)


class AbstractInterfaceUpdate(_Stamps):
    """``PATCH /structures/{id}/interfaces/{name}``."""

    network: int | None = Field(None, ge=1)
    primary: InterfaceName | None = None
    secondaries: list[InterfaceName] | None = None
    parameters: dict[str, Any] | None = None
    name: ReadOnly = None
    kind: ReadOnly = None


class InterfaceRead(ResourceRead):
    """An interface of either kind."""

    id: int
    kind: Literal["real", "abstract", "aggregated"]
    owner: dict[str, str]
    name: str
    physical_location: str | None
    network: int
    mac: str | None
    is_provisioning: bool
    link_name: str | None
    pxe: str | None
    primary: str | None
    secondaries: list[str]
    parameters: dict[str, Any]


class InterfaceList(BaseModel):
    """A list of interfaces (not paginated: an owner has few)."""

    items: list[InterfaceRead]
