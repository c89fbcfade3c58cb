"""Address routes (§7.4): list, look up, read, change, delete."""

from __future__ import annotations

from typing import Annotated, Any

from contractor.inventory import addressing, orm, store
from contractor.inventory.deps import Id, IfMatch, Operator, Reader, SessionDep
from contractor.inventory.errors import Ambiguous, ResourceNotFound
from contractor.inventory.schemas.ipam import AddressKind, AddressRead, AddressUpdate
from contractor.servicekit.auth import Role, require_role
from contractor.servicekit.pagination import Limit, Page
from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncSession

router = APIRouter(tags=["addresses"])
OWN = (
    "id",
    "kind",
    "address_block",
    "structure",
    "interface_name",
    "alias_index",
    "is_primary",
    "pointer",
    "reason",
    "pxe",
    "created_at",
    "updated_at",
    "version",
)
MAX_POINTER_DEPTH = 32


async def derived(session: AsyncSession, address: orm.Address) -> dict[str, Any]:
    """The derived IP values of an address.

    A pointer's values come from the address it points to, followed recursively.
    """
    current, depth = address, 0
    while current.pointer is not None and depth < MAX_POINTER_DEPTH:
        pointed = await session.get(orm.Address, current.pointer)
        if pointed is None:
            break
        current, depth = pointed, depth + 1
    empty = dict.fromkeys(("offset", "ip_address", "subnet", "netmask", "prefix", "gateway"))
    if current.address_block is None or current.offset is None:
        return empty
    block = await session.get(orm.AddressBlock, current.address_block)
    if block is None:
        return empty
    subnet, offset = addressing.unpack(block.subnet), addressing.unpack(current.offset)
    gw = store.address_blocks.gateway(block)
    return {
        "offset": addressing.unpack(address.offset) if address.offset is not None else None,
        "ip_address": addressing.show(subnet + offset, block.is_ipv4),
        "subnet": addressing.show(subnet, block.is_ipv4),
        "prefix": block.prefix,
        "netmask": addressing.netmask(block.prefix, block.is_ipv4),
        "gateway": None if gw is None else addressing.show(subnet + gw, block.is_ipv4),
    }


async def render_address(session: AsyncSession, address: orm.Address) -> AddressRead:
    """An address with its derived IP values."""
    return AddressRead.model_validate(
        {**{c: getattr(address, c) for c in OWN}, **await derived(session, address)}
    )


async def announce(
    session: AsyncSession, type: str, address: orm.Address, actor: dict[str, Any]
) -> None:
    """Emit an ``address.*`` event with the forward and reverse zones it may change."""
    values = await derived(session, address)
    site: str | None = None
    zones: list[str] = []
    if address.address_block is not None:
        block = await session.get(orm.AddressBlock, address.address_block)
        site = block.site if block is not None else None
        if block is not None and address.offset is not None and address.pointer is None:
            ip = addressing.unpack(block.subnet) + addressing.unpack(address.offset)
            zones += await store.dns_zones.reverse_zones_of(session, block, ip)
    if address.structure is not None:
        structure = await session.get(orm.Structure, address.structure)
        if structure is not None:
            zone = (await store.structures.zones(session, [structure.site])).get(structure.site)
            zones = [zone, *zones] if zone else []
    await store.events.append(
        session,
        type,
        actor=actor,
        subject=("address", address.id),
        site=site,
        data={
            "id": address.id,
            "kind": address.kind,
            "address_block": address.address_block,
            "offset": values["offset"],
            "ip_address": values["ip_address"],
            "structure": address.structure,
            "interface_name": address.interface_name,
            "alias_index": address.alias_index,
            "is_primary": address.is_primary,
            "dns_zones": zones,
        },
    )


@router.get("/addresses")
async def list_addresses(
    session: SessionDep,
    _: Reader,
    ip: str | None = None,
    structure: Id | None = None,
    kind: AddressKind | None = None,
    limit: Annotated[Limit, Query()] = 50,
    cursor: str | None = None,
) -> Page[AddressRead]:
    """List addresses by id."""
    if ip is not None:
        found = [
            a
            for a in await store.addresses.find_by_ip(session, ip, None)
            if (structure is None or a.structure == structure) and (kind is None or a.kind == kind)
        ]
        return Page(items=[await render_address(session, a) for a in found], next_cursor=None)
    stmt = store.addresses.filtered(structure=structure, kind=kind)
    rows, next_cursor = await store.addresses.list_page(session, stmt, limit=limit, cursor=cursor)
    return Page(items=[await render_address(session, r) for r in rows], next_cursor=next_cursor)


@router.get("/addresses/lookup")
async def lookup_address(
    ip: str, session: SessionDep, _: Reader, site: str | None = None
) -> AddressRead:
    """Find the one address with this IP (in a site)."""
    found = await store.addresses.find_by_ip(session, ip, site)
    if not found:
        raise ResourceNotFound("address", ip)
    if len(found) > 1:
        raise Ambiguous(f"{len(found)} addresses have IP {ip}", ids=[a.id for a in found])
    return await render_address(session, found[0])


@router.get("/addresses/{address_id}")
async def read_address(address_id: Id, session: SessionDep, _: Reader) -> AddressRead:
    """Read one address."""
    return await render_address(session, await store.addresses.get(session, address_id))


@router.patch("/addresses/{address_id}")
async def update_address(
    address_id: Id, body: AddressUpdate, session: SessionDep, caller: Operator, expected: IfMatch
) -> AddressRead:
    """Change an address."""
    async with session.begin():
        address = await store.addresses.get(session, address_id)
        if address.kind != "address":
            require_role(caller, {Role.ADMIN})
        changed = await store.addresses.update(
            session, address, body.model_dump(include=body.model_fields_set), expected
        )
        if changed:
            await announce(session, "address.updated", address, caller.actor())
    return await render_address(session, address)


@router.delete("/addresses/{address_id}", status_code=204)
async def delete_address(
    address_id: Id, session: SessionDep, caller: Operator, expected: IfMatch
) -> None:
    """Delete an address nothing points to."""
    async with session.begin():
        address = await store.addresses.get(session, address_id)
        if address.kind != "address":
            require_role(caller, {Role.ADMIN})
        await announce(session, "address.deleted", address, caller.actor())
        await store.addresses.delete_address(session, address, expected)


@router.get("/structures/{structure_id}/addresses")
async def list_structure_addresses(
    structure_id: Id, session: SessionDep, _: Reader
) -> list[AddressRead]:
    """List a structure's static addresses."""
    await store.structures.get(session, structure_id)
    rows, _next = await store.addresses.list_page(
        session, store.addresses.filtered(structure=structure_id), limit=1000, cursor=None
    )
    return [await render_address(session, r) for r in rows]
