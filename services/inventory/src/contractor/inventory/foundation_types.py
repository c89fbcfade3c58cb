"""Foundation and complex types as inventory uses them (§4).

The declarations (attribute models with secret/runtime markers, class lists, complex rules)
come from ``contractor.foundation_types`` (built-ins plus entry points), loaded on first use,
never at import time. This module adds what only inventory needs: the agent ``connection``
shapes of foreman spec §6.1, built from decrypted attribute values for job snapshots.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any, Generic, TypeVar

from contractor.foundation_types import ComplexType as DeclaredComplex
from contractor.foundation_types import FoundationType as Declared
from contractor.foundation_types import load_complex_types, load_foundation_types
from pydantic import BaseModel, ValidationError

Connection = Callable[[dict[str, Any]], dict[str, Any] | None]

OUT_OF_BAND_POWER = frozenset({"ipmi", "redfish", "amt", "sim"})
"""Types whose create job may start while still planned (decisions.md #1)."""


def _credentials(values: dict[str, Any], prefix: str, user: str | None = None) -> dict[str, Any]:
    return {
        "username": values.get(f"{prefix}_username", user),
        "password": values.get(f"{prefix}_password"),
    }


def _ipmi(values: dict[str, Any]) -> dict[str, Any] | None:
    return {
        "ip_address": values.get("ipmi_ip_address"),
        "port": values.get("ipmi_port", 623),
        "cipher_suite": values.get("ipmi_cipher_suite"),
        "credentials": _credentials(values, "ipmi"),
    }


def _redfish(values: dict[str, Any]) -> dict[str, Any] | None:
    url = values.get("redfish_url") or f"https://{values.get('redfish_ip_address')}"
    return {
        "url": url,
        "verify_tls": values.get("redfish_verify_tls", False),
        "system_id": values.get("redfish_system_id"),
        "credentials": _credentials(values, "redfish"),
    }


def _amt(values: dict[str, Any]) -> dict[str, Any] | None:
    return {
        "ip_address": values.get("amt_ip_address"),
        "port": 16992,
        "credentials": _credentials(values, "amt", "admin"),
    }


def _aws(values: dict[str, Any]) -> dict[str, Any] | None:
    key_id = values.get("awsec2_access_key_id")
    credentials = (
        {"access_key_id": key_id, "secret_access_key": values.get("awsec2_secret_access_key")}
        if key_id
        else None
    )
    return {"region": values.get("awsec2_region"), "credentials": credentials, "endpoint_url": None}


def _sim(values: dict[str, Any]) -> dict[str, Any] | None:
    """The sim ``machine`` object of foreman.md §8.7, from the ``sim_*`` attributes."""
    interfaces: list[dict[str, Any]] = values.get("_interfaces") or []
    return {
        "id": values.get("_locator"),
        "macs": [port["mac"] for port in interfaces if port.get("mac")],
        "ips": [
            address["ip"]
            for port in interfaces
            for address in port.get("address_list") or []
            if isinstance(address, dict) and address.get("ip")
        ],
        "power_delay_s": values.get("sim_power_delay_s", 2),
        "boot_delay_s": values.get("sim_boot_delay_s", 10),
        "variance": values.get("sim_variance", 0.3),
        "fail_rate": values.get("sim_fail_rate", 0.0),
        "fail_mode": values.get("sim_fail_mode", "error"),
        "fail_functions": values.get("sim_fail_functions", []),
        "profile": values.get("sim_profile"),
        "open_ports": [22],
    }


def _none(values: dict[str, Any]) -> dict[str, Any] | None:
    return None


CONNECTIONS: dict[str, Connection] = {
    "ipmi": _ipmi,
    "redfish": _redfish,
    "amt": _amt,
    "aws": _aws,
    "sim": _sim,
}
"""Connection shapes by type; complex-hosted types (docker, virtualbox, …) are not built yet."""


RESOURCE_KEYS = (("cpu_count", "cpu_count"), ("memory_mb", "memory_size"), ("disk_gb", "disk_size"))
"""``resources`` fields and the config keys (and VM spec fields) they come from (§4.1)."""
GIB = 1024**3


def _count(value: Any) -> int | None:
    """A non-negative integer from a config or spec value (digit strings count), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, int | float) and value >= 0:
        return int(value)
    return None


def _from_hardware(hardware: Mapping[str, Any]) -> dict[str, int | None]:
    """``resources`` from an accepted hardware report's ``hardware`` object (§8.2)."""
    cpu = hardware.get("cpu")
    disks = hardware.get("disks")
    sizes = (
        [_count(d.get("size_bytes")) for d in disks if isinstance(d, dict)]
        if isinstance(disks, list)
        else []
    )
    known = [size for size in sizes if size is not None]
    return {
        "cpu_count": _count(cpu.get("count")) if isinstance(cpu, dict) else None,
        "memory_mb": _count(hardware.get("memory_mib")),
        "disk_gb": sum(known) // GIB if known else None,
    }


def resources(
    declared: Declared,
    attributes: Mapping[str, Any],
    config: Mapping[str, Any],
    hardware: Mapping[str, Any] | None = None,
) -> dict[str, int]:
    """``resources(f, config)`` of §4: ``{cpu_count, memory_mb, disk_gb}`` for usage statistics.

    * Types whose computed spec is sized (virtualbox, vcenter, libvirt, proxmox, sim): the
      effective spec, i.e. the ``<prefix>_vm_spec`` attribute over the config keys
      ``cpu_count``, ``memory_size`` and ``disk_size`` over their defaults (1, 512, 10), as
      the create job builds it.
    * Other types (bare metal, docker, cloud): the accepted hardware report where there is
      one, else those config keys when set, else 0.

    Never fails: a value that is not a non-negative integer counts as unset.

    Args:
        declared: The foundation type.
        attributes: The foundation's stored (non-secret) attributes.
        config: The merged config of the structure on the foundation, else the foundation's.
        hardware: The ``hardware`` object of the accepted hardware report, if any.
    """
    rule = declared.spec_rule
    sized = {s.config_key: s for s in rule.sources} if rule is not None else {}
    own = attributes.get(rule.attribute) if rule is not None and rule.attribute else None
    spec = own if isinstance(own, dict) else {}
    found = _from_hardware(hardware) if hardware else {}
    result: dict[str, int] = {}
    for field, key in RESOURCE_KEYS:
        if key in sized:
            value = _count(spec.get(key))
            if value is None:
                value = _count(config.get(key))
            if value is None:
                value = _count(sized[key].default)
        else:
            value = found.get(field)
            if value is None:
                value = _count(config.get(key))
        result[field] = value or 0
    return result


@dataclass(frozen=True)
class FoundationType:
    """A foundation type's declaration, as inventory uses it."""

    declared: Declared

    @property
    def name(self) -> str:
        """The API name (``ipmi``)."""
        return self.declared.name

    @property
    def display_name(self) -> str:
        """The name scripts and config see (``IPMI``)."""
        return self.declared.display_name

    @property
    def class_list(self) -> tuple[str, ...]:
        """Class names for ``:Class`` config filters."""
        return tuple(self.declared.class_list)

    @property
    def attributes_model(self) -> type[BaseModel]:
        """The Pydantic model of its attributes."""
        return self.declared.attributes_model

    @property
    def complex(self) -> str:
        """``forbidden``, ``optional`` or ``required``."""
        return self.declared.complex.mode

    @property
    def complex_types(self) -> tuple[str, ...]:
        """Accepted complex types."""
        return tuple(self.declared.complex.types)

    def fields_marked(self, mark: str) -> frozenset[str]:
        """Attribute names marked ``secret`` or ``runtime``."""
        found = self.declared.secret_fields if mark == "secret" else self.declared.runtime_fields
        return frozenset(found)

    def located_on_create(self, attributes: dict[str, Any]) -> bool:
        """Whether a new foundation with these attributes starts ``located``."""
        rule = self.declared.located_on_create
        if isinstance(rule, bool):
            return rule
        # The stored (plain) attributes were validated on write, so they validate again (~1 µs;
        # ``model_construct`` costs ~60 µs: pydantic inspects every default factory's signature
        # on each call). Secrets are kept apart: a type requiring one does not validate without
        # it, and then the stored values go in unchecked, as they always did.
        try:
            model = self.attributes_model.model_validate(attributes)
        except ValidationError:
            model = self.attributes_model.model_construct(**attributes)
        return self.declared.is_located_on_create(model)

    def console(self, attributes: Mapping[str, Any]) -> str:
        """The console name for ``_console``."""
        return self.declared.console(attributes)

    def connection(self, values: dict[str, Any]) -> dict[str, Any] | None:
        """Connection parameters for the agent, from all (decrypted) attribute values."""
        return CONNECTIONS.get(self.name, _none)(values)

    def resources(
        self,
        attributes: Mapping[str, Any],
        config: Mapping[str, Any],
        hardware: Mapping[str, Any] | None = None,
    ) -> dict[str, int]:
        """``{cpu_count, memory_mb, disk_gb}`` (see the module function `resources`)."""
        return resources(self.declared, attributes, config, hardware)

    def describe(self) -> dict[str, Any]:
        """The published declaration."""
        return self.declared.describe()


@dataclass(frozen=True)
class ComplexType:
    """A complex type's declaration, as inventory uses it."""

    declared: DeclaredComplex

    @property
    def name(self) -> str:
        """The type name."""
        return self.declared.name

    @property
    def attributes_model(self) -> type[BaseModel]:
        """The Pydantic model of its attributes."""
        return self.declared.attributes_model

    @property
    def members(self) -> str:
        """``any``, ``one`` or ``none``."""
        return self.declared.members

    @property
    def built(self) -> str:
        """``members``, ``host`` or ``always``."""
        return self.declared.built

    @property
    def host_field(self) -> str | None:
        """The attribute naming the host member, if any."""
        return self.declared.host_field

    def fields_marked(self, mark: str) -> frozenset[str]:
        """Attribute names marked ``secret`` or ``runtime``."""
        found = self.declared.secret_fields if mark == "secret" else self.declared.runtime_fields
        return frozenset(found)

    def describe(self) -> dict[str, Any]:
        """The published declaration."""
        return self.declared.describe()


T = TypeVar("T")


class _Lazy(Mapping[str, T], Generic[T]):
    """A read-only mapping loaded on first use (entry points are read then, not at import)."""

    def __init__(self, load: Callable[[], dict[str, T]]) -> None:
        self._load = load

    def __getitem__(self, key: str) -> T:
        return self._load()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._load())

    def __len__(self) -> int:
        return len(self._load())


@cache
def _foundation_types() -> dict[str, FoundationType]:
    return {name: FoundationType(t) for name, t in load_foundation_types().items()}


@cache
def _complex_types() -> dict[str, ComplexType]:
    return {name: ComplexType(t) for name, t in load_complex_types().items()}


REGISTRY: Mapping[str, FoundationType] = _Lazy(_foundation_types)
COMPLEX_TYPES: Mapping[str, ComplexType] = _Lazy(_complex_types)
