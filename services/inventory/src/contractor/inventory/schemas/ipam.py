"""IPAM schemas (§7): networks, address blocks, addresses."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from contractor.inventory.schemas.fields import ClosedBody, Name, ReadOnly, ResourceRead, Slot
from pydantic import BaseModel, Field, StringConstraints

NetworkName = Annotated[
    str,
    StringConstraints(
        pattern=r"^[a-zA-Z0-9][a-zA-Z0-9_-]*(\.[0-9]{1,4})?$", min_length=1, max_length=40
    ),
]
InterfaceName = Annotated[
    str,
    StringConstraints(
        pattern=r"^[a-zA-Z0-9]([a-zA-Z0-9_-]*[a-zA-Z0-9])?$", min_length=1, max_length=20
    ),
]
AddressKind = Literal["address", "reserved", "dynamic"]


class _Stamps(ClosedBody):
    id: ReadOnly = None
    created_at: ReadOnly = None
    updated_at: ReadOnly = None
    version: ReadOnly = None


class NetworkCreate(_Stamps):
    """``POST /networks``."""

    site: Name
    name: NetworkName
    mtu: int | None = Field(None, ge=512, le=9022)
    address_blocks: ReadOnly = None


class NetworkUpdate(_Stamps):
    """``PATCH /networks/{id}``."""

    name: NetworkName | None = None
    mtu: int | None = Field(None, ge=512, le=9022)
    site: ReadOnly = None
    address_blocks: ReadOnly = None


class NetworkLinkBody(ClosedBody):
    """``PUT /networks/{id}/address-blocks/{block_id}``."""

    vlan: int = Field(0, ge=0, le=4095)


class NetworkRead(ResourceRead):
    """A network with its block links."""

    id: int
    site: str
    name: str
    mtu: int | None
    address_blocks: list[dict[str, Any]]


class _BlockReadOnly(_Stamps):
    max_address: ReadOnly = None
    gateway: ReadOnly = None
    netmask: ReadOnly = None
    is_ipv4: ReadOnly = None
    offset_bounds: ReadOnly = None
    size: ReadOnly = None
    usage: ReadOnly = None


class AddressBlockCreate(_BlockReadOnly):
    """``POST /address-blocks``."""

    site: Name
    name: Name
    subnet: str = Field(min_length=2, max_length=45)
    prefix: int
    gateway_offset: int | None = Field(None, ge=0)


class AddressBlockUpdate(_BlockReadOnly):
    """``PATCH /address-blocks/{id}``."""

    name: Name | None = None
    subnet: str | None = Field(None, min_length=2, max_length=45)
    prefix: int | None = None
    gateway_offset: int | None = Field(None, ge=0)
    site: ReadOnly = None


class AddressBlockRead(ResourceRead):
    """A block with its derived values."""

    id: int
    site: str
    name: str
    subnet: str
    prefix: int
    gateway_offset: int | None
    max_address: str
    gateway: str | None
    netmask: str
    is_ipv4: bool
    offset_bounds: list[int]
    size: int
    usage: dict[str, int]


class _AddressReadOnly(_Stamps):
    address_block: ReadOnly = None
    subnet: ReadOnly = None
    netmask: ReadOnly = None
    prefix: ReadOnly = None
    gateway: ReadOnly = None


class AddressCreate(_AddressReadOnly):
    """``POST /address-blocks/{id}/addresses``: give ``offset`` or ``ip_address``."""

    kind: AddressKind = "address"
    offset: int | None = Field(None, ge=0)
    ip_address: str | None = Field(None, max_length=45)
    structure: int | None = Field(None, ge=1)
    interface_name: InterfaceName | None = None
    alias_index: int | None = Field(None, ge=0)
    is_primary: bool = False
    reason: str | None = Field(None, min_length=1, max_length=50)
    pxe: Slot | None = None


class AddressUpdate(_AddressReadOnly):
    """``PATCH /addresses/{id}``."""

    offset: int | None = Field(None, ge=0)
    ip_address: str | None = Field(None, max_length=45)
    interface_name: InterfaceName | None = None
    alias_index: int | None = Field(None, ge=0)
    is_primary: bool | None = None
    reason: str | None = Field(None, min_length=1, max_length=50)
    pxe: Slot | None = None
    kind: ReadOnly = None
    structure: ReadOnly = None


class NextFreeRequest(ClosedBody):
    """``POST /address-blocks/{id}/next-free``."""

    structure: int = Field(ge=1)
    interface_name: InterfaceName
    is_primary: bool = False
    alias_index: int | None = Field(None, ge=0)


class NextFree(BaseModel):
    """``GET /address-blocks/{id}/next-free``: a preview, nothing reserved."""

    offset: int | None
    ip_address: str | None


class AddressRead(ResourceRead):
    """An address with its derived IP values."""

    id: int
    kind: AddressKind
    address_block: int | None
    offset: int | None
    ip_address: str | None
    subnet: str | None
    netmask: str | None
    prefix: int | None
    gateway: str | None
    structure: int | None
    interface_name: str | None
    alias_index: int | None
    is_primary: bool
    pointer: int | None
    reason: str | None
    pxe: str | None
