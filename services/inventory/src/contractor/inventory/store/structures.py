"""Structures: create, read, list, change and delete (§3.6); state moves: ``transitions``."""

from __future__ import annotations

import uuid
from typing import Any

from contractor.inventory import orm
from contractor.inventory.errors import (
    AlreadyExists,
    HostnameConflict,
    JobActive,
    NotDeletable,
    ResourceNotFound,
    StateConflict,
    invalid,
)
from contractor.inventory.store import blueprint_graph, blueprints, config_values, listing, rows
from sqlalchemy import Select, or_, select
from sqlalchemy import delete as sql_delete
from sqlalchemy.ext.asyncio import AsyncSession

PLACEMENT = ("hostname", "site", "blueprint", "foundation")


async def get(session: AsyncSession, structure_id: int, *, lock: bool = False) -> orm.Structure:
    """Load one structure (``lock``: ``SELECT … FOR UPDATE`` on PostgreSQL).

    Raises:
        ResourceNotFound: No such structure.
    """
    stmt = select(orm.Structure).where(orm.Structure.id == structure_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    structure = await session.scalar(stmt)
    if structure is None:
        raise ResourceNotFound("structure", structure_id)
    return structure


def filtered(
    *,
    sites: list[str] | None = None,
    blueprint: str | None = None,
    state: str | None = None,
    foundation: str | None = None,
    hostname: str | None = None,
    config_uuid: str | None = None,
    has_job: bool | None = None,
) -> Select[orm.Structure]:
    """The list query with the §12.2 filters applied."""
    stmt = select(orm.Structure)
    for column, value in (
        (orm.Structure.blueprint, blueprint),
        (orm.Structure.state, state),
        (orm.Structure.foundation, foundation),
        (orm.Structure.hostname, hostname),
        (orm.Structure.config_uuid, config_uuid),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if sites is not None:
        stmt = stmt.where(orm.Structure.site.in_(sites))
    if has_job is not None:
        stmt = stmt.where(
            orm.Structure.job_id.is_not(None) if has_job else orm.Structure.job_id.is_(None)
        )
    return stmt


async def list_page(
    session: AsyncSession, stmt: Select[orm.Structure], *, limit: int, cursor: str | None
) -> tuple[list[orm.Structure], str | None]:
    """One page of structures ordered by id."""
    return await listing.page(session, stmt, orm.Structure.id, limit=limit, cursor=cursor)


async def zones(session: AsyncSession, site_names: list[str]) -> dict[str, str | None]:
    """The zone of each named site."""
    found = await session.execute(
        select(orm.Site.name, orm.Site.zone).where(orm.Site.name.in_(site_names))
    )
    return {name: zone for name, zone in found.all()}


async def _check_hostname(
    session: AsyncSession, hostname: str, site_name: str, own_id: int | None
) -> None:
    site = await session.get(orm.Site, site_name)
    if site is None:
        raise invalid(["body", "site"], f"site {site_name} does not exist")
    same_zone = select(orm.Site.name).where(orm.Site.zone == site.zone) if site.zone else None
    where = orm.Structure.site == site_name
    if same_zone is not None:
        where = or_(where, orm.Structure.site.in_(same_zone))
    stmt = select(orm.Structure.id, orm.Structure.site).where(
        orm.Structure.hostname == hostname, where
    )
    if own_id is not None:
        stmt = stmt.where(orm.Structure.id != own_id)
    clashes = [
        {"id": sid, "hostname": hostname, "site": s}
        for sid, s in (await session.execute(stmt)).all()
    ]
    if clashes:
        raise HostnameConflict(hostname, clashes)


async def _check_placement(
    session: AsyncSession, blueprint: str, foundation: str, own_id: int | None
) -> None:
    graph = await blueprints.graph(session)
    if blueprint not in graph or graph[blueprint].kind != "structure":
        raise invalid(["body", "blueprint"], f"structure blueprint {blueprint} does not exist")
    found = await session.get(orm.Foundation, foundation)
    if found is None:
        raise invalid(["body", "foundation"], f"foundation {foundation} does not exist")
    if found.blueprint not in blueprint_graph.combined_foundation_blueprints(graph, blueprint):
        raise invalid(
            ["body", "blueprint"],
            f"blueprint {blueprint} cannot be built on foundation blueprint {found.blueprint}",
            "blueprint-not-allowed",
        )
    taken = await session.scalar(
        select(orm.Structure.id).where(orm.Structure.foundation == foundation)
    )
    if taken is not None and taken != own_id:
        raise AlreadyExists("structure on foundation", foundation, field="foundation")


async def create(session: AsyncSession, values: dict[str, Any]) -> orm.Structure:
    """Create a structure (state ``planned``, a fresh ``config_uuid``)."""
    await _check_hostname(session, values["hostname"], values["site"], None)
    await _check_placement(session, values["blueprint"], values["foundation"], None)
    config_values.check(values.get("config_values") or {}, ["body", "config_values"])
    structure = orm.Structure(**values, config_uuid=str(uuid.uuid4()), state="planned")
    rows.stamp_new(structure)
    session.add(structure)
    await session.flush()
    return structure


async def update(
    session: AsyncSession, structure: orm.Structure, changes: dict[str, Any], expected: int | None
) -> list[str]:
    """Apply a PATCH: placement only while planned and free; config at any time."""
    rows.check_version(structure, expected)
    updates = {k: v for k, v in changes.items() if v is not None and getattr(structure, k) != v}
    placement = [field for field in PLACEMENT if field in updates]
    if placement:
        if structure.job_id is not None:
            raise JobActive(f"job {structure.job_id} holds structure {structure.id}")
        if structure.state != "planned":
            raise StateConflict("structure", str(structure.id), structure.state)
        hostname = updates.get("hostname", structure.hostname)
        await _check_hostname(session, hostname, updates.get("site", structure.site), structure.id)
        await _check_placement(
            session,
            updates.get("blueprint", structure.blueprint),
            updates.get("foundation", structure.foundation),
            structure.id,
        )
    if "config_values" in updates:
        config_values.check(updates["config_values"], ["body", "config_values"])
    changed = rows.apply_changes(structure, updates)
    await session.flush()
    return changed


async def check_deletable(
    session: AsyncSession, structure: orm.Structure, expected: int | None
) -> None:
    """Refuse (409 ``not-deletable``) unless the structure may be deleted (§3.6).

    Raises:
        NotDeletable: Built, held by a job, a complex member, named by a dependency, or an
            address elsewhere points to one of its addresses.
    """
    rows.check_version(structure, expected)
    if structure.state != "planned":
        raise NotDeletable(f"structure {structure.id} is {structure.state}")
    if structure.job_id is not None:
        raise NotDeletable(f"job {structure.job_id} holds structure {structure.id}")
    member_of = await session.scalar(
        select(orm.ComplexMember.complex).where(orm.ComplexMember.structure == structure.id)
    )
    if member_of is not None:
        raise NotDeletable(f"structure {structure.id} is a member of complex {member_of}")
    named = await session.scalar(
        select(orm.Dependency.id).where(
            or_(
                orm.Dependency.structure == structure.id,
                orm.Dependency.script_structure == structure.id,
            )
        )
    )
    if named is not None:
        raise NotDeletable(f"dependency {named} names structure {structure.id}")
    own = select(orm.Address.id).where(orm.Address.structure == structure.id)
    pointing = await session.scalar(
        select(orm.Address.id).where(
            orm.Address.pointer.in_(own),
            or_(orm.Address.structure.is_(None), orm.Address.structure != structure.id),
        )
    )
    if pointing is not None:
        raise NotDeletable(f"address {pointing} points to an address of structure {structure.id}")


async def delete(session: AsyncSession, structure: orm.Structure, expected: int | None) -> None:
    """Delete a planned structure that no job holds, with its addresses and interfaces."""
    await check_deletable(session, structure, expected)
    await session.execute(
        sql_delete(orm.DockerPort).where(orm.DockerPort.structure == structure.id)
    )
    await _release_hints(session, structure)
    # Pointers first: an address may point to another address of the same structure.
    await session.execute(
        sql_delete(orm.Address).where(
            orm.Address.structure == structure.id, orm.Address.pointer.is_not(None)
        )
    )
    await session.execute(sql_delete(orm.Address).where(orm.Address.structure == structure.id))
    await session.execute(sql_delete(orm.Interface).where(orm.Interface.structure == structure.id))
    await session.delete(structure)
    await session.flush()


async def _release_hints(session: AsyncSession, structure: orm.Structure) -> None:
    """Bring each block's ``free_hint`` down to the lowest offset the delete frees.

    The hint promises that every offset below it is taken; freed offsets below it would
    otherwise never be handed out again.
    """
    rows = await session.execute(
        select(orm.Address.address_block, orm.Address.offset).where(
            orm.Address.structure == structure.id,
            orm.Address.address_block.is_not(None),
            orm.Address.offset.is_not(None),
        )
    )
    lowest: dict[int, bytes] = {}
    for block_id, offset in rows.all():  # a structure has a handful (PostgreSQL has no min(bytea))
        if block_id is not None and offset is not None:
            lowest[block_id] = min(offset, lowest.get(block_id, offset))
    for block_id in sorted(lowest):
        # SKIP LOCKED: an allocation holding the block may be waiting for this structure's row
        # (its address's foreign key); waiting for it in turn would deadlock. A block skipped
        # keeps its hint: those offsets are not handed out again, but none twice either.
        block = await session.scalar(
            select(orm.AddressBlock)
            .where(orm.AddressBlock.id == block_id)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
        if block is not None and block.free_hint is not None and lowest[block_id] < block.free_hint:
            block.free_hint = lowest[block_id]


async def removed_with(
    session: AsyncSession, structure: orm.Structure
) -> tuple[list[orm.Address], list[orm.Interface]]:
    """The addresses (by id) and abstract interfaces (by name) a delete removes with it."""
    addresses = await session.scalars(
        select(orm.Address).where(orm.Address.structure == structure.id).order_by(orm.Address.id)
    )
    interfaces = await session.scalars(
        select(orm.Interface)
        .where(orm.Interface.structure == structure.id)
        .order_by(orm.Interface.name)
    )
    return list(addresses), list(interfaces)


def event_data(
    structure: orm.Structure, changed: list[str], zones_touched: list[str | None]
) -> dict[str, Any]:
    """The ``structure.created|updated|deleted`` payload."""
    return {
        "id": structure.id,
        "hostname": structure.hostname,
        "site": structure.site,
        "blueprint": structure.blueprint,
        "foundation": structure.foundation,
        "state": structure.state,
        "changed": changed,
        "dns_zones": sorted({z for z in zones_touched if z}),
    }
