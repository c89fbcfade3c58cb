"""Network routes (§7.2)."""

from __future__ import annotations

from typing import Annotated, Any

from contractor.inventory import orm, store
from contractor.inventory.deps import Admin, Id, IfMatch, Reader, SessionDep
from contractor.inventory.schemas.ipam import (
    NetworkCreate,
    NetworkLinkBody,
    NetworkRead,
    NetworkUpdate,
)
from contractor.servicekit.pagination import Limit, Page
from fastapi import APIRouter, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

router = APIRouter(prefix="/networks", tags=["networks"])


async def render(session: AsyncSession, network: orm.Network) -> NetworkRead:
    """A network with its links."""
    return NetworkRead.model_validate(
        {
            **{
                c: getattr(network, c)
                for c in ("id", "site", "name", "mtu", "created_at", "updated_at", "version")
            },
            "address_blocks": await store.networks.links(session, network.id),
        }
    )


async def _event(
    session: AsyncSession,
    type: str,
    network: orm.Network,
    changed: list[str],
    actor: dict[str, Any],
) -> None:
    await store.events.append(
        session,
        type,
        actor=actor,
        subject=("network", network.id),
        site=network.site,
        data={
            "id": network.id,
            "site": network.site,
            "name": network.name,
            "changed": changed,
            "dns_zones": [],
        },
    )


@router.get("")
async def list_networks(
    session: SessionDep,
    _: Reader,
    site: str | None = None,
    name: str | None = None,
    limit: Annotated[Limit, Query()] = 50,
    cursor: str | None = None,
) -> Page[NetworkRead]:
    """List networks by id."""
    stmt = store.networks.filtered(sites=[site] if site else None, name=name)
    rows, next_cursor = await store.networks.list_page(session, stmt, limit=limit, cursor=cursor)
    return Page(items=[await render(session, r) for r in rows], next_cursor=next_cursor)


@router.post("", status_code=201)
async def create_network(
    body: NetworkCreate, session: SessionDep, caller: Admin, response: Response
) -> NetworkRead:
    """Create a network."""
    async with session.begin():
        network = await store.networks.create(session, body.model_dump())
        await _event(
            session, "network.created", network, sorted(body.model_fields_set), caller.actor()
        )
    response.headers["Location"] = f"/api/v1/networks/{network.id}"
    return await render(session, network)


@router.get("/{network_id}")
async def read_network(network_id: Id, session: SessionDep, _: Reader) -> NetworkRead:
    """Read one network."""
    return await render(session, await store.networks.get(session, network_id))


@router.patch("/{network_id}")
async def update_network(
    network_id: Id, body: NetworkUpdate, session: SessionDep, caller: Admin, expected: IfMatch
) -> NetworkRead:
    """Change a network."""
    async with session.begin():
        network = await store.networks.get(session, network_id)
        changed = await store.networks.update(
            session, network, body.model_dump(include=body.model_fields_set), expected
        )
        if changed:
            await _event(session, "network.updated", network, changed, caller.actor())
    return await render(session, network)


@router.delete("/{network_id}", status_code=204)
async def delete_network(
    network_id: Id, session: SessionDep, caller: Admin, expected: IfMatch
) -> None:
    """Delete a network."""
    async with session.begin():
        network = await store.networks.get(session, network_id)
        await store.networks.delete_network(session, network, expected)
        await _event(session, "network.deleted", network, [], caller.actor())


@router.put("/{network_id}/address-blocks/{block_id}")
async def link_block(
    network_id: Id, block_id: Id, body: NetworkLinkBody, session: SessionDep, caller: Admin
) -> NetworkRead:
    """Link an address block to the network."""
    async with session.begin():
        network = await store.networks.get(session, network_id)
        if await store.networks.link(session, network, block_id, body.vlan):
            await _event(session, "network.updated", network, ["address_blocks"], caller.actor())
    return await render(session, network)


@router.delete("/{network_id}/address-blocks/{block_id}", status_code=204)
async def unlink_block(network_id: Id, block_id: Id, session: SessionDep, caller: Admin) -> None:
    """Remove a block link (idempotent)."""
    async with session.begin():
        network = await store.networks.get(session, network_id)
        if await store.networks.unlink(session, network, block_id):
            await _event(session, "network.updated", network, ["address_blocks"], caller.actor())
