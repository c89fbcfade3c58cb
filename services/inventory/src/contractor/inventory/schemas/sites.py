"""Site schemas (§3.1)."""

from __future__ import annotations

from typing import Any, Literal

from contractor.inventory.schemas.fields import (
    ClosedBody,
    Description,
    Name,
    ReadOnly,
    ResourceRead,
    Zone,
)
from pydantic import BaseModel, Field, SecretStr


class Discovery(ClosedBody):
    """A site's discovery policy (§8.5); ``bmc_password`` is write-only."""

    policy: Literal["hold", "enroll"] = "hold"
    locator_template: str | None = Field(None, max_length=100)
    network: str | None = Field(None, max_length=40)
    bmc_username: str | None = Field(None, max_length=100)
    bmc_password: SecretStr | None = None


class SiteCreate(ClosedBody):
    """``POST /sites``."""

    name: Name
    description: Description
    parent: Name | None = None
    zone: Zone | None = None
    config_values: dict[str, Any] = Field(default_factory=dict)
    discovery: Discovery | None = None
    created_at: ReadOnly = None
    updated_at: ReadOnly = None
    version: ReadOnly = None


class SiteUpdate(ClosedBody):
    """``PATCH /sites/{name}``: only the fields given change."""

    description: Description | None = None
    parent: Name | None = None
    zone: Zone | None = None
    config_values: dict[str, Any] | None = None
    discovery: Discovery | None = None
    name: ReadOnly = None
    created_at: ReadOnly = None
    updated_at: ReadOnly = None
    version: ReadOnly = None


class DiscoveryRead(BaseModel):
    """Discovery policy as shown: the password only as ``bmc_password_set``."""

    policy: str
    locator_template: str | None = None
    network: str | None = None
    bmc_username: str | None = None
    bmc_password_set: bool = False


class SiteRead(ResourceRead):
    """A site."""

    name: str
    description: str
    parent: str | None
    zone: str | None
    config_values: dict[str, Any]
    discovery: DiscoveryRead | None
