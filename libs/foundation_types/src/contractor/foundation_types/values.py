"""TScript values of foundations and the config fallbacks of inventory spec §4.1."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pydantic import BaseModel

COMMON_VALUES: Final = (
    "locator",
    "type",
    "type_name",
    "id",
    "class_list",
    "site",
    "blueprint",
    "state",
    "complex",
    "interface_list",
    "provisioning_interface",
)
"""``foundation.<name>`` values every type exposes, read-only (foreman spec §6.2)."""


@dataclass(frozen=True)
class TypeValue:
    """A type-specific ``foundation.<name>`` value.

    Attributes:
        name: The value name (``virtualbox_vmspec``).
        writable: Whether a foundation job may set it (runtime attributes only).
    """

    name: str
    writable: bool = False


@dataclass(frozen=True)
class SpecSource:
    """Where one field of a computed spec comes from when the attribute object lacks it.

    Attributes:
        field: The spec field (``cpu_count``).
        config_key: The merged-config key it falls back to (``cpu_count``).
        default: The default when the config lacks it too; ``None`` leaves the field out.
        minimum: Lowest accepted integer value, if checked.
        maximum: Highest accepted integer value, if checked.
    """

    field: str
    config_key: str
    default: Any = None
    minimum: int | None = None
    maximum: int | None = None


VM_SIZE_SOURCES: Final = (
    SpecSource("cpu_count", "cpu_count", 1, 1, 64),
    SpecSource("memory_size", "memory_size", 512, 512, 1048510),
    SpecSource("disk_size", "disk_size", 10, 1, None),
)
"""``cpu_count`` (1–64), ``memory_size`` (MiB, 512–1048510) and ``disk_size`` (GiB)."""


@dataclass(frozen=True)
class SpecRule:
    """How a type computes its ``<prefix>_vmspec`` (docker: ``docker_containerspec``).

    Attributes:
        value_name: The computed value's name.
        attribute: The attribute object merged over the fallbacks (``<prefix>_vm_spec``).
        sources: Fields taken from config keys when the attribute object lacks them.
        include_interfaces: Whether the spec lists the foundation's interfaces.
        attribute_fields: Spec fields copied from resolved attributes, as
            ``(spec field, attribute)`` pairs (azure: ``("size", "azure_size")``).
    """

    value_name: str
    attribute: str | None
    sources: tuple[SpecSource, ...] = VM_SIZE_SOURCES
    include_interfaces: bool = True
    attribute_fields: tuple[tuple[str, str], ...] = ()


class SpecError(ValueError):
    """A computed spec field is out of range.

    Attributes:
        field: The spec field.
    """

    def __init__(self, value_name: str, field: str, message: str) -> None:
        super().__init__(f"{value_name}.{field}: {message}")
        self.field = field


def resolve_attributes(
    model: type[BaseModel],
    stored: Mapping[str, Any],
    config: Mapping[str, Any],
    *,
    exempt: Sequence[str] = (),
) -> dict[str, Any]:
    """Attribute values with the fallbacks of spec §4.1, for a job snapshot or boot data.

    A non-secret, non-runtime field that is unset (absent or ``None`` in ``stored``) takes
    the merged config key of the same name, then the type's default. The result is
    validated by ``model``, so a config fallback of the wrong type is refused.

    Args:
        model: The type's attributes model.
        stored: The stored attributes (only the fields that were given).
        config: The target structure's merged config (empty without a structure).
        exempt: Fields that never fall back (the type's secret and runtime fields).

    Returns:
        Every field of ``model`` with its value, secrets included (callers strip them).

    Raises:
        pydantic.ValidationError: The stored values with their fallbacks are invalid.
    """
    data = {name: value for name, value in stored.items() if value is not None}
    for name in model.model_fields:
        if name not in data and name not in exempt and config.get(name) is not None:
            data[name] = config[name]
    return model.model_validate(data).model_dump(mode="json")


def compute_spec(
    rule: SpecRule,
    attributes: Mapping[str, Any],
    config: Mapping[str, Any],
    interfaces: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """Compute a ``<prefix>_vmspec`` / ``docker_containerspec`` value (spec §4.1).

    Args:
        rule: The type's spec rule.
        attributes: The resolved attributes (see `resolve_attributes`).
        config: The target structure's merged config.
        interfaces: The foundation's interfaces, in physical-location order.

    Returns:
        The attribute object merged over the config fallbacks, plus ``interfaces``.

    Raises:
        SpecError: ``cpu_count`` or ``memory_size`` (or another checked field) is not an
            integer in range (strings of digits, as config often holds, are converted).
    """
    spec: dict[str, Any] = {}
    for source in rule.sources:
        value = config.get(source.config_key, source.default)
        if value is not None:
            spec[source.field] = value
    for spec_field, attribute in rule.attribute_fields:
        if attributes.get(attribute) is not None:
            spec[spec_field] = attributes[attribute]
    own = attributes.get(rule.attribute) if rule.attribute else None
    if own:
        spec.update({k: v for k, v in own.items() if v is not None})
    for source in rule.sources:
        _check_range(rule.value_name, source, spec)
    if rule.include_interfaces:
        spec["interfaces"] = [dict(interface) for interface in interfaces]
    return spec


def _check_range(value_name: str, source: SpecSource, spec: dict[str, Any]) -> None:
    value = spec.get(source.field)
    if value is None or (source.minimum is None and source.maximum is None):
        return
    if isinstance(value, str) and value.strip().isdigit():
        value = spec[source.field] = int(value)  # config values are often strings
    if isinstance(value, bool) or not isinstance(value, int):
        raise SpecError(value_name, source.field, "must be an integer")
    if source.minimum is not None and value < source.minimum:
        raise SpecError(value_name, source.field, _range_text(source))
    if source.maximum is not None and value > source.maximum:
        raise SpecError(value_name, source.field, _range_text(source))


def _range_text(source: SpecSource) -> str:
    if source.maximum is None:
        return f"must be at least {source.minimum}"
    return f"must be from {source.minimum} to {source.maximum}"
