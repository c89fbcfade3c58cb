"""Finding foundation and complex types: the built-ins and entry-point plug-ins."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib.metadata import entry_points
from types import MappingProxyType
from typing import Final, TypeVar

from contractor.foundation_types.builtin.bmc import AMT, IPMI, REDFISH
from contractor.foundation_types.builtin.cloud import AWS, AZURE
from contractor.foundation_types.builtin.complexes import (
    AZURE_COMPLEX,
    DOCKER_COMPLEX,
    LIBVIRT_COMPLEX,
    MANUAL_COMPLEX,
    PROXMOX_COMPLEX,
    SIM_COMPLEX,
    VCENTER_COMPLEX,
    VIRTUALBOX_COMPLEX,
)
from contractor.foundation_types.builtin.docker import DOCKER
from contractor.foundation_types.builtin.manual import MANUAL
from contractor.foundation_types.builtin.sim import SIM
from contractor.foundation_types.builtin.vm import LIBVIRT, PROXMOX, VCENTER, VIRTUALBOX
from contractor.foundation_types.declaration import ComplexType, FoundationType

FOUNDATION_TYPES_GROUP: Final = "contractor.foundation_types"
COMPLEX_TYPES_GROUP: Final = "contractor.complex_types"

BUILTIN_FOUNDATION_TYPES: Final[Mapping[str, FoundationType]] = MappingProxyType(
    {
        t.name: t
        for t in (
            MANUAL,
            SIM,
            IPMI,
            REDFISH,
            AMT,
            DOCKER,
            VIRTUALBOX,
            VCENTER,
            LIBVIRT,
            PROXMOX,
            AWS,
            AZURE,
        )
    }
)
BUILTIN_COMPLEX_TYPES: Final[Mapping[str, ComplexType]] = MappingProxyType(
    {
        t.name: t
        for t in (
            MANUAL_COMPLEX,
            SIM_COMPLEX,
            DOCKER_COMPLEX,
            VIRTUALBOX_COMPLEX,
            VCENTER_COMPLEX,
            LIBVIRT_COMPLEX,
            PROXMOX_COMPLEX,
            AZURE_COMPLEX,
        )
    }
)


class UnknownTypeError(LookupError):
    """No foundation or complex type of that name is registered."""


def load_foundation_types() -> dict[str, FoundationType]:
    """Every registered foundation type: entry points over the built-ins.

    Raises:
        TypeError: An entry point does not name a `FoundationType` of its own name.
    """
    return _load(FOUNDATION_TYPES_GROUP, FoundationType, dict(BUILTIN_FOUNDATION_TYPES))


def load_complex_types() -> dict[str, ComplexType]:
    """Every registered complex type: entry points over the built-ins."""
    return _load(COMPLEX_TYPES_GROUP, ComplexType, dict(BUILTIN_COMPLEX_TYPES))


_T = TypeVar("_T", FoundationType, ComplexType)


def _load(group: str, kind: type[_T], found: dict[str, _T]) -> dict[str, _T]:
    for entry in entry_points(group=group):
        declared = entry.load()
        if not isinstance(declared, kind) or declared.name != entry.name:
            raise TypeError(
                f"entry point {group}:{entry.name} is not a {kind.__name__} of that name"
            )
        found[entry.name] = declared
    return found


@cache
def _foundation_types() -> Mapping[str, FoundationType]:
    return MappingProxyType(load_foundation_types())


@cache
def _complex_types() -> Mapping[str, ComplexType]:
    return MappingProxyType(load_complex_types())


def foundation_type(name: str) -> FoundationType:
    """The registered foundation type ``name`` (entry points are read once).

    Raises:
        UnknownTypeError: No such type.
    """
    try:
        return _foundation_types()[name]
    except KeyError:
        raise UnknownTypeError(f"no foundation type {name!r}") from None


def complex_type(name: str) -> ComplexType:
    """The registered complex type ``name`` (entry points are read once).

    Raises:
        UnknownTypeError: No such type.
    """
    try:
        return _complex_types()[name]
    except KeyError:
        raise UnknownTypeError(f"no complex type {name!r}") from None
