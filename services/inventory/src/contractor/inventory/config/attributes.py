"""Inventory's own config names: ``_attributes`` and ``__globals`` (inventory spec §6.4).

The service loads the rows; these functions only lay the values out under their names, so
every target spells them the same way. User values can never set these names: the config
key pattern cannot start with ``_``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypedDict


class AddressObject(TypedDict, total=False):
    """An address as config shows it (``address_list``, ``_primary_address``, …)."""

    address: str
    netmask: str
    prefix: int
    subnet: str
    gateway: str | None
    auto: bool
    alias_index: int | None
    primary: bool
    vlan: int


def rfc3339(moment: datetime) -> str:
    """Format an aware datetime as RFC 3339 in UTC with a ``Z``."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def field_attributes(
    fields: Mapping[str, Any], secret_fields: Collection[str] = ()
) -> dict[str, Any]:
    """``_<field>`` for every non-secret type attribute (unset → ``None``).

    Args:
        fields: Every attribute field of the type, with ``None`` for unset ones.
        secret_fields: Names of the secret fields, which never reach config.

    Returns:
        ``{"_ipmi_ip_address": "10.0.0.5", …}``.
    """
    return {f"_{name}": value for name, value in fields.items() if name not in secret_fields}


def foundation_attributes(
    *,
    locator: str,
    type_display_name: str,
    state: str,
    class_list: Sequence[str],
    hardware: Mapping[str, Any] | None = None,
    complex_name: str | None = None,
    provisioning_interface: str | None = None,
    provisioning_interface_mac: str | None = None,
    console: str = "console",
    fields: Mapping[str, Any] | None = None,
    secret_fields: Collection[str] = (),
) -> dict[str, Any]:
    """The attributes of a foundation (spec §6.4).

    Args:
        locator: The locator (also ``_foundation_id``).
        type_display_name: The type's display name (``Manual``, ``IPMI``, …).
        state: ``planned``, ``located`` or ``built``.
        class_list: The type's class list.
        hardware: The accepted hardware report, or ``None``.
        complex_name: The complex's name, or ``None``.
        provisioning_interface: The provisioning interface's ``physical_location``.
        provisioning_interface_mac: Its MAC.
        console: The type's console name.
        fields: The type attribute fields (see `field_attributes`).
        secret_fields: The type's secret field names.

    Returns:
        The attribute map, in the order of spec §6.4.
    """
    return {
        "_foundation_id": locator,
        "_foundation_locator": locator,
        "_foundation_type": type_display_name,
        "_foundation_state": state,
        "_foundation_class_list": list(class_list),
        "_foundation_hardware": dict(hardware) if hardware is not None else None,
        "_foundation_complex": complex_name,
        "_provisioning_interface": provisioning_interface,
        "_provisioning_interface_mac": provisioning_interface_mac,
        "_console": console,
        **field_attributes(fields or {}, secret_fields),
    }


def complex_attributes(
    *,
    complex_type: str,
    state: str,
    host_ip: str | None,
    fields: Mapping[str, Any] | None = None,
    secret_fields: Collection[str] = (),
) -> dict[str, Any]:
    """The attributes of a foundation's complex (spec §6.4).

    Args:
        complex_type: The complex type's name.
        state: The complex's state.
        host_ip: The primary IP of the host member, or ``None``.
        fields: The complex type's attribute fields.
        secret_fields: Its secret field names.

    Returns:
        ``_complex_type``, ``_complex_state``, ``_complex_host`` and ``_<field>``.
    """
    return {
        "_complex_type": complex_type,
        "_complex_state": state,
        "_complex_host": host_ip,
        **field_attributes(fields or {}, secret_fields),
    }


def structure_attributes(
    *,
    structure_id: int,
    state: str,
    config_uuid: str,
    hostname: str,
    zone: str | None,
    provisioning_interface: str | None = None,
    provisioning_interface_mac: str | None = None,
    primary_interface: str | None = None,
    primary_interface_mac: str | None = None,
    primary_address: AddressObject | None = None,
    provisioning_address: AddressObject | None = None,
    interface_map: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The attributes of a structure (spec §6.4), assigned over everything before them.

    Args:
        structure_id: The structure's id.
        state: Its state.
        config_uuid: Its ``config_uuid``.
        hostname: Its hostname.
        zone: Its site's zone (``_domain_name``), or ``None``.
        provisioning_interface: The provisioning interface's ``name`` (overwrites the
            foundation's ``physical_location``).
        provisioning_interface_mac: Its MAC.
        primary_interface: The interface the primary address binds to.
        primary_interface_mac: Its MAC.
        primary_address: The primary address object.
        provisioning_address: See `pick_provisioning_address`.
        interface_map: ``{name: interface config + {"address_list": [...]}}``.

    Returns:
        The attribute map.
    """
    return {
        "_structure_id": structure_id,
        "_structure_state": state,
        "_structure_config_uuid": config_uuid,
        "_hostname": hostname,
        "_domain_name": zone,
        "_fqdn": f"{hostname}.{zone}" if zone else hostname,
        "_provisioning_interface": provisioning_interface,
        "_provisioning_interface_mac": provisioning_interface_mac,
        "_provisioning_address": provisioning_address,
        "_primary_interface": primary_interface,
        "_primary_interface_mac": primary_interface_mac,
        "_primary_address": primary_address,
        "_interface_map": dict(interface_map or {}),
    }


def pick_provisioning_address(addresses: Sequence[AddressObject]) -> AddressObject | None:
    """Choose ``_provisioning_address`` among the addresses on the provisioning interface.

    The primary one wins; otherwise the lowest ``alias_index``, the unaliased (``None``)
    address first (Appendix A item 29).

    Args:
        addresses: The addresses bound to the provisioning interface's name.

    Returns:
        The chosen address, or ``None`` when there is none.
    """
    for address in addresses:
        if address.get("primary"):
            return address
    if not addresses:
        return None
    return min(addresses, key=_alias_order)


def _alias_order(address: AddressObject) -> tuple[bool, int]:
    alias = address.get("alias_index")
    return (alias is not None, alias or 0)


def config_globals(
    *,
    last_modified: datetime,
    now: datetime,
    contractor_host: str,
    pxe_location: str,
    connection_parameters: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``__*`` globals every merged config ends with (spec §6.4).

    Args:
        last_modified: Latest ``updated_at`` of every contributing row.
        now: The current time (from the service's clock).
        contractor_host: ``INVENTORY_CONTRACTOR_HOST``.
        pxe_location: ``INVENTORY_PXE_LOCATION``.
        connection_parameters: Only while rendering a PXE template: the foundation's
            connection parameters with the secrets already removed.

    Returns:
        The globals map.
    """
    result: dict[str, Any] = {
        "__last_modified": rfc3339(last_modified),
        "__timestamp": rfc3339(now),
        "__contractor_host": contractor_host,
        "__pxe_location": pxe_location,
    }
    if connection_parameters is not None:
        result["__connection_parameters"] = dict(connection_parameters)
    return result
