"""Markers for attribute fields: ``secret`` (write-only) and ``runtime`` (job-written).

Use them as ``Annotated`` metadata on an attributes model field::

    ipmi_password: Annotated[str, SECRET]
    virtualbox_uuid: Annotated[str | None, RUNTIME] = None

Published JSON Schemas mark secret fields ``writeOnly`` and runtime fields ``readOnly``,
plus ``x-secret`` / ``x-runtime`` for clients that want the Contractor meaning.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from pydantic import BaseModel, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema


@dataclass(frozen=True)
class FieldMarker:
    """A flag on an attribute field.

    Attributes:
        kind: ``"secret"`` or ``"runtime"``.
        json_schema_keyword: The JSON Schema keyword the flag sets (``writeOnly``/``readOnly``).
    """

    kind: str
    json_schema_keyword: str

    def __get_pydantic_json_schema__(
        self, core_schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        """Add the flag to the field's JSON Schema."""
        schema = handler(core_schema)
        schema[self.json_schema_keyword] = True
        schema[f"x-{self.kind}"] = True
        return schema


SECRET: Final = FieldMarker("secret", "writeOnly")
"""Encrypted at rest, write-only in the API, never in config or TScript values."""

RUNTIME: Final = FieldMarker("runtime", "readOnly")
"""Written only by the job holding the foundation's slot (inventory spec §12.4)."""


def fields_marked(model: type[BaseModel], marker: FieldMarker) -> tuple[str, ...]:
    """Names of the fields of ``model`` that carry ``marker``, in declaration order."""
    return tuple(name for name, info in model.model_fields.items() if marker in info.metadata)


def field_defaults(model: type[BaseModel]) -> dict[str, Any]:
    """Every field's default (``None`` for required fields), in declaration order."""
    return {
        name: None if info.is_required() else info.get_default(call_default_factory=True)
        for name, info in model.model_fields.items()
    }
