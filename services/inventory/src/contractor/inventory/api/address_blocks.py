"""Address block routes (§7.3), addresses in a block and allocation (§7.4, §7.5)."""

from __future__ import annotations

from typing import Annotated, Any

from contractor.inventory import addressing, orm, store
from contractor.inventory.api.addresses import announce, render_address
from contractor.inventory.deps import Admin, Id, IfMatch, Operator, Reader, SessionDep
from contractor.inventory.schemas.ipam import (
    AddressBlockCreate,
    AddressBlockRead,
    AddressBlockUpdate,
    AddressCreate,
    AddressKind,
    AddressRead,
    NextFree,
    NextFreeRequest,
)
from contractor.servicekit.auth import Principal, Role, require_role
from contractor.servicekit.pagination import Limit, Page
from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

router = APIRouter(prefix="/address-blocks", tags=["address-blocks"])


async def render(session: AsyncSession, block: orm.AddressBlock) -> AddressBlockRead:
    """A block with derived values and usage."""
    low, high = store.address_blocks.bounds(block)
    gw = store.address_blocks.gateway(block)
    subnet = addressing.unpack(block.subnet)
    return AddressBlockRead.model_validate(
        {
            **{
                c: getattr(block, c)
                for c in (
                    "id",
                    "site",
                    "name",
                    "prefix",
                    "is_ipv4",
                    "created_at",
                    "updated_at",
                    "version",
                )
            },
            "subnet": addressing.show(subnet, block.is_ipv4),
            "gateway_offset": gw,
            "max_address": addressing.show(addressing.unpack(block.max_address), block.is_ipv4),
            "gateway": None if gw is None else addressing.show(subnet + gw, block.is_ipv4),
            "netmask": addressing.netmask(block.prefix, block.is_ipv4),
            "offset_bounds": [low, high],
            "size": high - low + 1,
            "usage": await store.address_blocks.usage(session, block),
        }
    )


async def _event(
    session: AsyncSession,
    type: str,
    block: orm.AddressBlock,
    changed: list[str],
    actor: dict[str, Any],
) -> None:
    await store.events.append(
        session,
        type,
        actor=actor,
        subject=("address-block", block.id),
        site=block.site,
        data={
            "id": block.id,
            "site": block.site,
            "name": block.name,
            "changed": changed,
            "dns_zones": [],
        },
    )


@router.get("")
async def list_blocks(
    session: SessionDep,
    _: Reader,
    site: str | None = None,
    name: str | None = None,
    limit: Annotated[Limit, Query()] = 50,
    cursor: str | None = None,
) -> Page[AddressBlockRead]:
    """List address blocks by id."""
    stmt = store.address_blocks.filtered(sites=[site] if site else None, name=name)
    rows, next_cursor = await store.address_blocks.list_page(
        session, stmt, limit=limit, cursor=cursor
    )
    return Page(items=[await render(session, r) for r in rows], next_cursor=next_cursor)


@router.post("", status_code=201)
async def create_block(
    body: AddressBlockCreate, session: SessionDep, caller: Admin, response: Response
) -> AddressBlockRead:
    """Create an address block."""
    async with session.begin():
        block = await store.address_blocks.create(session, body.model_dump())
        await _event(
            session, "address-block.created", block, sorted(body.model_fields_set), caller.actor()
        )
    response.headers["Location"] = f"/api/v1/address-blocks/{block.id}"
    return await render(session, block)


@router.get("/{block_id}")
async def read_block(block_id: Id, session: SessionDep, _: Reader) -> AddressBlockRead:
    """Read one block, with its usage."""
    return await render(session, await store.address_blocks.get(session, block_id))


@router.patch("/{block_id}")
async def update_block(
    block_id: Id, body: AddressBlockUpdate, session: SessionDep, caller: Admin, expected: IfMatch
) -> AddressBlockRead:
    """Change a block; its addresses keep their offsets."""
    async with session.begin():
        block = await store.address_blocks.get(session, block_id, lock=True)
        changed = await store.address_blocks.update(
            session, block, body.model_dump(include=body.model_fields_set), expected
        )
        if changed:
            await _event(session, "address-block.updated", block, changed, caller.actor())
    return await render(session, block)


@router.delete("/{block_id}", status_code=204)
async def delete_block(block_id: Id, session: SessionDep, caller: Admin, expected: IfMatch) -> None:
    """Delete an empty, unlinked block."""
    async with session.begin():
        block = await store.address_blocks.get(session, block_id, lock=True)
        await store.address_blocks.delete_block(session, block, expected)
        await _event(session, "address-block.deleted", block, [], caller.actor())


@router.get("/{block_id}/addresses")
async def list_block_addresses(
    block_id: Id,
    session: SessionDep,
    _: Reader,
    kind: AddressKind | None = None,
    limit: Annotated[Limit, Query()] = 50,
    cursor: str | None = None,
) -> Page[AddressRead]:
    """List the addresses of a block."""
    await store.address_blocks.get(session, block_id)
    stmt = store.addresses.filtered(block=block_id, kind=kind)
    rows, next_cursor = await store.addresses.list_page(session, stmt, limit=limit, cursor=cursor)
    return Page(items=[await render_address(session, r) for r in rows], next_cursor=next_cursor)


def _may_create(caller: Principal, kind: str) -> None:
    allowed = {Role.ADMIN} if kind in ("reserved", "dynamic") else {Role.ADMIN, Role.OPERATOR}
    require_role(caller, allowed)


@router.post("/{block_id}/addresses", status_code=201)
async def create_address(
    block_id: Id, body: AddressCreate, session: SessionDep, caller: Operator, response: Response
) -> AddressRead:
    """Create a static (operator), reserved or dynamic (admin) address in the block."""
    _may_create(caller, body.kind)
    async with session.begin():
        address = await store.addresses.create(session, block_id, body.model_dump())
        await announce(session, "address.created", address, caller.actor())
    response.headers["Location"] = f"/api/v1/addresses/{address.id}"
    return await render_address(session, address)


@router.get("/{block_id}/next-free")
async def preview_next_free(
    block_id: Id, request: Request, session: SessionDep, _: Reader
) -> NextFree:
    """Preview the lowest free offset, reserving nothing.

    Usually one probe at the block's ``free_hint``. When the hint is stale, the walk to the
    first gap runs once, in a short write transaction that keeps the found offset as the new
    hint (a cache, see ``store.address_blocks.remember_first_free``), so later previews and
    allocations do not walk again.
    """
    block = await store.address_blocks.get(session, block_id)
    known, offset = await store.address_blocks.free_at_hint(session, block)
    if not known:
        # Give the reader's connection back first: holding it while the writer waits for
        # another could exhaust the pool under many concurrent previews.
        await session.close()
        async with request.app.state.sessions() as writer, writer.begin():
            offset = await store.address_blocks.remember_first_free(writer, block_id)
    if offset is None:
        return NextFree(offset=None, ip_address=None)
    ip = addressing.show(addressing.unpack(block.subnet) + offset, block.is_ipv4)
    return NextFree(offset=offset, ip_address=ip)


@router.post("/{block_id}/next-free", status_code=201)
async def allocate_next_free(
    block_id: Id, body: NextFreeRequest, session: SessionDep, caller: Operator, response: Response
) -> AddressRead:
    """Create a static address at the lowest free offset."""
    async with session.begin():
        address = await store.addresses.allocate(session, block_id, body.model_dump())
        await announce(session, "address.created", address, caller.actor())
    response.headers["Location"] = f"/api/v1/addresses/{address.id}"
    return await render_address(session, address)
