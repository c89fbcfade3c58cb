"""Addresses (§7.4, §7.5): static, reserved and dynamic; allocation of the lowest free offset."""

from __future__ import annotations

from typing import Any

from contractor.inventory import addressing, orm
from contractor.inventory.errors import (
    AddressInUse,
    AlreadyExists,
    GatewayConflict,
    InUse,
    JobActive,
    NoFreeAddress,
    PrimaryExists,
    ResourceNotFound,
    invalid,
)
from contractor.inventory.store import address_blocks, listing, pxes, rows
from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession


async def get(session: AsyncSession, address_id: int) -> orm.Address:
    """Load one address.

    Raises:
        ResourceNotFound: No such address.
    """
    found = await session.get(orm.Address, address_id)
    if found is None:
        raise ResourceNotFound("address", address_id)
    return found


def filtered(
    *, block: int | None = None, structure: int | None = None, kind: str | None = None
) -> Select[orm.Address]:
    """The list query with its filters."""
    stmt = select(orm.Address)
    for column, value in (
        (orm.Address.address_block, block),
        (orm.Address.structure, structure),
        (orm.Address.kind, kind),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    return stmt


async def list_page(
    session: AsyncSession, stmt: Select[orm.Address], *, limit: int, cursor: str | None
) -> tuple[list[orm.Address], str | None]:
    """One page of addresses by id."""
    return await listing.page(session, stmt, orm.Address.id, limit=limit, cursor=cursor)


async def find_by_ip(session: AsyncSession, ip: str, site: str | None) -> list[orm.Address]:
    """Addresses whose block and offset give ``ip`` (optionally in one site's blocks)."""
    try:
        value, _ = addressing.parse(ip)
    except ValueError as exc:
        raise invalid(["query", "ip"], f"{ip!r} is not an IP address") from exc
    stmt = select(orm.AddressBlock).where(
        orm.AddressBlock.subnet <= addressing.pack(value),
        orm.AddressBlock.max_address >= addressing.pack(value),
    )
    if site is not None:
        stmt = stmt.where(orm.AddressBlock.site == site)
    found: list[orm.Address] = []
    for block in await session.scalars(stmt):
        offset = addressing.pack(value - addressing.unpack(block.subnet))
        found += list(
            await session.scalars(
                select(orm.Address).where(
                    orm.Address.address_block == block.id, orm.Address.offset == offset
                )
            )
        )
    return found


def _offset_of(block: orm.AddressBlock, values: dict[str, Any]) -> int:
    if values.get("ip_address") is not None:
        try:
            value, _ = addressing.parse(values["ip_address"])
        except ValueError as exc:
            raise invalid(["body", "ip_address"], "not an IP address") from exc
        offset = value - addressing.unpack(block.subnet)
        if value > addressing.unpack(block.max_address) or offset < 0:
            raise invalid(
                ["body", "ip_address"], "the IP is not in the block", "offset-out-of-range"
            )
        return offset
    if values.get("offset") is None:
        raise invalid(
            ["body", "offset"], "an address in a block needs an offset", "block-requires-offset"
        )
    given: int = values["offset"]
    return given


async def _check_offset(
    session: AsyncSession, block: orm.AddressBlock, offset: int, own: int | None
) -> None:
    low, high = address_blocks.bounds(block)
    if not low <= offset <= high:
        raise invalid(
            ["body", "offset"], f"must be between {low} and {high}", "offset-out-of-range"
        )
    if offset == address_blocks.gateway(block):
        raise GatewayConflict(f"offset {offset} is the gateway of block {block.id}")
    holder = await session.scalar(
        select(orm.Address).where(
            orm.Address.address_block == block.id, orm.Address.offset == addressing.pack(offset)
        )
    )
    if holder is not None and holder.id != own:
        raise AddressInUse(
            f"offset {offset} is held by an {holder.kind}",
            holder_kind=holder.kind,
            holder=holder.id,
        )


async def _check_static(
    session: AsyncSession,
    block: orm.AddressBlock,
    values: dict[str, Any],
    own: int | None,
    holder_job: int | None = None,
) -> None:
    for field in ("structure", "interface_name"):
        if values.get(field) is None:
            raise invalid(["body", field], f"a static address needs {field}")
    structure = await session.get(orm.Structure, values["structure"])
    if structure is None:
        raise invalid(["body", "structure"], f"structure {values['structure']} does not exist")
    if structure.job_id is not None and structure.job_id != holder_job:
        raise JobActive(f"job {structure.job_id} holds structure {structure.id}")
    alias = values.get("alias_index")
    if alias is not None:
        clash = await session.scalar(
            select(orm.Address.id).where(
                orm.Address.structure == structure.id,
                orm.Address.interface_name == values["interface_name"],
                orm.Address.alias_index == alias,
            )
        )
        if clash is not None and clash != own:
            raise AlreadyExists(
                "address alias", f"{values['interface_name']}:{alias}", "alias_index"
            )
    if values.get("is_primary"):
        if block.site != structure.site:
            raise invalid(
                ["body", "is_primary"],
                "a primary address must be in the structure's site",
                "site-mismatch",
            )
        primary = await session.scalar(
            select(orm.Address.id).where(
                orm.Address.structure == structure.id, orm.Address.is_primary.is_(True)
            )
        )
        if primary is not None and primary != own:
            raise PrimaryExists(f"structure {structure.id} has primary address {primary}")


def _kind_fields(kind: str, values: dict[str, Any]) -> dict[str, Any]:
    if kind == "address":
        return {
            "structure": values.get("structure"),
            "interface_name": values.get("interface_name"),
            "alias_index": values.get("alias_index") or None,
            "is_primary": bool(values.get("is_primary")),
        }
    if kind == "reserved":
        if not values.get("reason"):
            raise invalid(["body", "reason"], "a reserved address needs a reason")
        return {"reason": values["reason"]}
    return {"pxe": values.get("pxe")}


async def create(
    session: AsyncSession, block_id: int, values: dict[str, Any], holder_job: int | None = None
) -> orm.Address:
    """Create an address in a block (the block row is locked)."""
    block = await address_blocks.get(session, block_id, lock=True)
    kind = values["kind"]
    offset = _offset_of(block, values)
    await _check_offset(session, block, offset, None)
    if kind == "address":
        await _check_static(session, block, values, None, holder_job)
    dynamic_pxe = values.get("pxe") if kind == "dynamic" else None
    await pxes.check_exists(session, dynamic_pxe, ["body", "pxe"])
    address = orm.Address(
        kind=kind,
        address_block=block.id,
        offset=addressing.pack(offset),
        **_kind_fields(kind, values),
    )
    rows.stamp_new(address)
    session.add(address)
    _take_hint(block, offset)
    await session.flush()
    return address


def _take_hint(block: orm.AddressBlock, offset: int) -> None:
    """Keep ``free_hint`` past a run of used offsets: every offset below it is taken."""
    low, _ = address_blocks.bounds(block)
    hint = addressing.unpack(block.free_hint) if block.free_hint is not None else low
    if offset == hint:
        block.free_hint = addressing.pack(offset + 1)


async def allocate(session: AsyncSession, block_id: int, values: dict[str, Any]) -> orm.Address:
    """Create a static address at the lowest free offset (409 ``no-free-address`` if full)."""
    block = await address_blocks.get(session, block_id, lock=True)
    offset = await address_blocks.first_free(session, block)
    if offset is None:
        raise NoFreeAddress(f"address block {block.id} is full")
    await _check_static(session, block, values, None)
    address = orm.Address(
        kind="address",
        address_block=block.id,
        offset=addressing.pack(offset),
        **_kind_fields("address", values),
    )
    rows.stamp_new(address)
    session.add(address)
    block.free_hint = addressing.pack(offset + 1)
    await session.flush()
    return address


async def update(
    session: AsyncSession, address: orm.Address, changes: dict[str, Any], expected: int | None
) -> list[str]:
    """Apply a PATCH to an address (offset, kind fields)."""
    rows.check_version(address, expected)
    await _check_owner_free(session, address)
    merged = {**_current(address), **changes}
    updates: dict[str, Any] = {}
    if address.address_block is not None:
        block = await address_blocks.get(session, address.address_block, lock=True)
        if "offset" in changes or "ip_address" in changes:
            offset = _offset_of(
                block, merged if "ip_address" in changes else {**merged, "ip_address": None}
            )
            await _check_offset(session, block, offset, address.id)
            updates["offset"] = addressing.pack(offset)
            _release_hint(block, address)
        if address.kind == "address":
            await _check_static(session, block, merged, address.id)
    updates.update(
        {k: v for k, v in _kind_fields(address.kind, merged).items() if k != "structure"}
    )
    changed = rows.apply_changes(address, updates)
    await session.flush()
    return changed


def _current(address: orm.Address) -> dict[str, Any]:
    return {
        "structure": address.structure,
        "interface_name": address.interface_name,
        "alias_index": address.alias_index,
        "is_primary": address.is_primary,
        "reason": address.reason,
        "pxe": address.pxe,
    }


def _release_hint(block: orm.AddressBlock, address: orm.Address) -> None:
    if address.offset is None:
        return
    if block.free_hint is None or address.offset < block.free_hint:
        block.free_hint = address.offset


async def delete_address(session: AsyncSession, address: orm.Address, expected: int | None) -> None:
    """Delete an address nothing points to."""
    rows.check_version(address, expected)
    await _check_owner_free(session, address)
    pointed = await session.scalar(select(orm.Address.id).where(orm.Address.pointer == address.id))
    if pointed is not None:
        raise InUse(f"address {pointed} points to address {address.id}", addresses=1)
    if address.address_block is not None:
        _release_hint(await address_blocks.get(session, address.address_block, lock=True), address)
    await session.delete(address)
    await session.flush()


async def move(
    session: AsyncSession, address: orm.Address, block: orm.AddressBlock, ip: str
) -> None:
    """Move a static address to the offset of ``ip`` in ``block`` (the block is locked)."""
    locked = await address_blocks.get(session, block.id, lock=True)
    offset = _offset_of(locked, {"ip_address": ip})
    await _check_offset(session, locked, offset, address.id)
    if address.address_block is not None:
        old = await address_blocks.get(session, address.address_block, lock=True)
        _release_hint(old, address)
    address.address_block, address.offset = locked.id, addressing.pack(offset)
    rows.touch(address)
    await session.flush()


async def _check_owner_free(session: AsyncSession, address: orm.Address) -> None:
    """A held slot freezes the structure's addresses (§5.5)."""
    if address.structure is None:
        return
    structure = await session.get(orm.Structure, address.structure)
    if structure is not None and structure.job_id is not None:
        raise JobActive(f"job {structure.job_id} holds structure {structure.id}")
