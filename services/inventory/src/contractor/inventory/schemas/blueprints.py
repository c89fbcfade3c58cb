"""Blueprint schemas (§3.2): foundation and structure blueprints share one name space."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from contractor.inventory.schemas.fields import (
    ClosedBody,
    Description,
    Name,
    ReadOnly,
    ResourceRead,
    Slot,
)
from pydantic import BaseModel, Field, StringConstraints

Kind = Literal["foundation", "structure"]
InterfaceName = Annotated[
    str,
    StringConstraints(
        pattern=r"^[a-zA-Z0-9]([a-zA-Z0-9_-]*[a-zA-Z0-9])?$", min_length=1, max_length=20
    ),
]


class _Common(ClosedBody):
    description: Description
    parents: list[Name] = Field(default_factory=list)
    config_values: dict[str, Any] = Field(default_factory=dict)
    scripts: dict[Slot, Name] = Field(default_factory=dict)
    kind: ReadOnly = None
    created_at: ReadOnly = None
    updated_at: ReadOnly = None
    version: ReadOnly = None


class FoundationBlueprintCreate(_Common):
    """``POST /blueprints/foundation``."""

    name: Name
    foundation_types: list[str] = Field(default_factory=list)
    physical_interface_names: list[InterfaceName] = Field(default_factory=list)
    hardware_rules: list[dict[str, Any]] = Field(default_factory=list)


class StructureBlueprintCreate(_Common):
    """``POST /blueprints/structure``."""

    name: Name
    foundation_blueprints: list[Name] = Field(default_factory=list)


class _CommonUpdate(ClosedBody):
    description: Description | None = None
    parents: list[Name] | None = None
    config_values: dict[str, Any] | None = None
    scripts: dict[Slot, Name] | None = None
    name: ReadOnly = None
    kind: ReadOnly = None
    created_at: ReadOnly = None
    updated_at: ReadOnly = None
    version: ReadOnly = None


class FoundationBlueprintUpdate(_CommonUpdate):
    """``PATCH /blueprints/foundation/{name}``."""

    foundation_types: list[str] | None = None
    physical_interface_names: list[InterfaceName] | None = None
    hardware_rules: list[dict[str, Any]] | None = None


class StructureBlueprintUpdate(_CommonUpdate):
    """``PATCH /blueprints/structure/{name}``."""

    foundation_blueprints: list[Name] | None = None


class BlueprintRead(ResourceRead):
    """A blueprint of either kind (kind-specific fields are empty lists for the other kind)."""

    name: str
    kind: Kind
    description: str
    parents: list[str]
    config_values: dict[str, Any]
    scripts: dict[str, str]
    foundation_types: list[str] | None = None
    physical_interface_names: list[str] | None = None
    hardware_rules: list[dict[str, Any]] | None = None
    foundation_blueprints: list[str] | None = None


class ResolvedScript(BaseModel):
    """``GET /blueprints/{kind}/{name}/scripts/{slot}``."""

    slot: str
    name: str | None
    from_blueprint: str | None
    body: str
    sha256: str
