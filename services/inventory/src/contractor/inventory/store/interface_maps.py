"""Interface and address attributes of a structure's config (§6.4).

``_interface_map``, ``_primary_*`` and ``_provisioning_*``.

Addresses bind to interfaces by name at read time: the real interface of the structure's
foundation with that name, else the structure's abstract interface.
"""

from __future__ import annotations

from typing import Any

from contractor.inventory import addressing, orm
from contractor.inventory.config import AddressObject, pick_provisioning_address
from contractor.inventory.store import address_blocks, interfaces
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession


async def _interface_config(session: AsyncSession, iface: orm.Interface) -> dict[str, Any]:
    network = await session.get(orm.Network, iface.network)
    data: dict[str, Any] = {"name": iface.name, "network": network.name if network else None}
    if network is not None and network.mtu is not None:
        data["mtu"] = network.mtu
    if iface.kind == "real":
        data.update(
            mac=iface.mac, physical_location=iface.physical_location, link_name=iface.link_name
        )
    elif iface.kind == "aggregated":
        data.update(
            primary=iface.primary,
            secondary=list(iface.secondaries),
            parameters=dict(iface.parameters),
        )
    return data


async def _address_object(
    session: AsyncSession,
    address: orm.Address,
    iface: orm.Interface | None,
    blocks: dict[int, orm.AddressBlock] | None = None,
) -> AddressObject | None:
    if address.address_block is None or address.offset is None:
        return None
    block = (blocks or {}).get(address.address_block) or await session.get(
        orm.AddressBlock, address.address_block
    )
    if block is None:
        return None
    subnet = addressing.unpack(block.subnet)
    gw = address_blocks.gateway(block)
    found: AddressObject = {
        "address": addressing.show(subnet + addressing.unpack(address.offset), block.is_ipv4),
        "netmask": addressing.netmask(block.prefix, block.is_ipv4),
        "prefix": block.prefix,
        "subnet": addressing.show(subnet, block.is_ipv4),
        "gateway": None if gw is None else addressing.show(subnet + gw, block.is_ipv4),
        "auto": True,
        "alias_index": address.alias_index,
        "primary": address.is_primary,
    }
    if iface is not None:
        vlan = await session.scalar(
            select(orm.NetworkLink.vlan).where(
                orm.NetworkLink.network == iface.network, orm.NetworkLink.address_block == block.id
            )
        )
        if vlan is not None:
            found["vlan"] = vlan
    return found


async def structure_network_attributes(
    session: AsyncSession,
    structure: orm.Structure,
    known: tuple[list[orm.Interface], list[orm.Interface]] | None = None,
) -> dict[str, Any]:
    """Keyword arguments for ``config.structure_attributes`` beyond the structure's own.

    ``known``: the real interfaces of the structure's foundation and the structure's abstract
    ones (:func:`interfaces.of_foundation_and_structure`), when the caller has them.
    """
    real, abstract = known or await interfaces.of_foundation_and_structure(
        session, structure.foundation, structure.id
    )
    bound = {i.name: i for i in [*real, *abstract]}
    for iface in real:
        bound[iface.name] = iface  # a real interface wins over an abstract one of the same name
    # An address binds to an interface by name: with no interface, none binds (no query).
    statics = (
        list(
            await session.scalars(
                select(orm.Address)
                .where(orm.Address.structure == structure.id)
                .order_by(orm.Address.id)
            )
        )
        if bound
        else []
    )
    # One query for the blocks of the bound addresses (not one per address).
    block_ids = {
        a.address_block
        for a in statics
        if a.address_block is not None and (a.interface_name or "") in bound
    }
    blocks = {
        b.id: b
        for b in (
            await session.scalars(
                select(orm.AddressBlock).where(orm.AddressBlock.id.in_(sorted(block_ids)))
            )
            if block_ids
            else []
        )
    }
    interface_map: dict[str, Any] = {}
    for name, iface in bound.items():
        interface_map[name] = {**await _interface_config(session, iface), "address_list": []}
    primary: tuple[orm.Address, AddressObject] | None = None
    for address in statics:
        owner = bound.get(address.interface_name or "")
        if owner is None:
            continue
        found = await _address_object(session, address, owner, blocks)
        if found is None:
            continue
        interface_map[owner.name]["address_list"].append(found)
        if address.is_primary:
            primary = (address, found)
    provisioning = next((i for i in real if i.is_provisioning), None)
    on_provisioning = (
        interface_map.get(provisioning.name, {}).get("address_list", []) if provisioning else []
    )
    primary_iface = bound.get(primary[0].interface_name or "") if primary else None
    return {
        "provisioning_interface": provisioning.name if provisioning else None,
        "provisioning_interface_mac": provisioning.mac if provisioning else None,
        "primary_interface": primary_iface.name if primary_iface else None,
        "primary_interface_mac": primary_iface.mac if primary_iface else None,
        "primary_address": primary[1] if primary else None,
        "provisioning_address": pick_provisioning_address(on_provisioning),
        "interface_map": interface_map,
    }


async def provisioning_port(
    session: AsyncSession, locator: str, real: list[orm.Interface] | None = None
) -> orm.Interface | None:
    """The provisioning interface of a foundation, if any (``real``: its interfaces, if known)."""
    if real is None:
        real = await interfaces.of_foundation(session, locator)
    return next((i for i in real if i.is_provisioning), None)
