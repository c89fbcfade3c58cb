"""Networks and their links to address blocks (§7.2)."""

from __future__ import annotations

from typing import Any

from contractor.inventory import orm
from contractor.inventory.errors import AlreadyExists, InUse, ResourceNotFound, invalid
from contractor.inventory.store import listing, rows
from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession


async def get(session: AsyncSession, network_id: int) -> orm.Network:
    """Load one network.

    Raises:
        ResourceNotFound: No such network.
    """
    found = await session.get(orm.Network, network_id)
    if found is None:
        raise ResourceNotFound("network", network_id)
    return found


def filtered(*, sites: list[str] | None, name: str | None) -> Select[orm.Network]:
    """The list query with its filters."""
    stmt = select(orm.Network)
    if sites is not None:
        stmt = stmt.where(orm.Network.site.in_(sites))
    if name is not None:
        stmt = stmt.where(orm.Network.name == name)
    return stmt


async def list_page(
    session: AsyncSession, stmt: Select[orm.Network], *, limit: int, cursor: str | None
) -> tuple[list[orm.Network], str | None]:
    """One page of networks by id."""
    return await listing.page(session, stmt, orm.Network.id, limit=limit, cursor=cursor)


async def links(session: AsyncSession, network_id: int) -> list[dict[str, Any]]:
    """``[{address_block, vlan}]`` of a network."""
    found = await session.scalars(
        select(orm.NetworkLink)
        .where(orm.NetworkLink.network == network_id)
        .order_by(orm.NetworkLink.address_block)
    )
    return [{"address_block": link.address_block, "vlan": link.vlan} for link in found]


async def _check_name(session: AsyncSession, site: str, name: str, own_id: int | None) -> None:
    other = await session.scalar(
        select(orm.Network.id).where(orm.Network.site == site, orm.Network.name == name)
    )
    if other is not None and other != own_id:
        raise AlreadyExists("network", f"{site}/{name}")


async def create(session: AsyncSession, values: dict[str, Any]) -> orm.Network:
    """Create a network."""
    if await session.get(orm.Site, values["site"]) is None:
        raise invalid(["body", "site"], f"site {values['site']} does not exist")
    await _check_name(session, values["site"], values["name"], None)
    network = orm.Network(site=values["site"], name=values["name"], mtu=values.get("mtu"))
    rows.stamp_new(network)
    session.add(network)
    await session.flush()
    return network


async def update(
    session: AsyncSession, network: orm.Network, changes: dict[str, Any], expected: int | None
) -> list[str]:
    """Apply a PATCH (name, mtu)."""
    rows.check_version(network, expected)
    if changes.get("name") is not None:
        await _check_name(session, network.site, changes["name"], network.id)
    updates = {k: v for k, v in changes.items() if k in ("name", "mtu")}
    if updates.get("name") is None:
        updates.pop("name", None)
    changed = rows.apply_changes(network, updates)
    await session.flush()
    return changed


async def delete_network(session: AsyncSession, network: orm.Network, expected: int | None) -> None:
    """Delete a network (its links go with it; interfaces are not stored yet)."""
    rows.check_version(network, expected)
    users = await session.scalar(
        select(func.count()).select_from(orm.Interface).where(orm.Interface.network == network.id)
    )
    if users:
        raise InUse(f"network {network.id} is used by interfaces", interfaces=users)
    await session.execute(delete(orm.NetworkLink).where(orm.NetworkLink.network == network.id))
    await session.delete(network)
    await session.flush()


async def link(
    session: AsyncSession, network: orm.Network, block_id: int, vlan: int | None
) -> bool:
    """Link a block (same site) with a VLAN; return whether anything changed."""
    block = await session.get(orm.AddressBlock, block_id)
    if block is None:
        raise ResourceNotFound("address block", block_id)
    if block.site != network.site:
        raise invalid(["path", "block_id"], "the block belongs to another site", "site-mismatch")
    stored_vlan = vlan or None  # 0 = untagged, stored as null
    existing = await session.scalar(
        select(orm.NetworkLink).where(
            orm.NetworkLink.network == network.id, orm.NetworkLink.address_block == block_id
        )
    )
    if existing is not None:
        if existing.vlan == stored_vlan:
            return False
        existing.vlan = stored_vlan
    else:
        session.add(orm.NetworkLink(network=network.id, address_block=block_id, vlan=stored_vlan))
    rows.touch(network)
    await session.flush()
    return True


async def unlink(session: AsyncSession, network: orm.Network, block_id: int) -> bool:
    """Remove a link; return whether one existed."""
    result = await session.execute(
        delete(orm.NetworkLink).where(
            orm.NetworkLink.network == network.id, orm.NetworkLink.address_block == block_id
        )
    )
    if getattr(result, "rowcount", 0):
        rows.touch(network)
        await session.flush()
        return True
    return False
