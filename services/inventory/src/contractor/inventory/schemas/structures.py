"""Structure schemas (§3.6)."""

from __future__ import annotations

from typing import Any, Literal

from contractor.inventory.schemas.fields import (
    ClosedBody,
    Hostname,
    JobSlotRead,
    Locator,
    Name,
    ReadOnly,
    ResourceRead,
    Timestamp,
)
from pydantic import Field

StructureState = Literal["planned", "built"]


class _ReadOnlyFields(ClosedBody):
    id: ReadOnly = None
    config_uuid: ReadOnly = None
    state: ReadOnly = None
    built_at: ReadOnly = None
    fqdn: ReadOnly = None
    domain_name: ReadOnly = None
    primary_address: ReadOnly = None
    provisioning_address: ReadOnly = None
    job: ReadOnly = None
    created_at: ReadOnly = None
    updated_at: ReadOnly = None
    version: ReadOnly = None


class StructureCreate(_ReadOnlyFields):
    """``POST /structures``."""

    hostname: Hostname
    site: Name
    blueprint: Name
    foundation: Locator
    config_values: dict[str, Any] = Field(default_factory=dict)


class StructureUpdate(_ReadOnlyFields):
    """``PATCH /structures/{id}``."""

    hostname: Hostname | None = None
    site: Name | None = None
    blueprint: Name | None = None
    foundation: Locator | None = None
    config_values: dict[str, Any] | None = None


class StructureRead(ResourceRead):
    """A structure."""

    id: int
    hostname: str
    site: str
    blueprint: str
    foundation: str
    config_values: dict[str, Any]
    config_uuid: str
    state: StructureState
    built_at: Timestamp | None
    fqdn: str
    domain_name: str | None
    primary_address: str | None = None
    provisioning_address: str | None = None
    job: JobSlotRead | None


class StructureTransitioned(StructureRead):
    """The answer to a state transition."""

    repeat: bool = False
