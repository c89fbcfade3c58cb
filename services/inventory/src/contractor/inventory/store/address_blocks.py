"""Address blocks (§7.3): subnets of a site, with bounds, gateway, overlap and usage rules."""

from __future__ import annotations

from typing import Any

from contractor.inventory import addressing, orm
from contractor.inventory.errors import (
    AlreadyExists,
    InUse,
    Overlap,
    PrefixExcludesAddresses,
    ResourceNotFound,
    invalid,
)
from contractor.inventory.store import listing, rows
from sqlalchemy import Select, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession


async def get(session: AsyncSession, block_id: int, *, lock: bool = False) -> orm.AddressBlock:
    """Load one block (``lock``: ``FOR UPDATE`` on PostgreSQL).

    Raises:
        ResourceNotFound: No such block.
    """
    stmt = select(orm.AddressBlock).where(orm.AddressBlock.id == block_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    found = await session.scalar(stmt)
    if found is None:
        raise ResourceNotFound("address block", block_id)
    return found


def filtered(*, sites: list[str] | None, name: str | None) -> Select[orm.AddressBlock]:
    """The list query with its filters."""
    stmt = select(orm.AddressBlock)
    if sites is not None:
        stmt = stmt.where(orm.AddressBlock.site.in_(sites))
    if name is not None:
        stmt = stmt.where(orm.AddressBlock.name == name)
    return stmt


async def list_page(
    session: AsyncSession, stmt: Select[orm.AddressBlock], *, limit: int, cursor: str | None
) -> tuple[list[orm.AddressBlock], str | None]:
    """One page of blocks by id."""
    return await listing.page(session, stmt, orm.AddressBlock.id, limit=limit, cursor=cursor)


def bounds(block: orm.AddressBlock) -> tuple[int, int]:
    """The usable offsets of a block."""
    return addressing.bounds(block.prefix, block.is_ipv4)


def gateway(block: orm.AddressBlock) -> int | None:
    """The gateway offset, if set."""
    return None if block.gateway_offset is None else addressing.unpack(block.gateway_offset)


def _shape(subnet_text: str, prefix: int, gateway_offset: int | None) -> dict[str, Any]:
    try:
        value, is_ipv4 = addressing.parse(subnet_text)
    except ValueError as exc:
        raise invalid(["body", "subnet"], f"{subnet_text!r} is not an IP address") from exc
    if not 1 <= prefix <= (32 if is_ipv4 else 128):
        raise invalid(
            ["body", "prefix"], "prefix must be 1–32 (IPv4) or 1–128 (IPv6)", "invalid-prefix"
        )
    subnet = addressing.clear_host_bits(value, prefix, is_ipv4)
    low, high = addressing.bounds(prefix, is_ipv4)
    if gateway_offset is not None and (
        addressing.host_bits(prefix, is_ipv4) == 0 or not low <= gateway_offset <= high
    ):
        raise invalid(
            ["body", "gateway_offset"],
            f"gateway must be between {low} and {high}",
            "invalid-gateway",
        )
    return {
        "subnet": addressing.pack(subnet),
        "max_address": addressing.pack(subnet + 2 ** addressing.host_bits(prefix, is_ipv4) - 1),
        "prefix": prefix,
        "is_ipv4": is_ipv4,
        "gateway_offset": None if gateway_offset is None else addressing.pack(gateway_offset),
    }


async def _lock_site(session: AsyncSession, site: str) -> None:
    """Serialize the name and overlap checks and the write per site, on PostgreSQL.

    Two racing blocks would each see no overlap. SQLite serializes writers (and renders no
    ``FOR UPDATE``). ``FOR NO KEY UPDATE`` leaves inserts of rows that only refer to the site
    (``FOR KEY SHARE``) unblocked.
    """
    await session.execute(
        select(orm.Site.name).where(orm.Site.name == site).with_for_update(key_share=True)
    )


async def _check_overlap(
    session: AsyncSession, site: str, shape: dict[str, Any], own: int | None
) -> None:
    stmt = select(orm.AddressBlock).where(
        orm.AddressBlock.site == site,
        orm.AddressBlock.subnet <= shape["max_address"],
        orm.AddressBlock.max_address >= shape["subnet"],
    )
    for other in await session.scalars(stmt):
        if other.id != own:
            raise Overlap(f"the block overlaps block {other.id} ({other.name})", block=other.id)


async def _check_name(session: AsyncSession, site: str, name: str, own: int | None) -> None:
    other = await session.scalar(
        select(orm.AddressBlock.id).where(
            orm.AddressBlock.site == site, orm.AddressBlock.name == name
        )
    )
    if other is not None and other != own:
        raise AlreadyExists("address block", f"{site}/{name}")


async def create(session: AsyncSession, values: dict[str, Any]) -> orm.AddressBlock:
    """Create a block (host bits cleared)."""
    if await session.get(orm.Site, values["site"]) is None:
        raise invalid(["body", "site"], f"site {values['site']} does not exist")
    shape = _shape(values["subnet"], values["prefix"], values.get("gateway_offset"))
    await _lock_site(session, values["site"])
    await _check_name(session, values["site"], values["name"], None)
    await _check_overlap(session, values["site"], shape, None)
    block = orm.AddressBlock(site=values["site"], name=values["name"], **shape)
    rows.stamp_new(block)
    session.add(block)
    await session.flush()
    return block


async def update(
    session: AsyncSession, block: orm.AddressBlock, changes: dict[str, Any], expected: int | None
) -> list[str]:
    """Apply a PATCH; addresses keep their offsets and must still fit."""
    rows.check_version(block, expected)
    updates: dict[str, Any] = {}
    if changes.get("name") is not None or {"subnet", "prefix", "gateway_offset"} & set(changes):
        await _lock_site(session, block.site)
    if changes.get("name") is not None:
        await _check_name(session, block.site, changes["name"], block.id)
        updates["name"] = changes["name"]
    if {"subnet", "prefix", "gateway_offset"} & set(changes):
        subnet = changes.get("subnet") or addressing.show(
            addressing.unpack(block.subnet), block.is_ipv4
        )
        prefix = changes.get("prefix") or block.prefix
        gw = changes["gateway_offset"] if "gateway_offset" in changes else gateway(block)
        shape = _shape(subnet, prefix, gw)
        await _check_overlap(session, block.site, shape, block.id)
        await _check_offsets_fit(session, block.id, shape)
        updates.update(shape, free_hint=None)
    changed = rows.apply_changes(block, updates)
    await session.flush()
    return [c for c in changed if c not in ("max_address", "free_hint", "is_ipv4")]


async def _check_offsets_fit(session: AsyncSession, block_id: int, shape: dict[str, Any]) -> None:
    low, high = addressing.bounds(shape["prefix"], shape["is_ipv4"])
    gw = None if shape["gateway_offset"] is None else addressing.unpack(shape["gateway_offset"])
    offsets = await session.scalars(
        select(orm.Address.offset).where(orm.Address.address_block == block_id)
    )
    bad = sorted(
        o
        for o in (addressing.unpack(raw) for raw in offsets if raw is not None)
        if not low <= o <= high or o == gw
    )
    if bad:
        raise PrefixExcludesAddresses(f"offsets {bad} would not fit", offsets=bad)


async def delete_block(
    session: AsyncSession, block: orm.AddressBlock, expected: int | None
) -> None:
    """Delete a block with no addresses and no network links."""
    rows.check_version(block, expected)
    addresses = await _count(session, orm.Address.address_block == block.id)
    links = await _count(session, orm.NetworkLink.address_block == block.id)
    if addresses or links:
        raise InUse(f"address block {block.id} is in use", addresses=addresses, networks=links)
    await session.delete(block)
    await session.flush()


async def _count(session: AsyncSession, condition: Any) -> int:
    table = condition.left.table
    return int(await session.scalar(select(func.count()).select_from(table).where(condition)) or 0)


async def usage(session: AsyncSession, block: orm.AddressBlock) -> dict[str, int]:
    """``{size, static, reserved, dynamic, free}`` (a set gateway counts as reserved)."""
    low, high = bounds(block)
    counts = dict(
        (
            await session.execute(
                select(orm.Address.kind, func.count())
                .where(orm.Address.address_block == block.id)
                .group_by(orm.Address.kind)
            )
        ).all()
    )
    size = high - low + 1
    static, dynamic = counts.get("address", 0), counts.get("dynamic", 0)
    reserved = counts.get("reserved", 0) + (1 if block.gateway_offset is not None else 0)
    return {
        "size": size,
        "static": static,
        "reserved": reserved,
        "dynamic": dynamic,
        "free": size - static - reserved - dynamic,
    }


async def free_at_hint(session: AsyncSession, block: orm.AddressBlock) -> tuple[bool, int | None]:
    """The lowest free offset when the block's hint says it at once: ``(True, offset)``.

    Every offset below ``free_hint`` is taken (allocations move it past what they take,
    deletes and moves lower it, under the block's lock), so when the hint itself (or the
    offset after it, past the gateway) is free, it is the answer: one index probe. When it is
    taken, the hint is stale (addresses were made at explicit offsets, or imported behind the
    API's back): ``(False, None)``, and :func:`remember_first_free` has to walk.
    """
    low, high = bounds(block)
    candidate = max(low, addressing.unpack(block.free_hint) if block.free_hint else low)
    if candidate == gateway(block):
        candidate += 1
    if candidate > high:
        return True, None
    taken = await session.scalar(
        select(orm.Address.id)
        .where(
            orm.Address.address_block == block.id,
            orm.Address.offset == addressing.pack(candidate),
        )
        .limit(1)
    )
    return (False, None) if taken is not None else (True, candidate)


async def remember_first_free(session: AsyncSession, block_id: int) -> int | None:
    """Find the lowest free offset under the block's lock, and keep it as ``free_hint``.

    For a preview whose hint was stale: the walk happens once, and the next preview or
    allocation starts from where it ended. The hint is derived data (not part of the block's
    representation, no version bump, no event), and it is written under the same
    ``FOR UPDATE`` lock allocations, deletes and moves take, so no delete can free an offset
    below it unseen. A full block keeps the offset past its end, as an allocation of its last
    offset leaves it.
    """
    block = await get(session, block_id, lock=True)
    found = await first_free(session, block)
    _, high = bounds(block)
    kept = high + 1 if found is None else found
    current = addressing.unpack(block.free_hint) if block.free_hint is not None else None
    if current is None or kept > current:
        block.free_hint = addressing.pack(kept)
        await session.flush()
    return found


_FIRST_GAP = text(
    """
    SELECT rn FROM (
        SELECT "offset", row_number() OVER (ORDER BY "offset") - 1 AS rn
        FROM addresses
        WHERE address_block = :block AND "offset" >= :start
    ) AS numbered
    WHERE "offset" <> '\\x0000000000000000'::bytea || int8send(CAST(:first AS bigint) + rn)
    ORDER BY "offset"
    LIMIT 1
    """
)
"""PostgreSQL: how many used offsets follow ``start`` without a gap (none if no gap at all).

Offsets are 16 big-endian bytes; below 2**63 they are 8 zero bytes and an ``int8send``.
"""


async def first_free(session: AsyncSession, block: orm.AddressBlock) -> int | None:
    """The lowest free offset, walking used offsets from the block's hint (never the range)."""
    low, high = bounds(block)
    gw = gateway(block)
    candidate = max(low, addressing.unpack(block.free_hint) if block.free_hint else low)
    if high < 2**62 and session.get_bind().dialect.name == "postgresql":
        return await _first_free_sql(session, block.id, candidate, high, gw)
    while candidate <= high:
        batch = [
            addressing.unpack(raw or bytes(16))
            for raw in await session.scalars(
                select(orm.Address.offset)
                .where(
                    orm.Address.address_block == block.id,
                    orm.Address.offset >= addressing.pack(candidate),
                )
                .order_by(orm.Address.offset)
                .limit(1000)
            )
        ]
        # The gateway counts only within what this batch covers: past a full batch, an offset
        # below the gateway may be taken too (the next batch says), not free.
        covered = batch[-1] if len(batch) == 1000 else high
        taken = sorted({*batch, *([gw] if gw is not None and candidate <= gw <= covered else [])})
        for used in taken:
            if used > candidate:
                return candidate
            if used == candidate:
                candidate += 1
        if len(batch) < 1000:
            break
    return candidate if candidate <= high else None


async def _first_free_sql(
    session: AsyncSession, block_id: int, candidate: int, high: int, gw: int | None
) -> int | None:
    """:func:`first_free` with the server finding the end of each run of used offsets."""
    while candidate <= high:
        if candidate == gw:
            candidate += 1
            continue
        params = {"block": block_id, "start": addressing.pack(candidate), "first": candidate}
        run = (await session.execute(_FIRST_GAP, params)).scalar()
        if run is None:  # no gap: every used offset from the candidate on is contiguous
            last = await session.scalar(
                select(orm.Address.offset)
                .where(
                    orm.Address.address_block == block_id,
                    orm.Address.offset >= addressing.pack(candidate),
                )
                .order_by(orm.Address.offset.desc())
                .limit(1)
            )
            run = 0 if last is None else addressing.unpack(last) - candidate + 1
        free = candidate + int(run)
        if free != gw:
            return free if free <= high else None
        candidate = free
    return None
