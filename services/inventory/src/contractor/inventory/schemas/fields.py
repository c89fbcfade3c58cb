"""Field types shared by inventory's schemas: the identifier patterns of §2 and closed bodies."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
)
from pydantic_core import PydanticCustomError

NAME_PATTERN = r"^[a-zA-Z0-9][a-zA-Z0-9_-]*$"
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ZONE_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


def _no_control_characters(value: str) -> str:
    if _CONTROL.search(value):
        raise PydanticCustomError("validation-error", "control characters are not allowed")
    return value


def _zone(value: str) -> str:
    labels = value.split(".")
    if not all(len(label) <= 63 and _ZONE_LABEL.match(label) for label in labels):
        raise PydanticCustomError("validation-error", "not a lower-case DNS zone name")
    return value


_MAC_FORMS = (
    re.compile(r"^([0-9a-fA-F]{2})(?::([0-9a-fA-F]{2})){5}$"),
    re.compile(r"^([0-9a-fA-F]{2})(?:-([0-9a-fA-F]{2})){5}$"),
    re.compile(r"^[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}\.[0-9a-fA-F]{4}$"),
    re.compile(r"^[0-9a-fA-F]{12}$"),
)


def normalize_mac(value: str) -> str:
    """A MAC in lower-case colon form (§2); one of four input forms, whole string."""
    if not any(form.fullmatch(value) for form in _MAC_FORMS):
        raise PydanticCustomError("invalid-mac", "not a MAC address")
    digits = re.sub(r"[^0-9a-fA-F]", "", value).lower()
    return ":".join(digits[i : i + 2] for i in range(0, 12, 2))


def _refuse_read_only(value: Any) -> Any:
    raise PydanticCustomError("read-only", "this field is read-only")


def _rfc3339(value: datetime) -> str:
    return value.isoformat(timespec="microseconds").replace("+00:00", "Z")


Name = Annotated[str, StringConstraints(pattern=NAME_PATTERN, min_length=1, max_length=40)]
Locator = Annotated[str, StringConstraints(pattern=NAME_PATTERN, min_length=1, max_length=100)]
Slot = Annotated[str, StringConstraints(pattern=NAME_PATTERN, min_length=1, max_length=50)]
Hostname = Annotated[
    str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*[a-z0-9]$", min_length=2, max_length=63)
]
Zone = Annotated[str, StringConstraints(min_length=1, max_length=253), AfterValidator(_zone)]
Description = Annotated[
    str, StringConstraints(min_length=1, max_length=200), AfterValidator(_no_control_characters)
]
Mac = Annotated[str, AfterValidator(normalize_mac)]
InterfaceName = Annotated[
    str,
    StringConstraints(
        pattern=r"^[a-zA-Z0-9]([a-zA-Z0-9_-]*[a-zA-Z0-9])?$", min_length=1, max_length=20
    ),
]
Timestamp = Annotated[datetime, PlainSerializer(_rfc3339, return_type=str)]

ReadOnly = Annotated[
    Any,
    BeforeValidator(_refuse_read_only),
    Field(None, exclude=True, json_schema_extra={"readOnly": True}),
]
"""A read-only field named in a request body: present → 422 ``read-only`` naming it."""


class ClosedBody(BaseModel):
    """A request body: unknown fields are refused (422 naming the field)."""

    model_config = ConfigDict(extra="forbid")


class ResourceRead(BaseModel):
    """What every resource carries."""

    model_config = ConfigDict(from_attributes=True)

    created_at: Timestamp
    updated_at: Timestamp
    version: int


class JobSlotRead(BaseModel):
    """A held job slot."""

    job_id: int
    script: str | None
    kind: str | None
    since: Timestamp | None
