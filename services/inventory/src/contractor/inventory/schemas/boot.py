"""Boot data schemas (§12.5)."""

from __future__ import annotations

from typing import Any, Literal

from contractor.inventory.schemas.fields import ClosedBody, Locator, Mac, Name
from contractor.inventory.schemas.job_writes import Write
from pydantic import Field


class Selector(ClosedBody):
    """What a render request is about (precedence in field order)."""

    config_uuid: str | None = Field(None, max_length=36)
    structure: int | None = Field(None, ge=1)
    foundation: Locator | None = None
    ip: str | None = Field(None, max_length=45)
    mac: Mac | None = None


class RenderRequest(ClosedBody):
    """``POST /boot/render``."""

    kind: Literal["boot_script", "config", "pxe_template"]
    site: Name
    selector: Selector
    variables: dict[str, Any] = Field(default_factory=dict)
    overlay: list[Write] = Field(
        default_factory=list,
        max_length=1000,
        description="The active job's pending writes, applied virtually (not kept).",
    )
