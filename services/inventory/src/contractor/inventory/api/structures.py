"""Structure routes (§3.6) and state transitions (§12.3)."""

from __future__ import annotations

from typing import Annotated, Any

from contractor.inventory import orm, store
from contractor.inventory.api.addresses import announce as announce_address
from contractor.inventory.api.foundations import slot_of
from contractor.inventory.api.interfaces import announce as announce_interface
from contractor.inventory.deps import Id, IfMatch, Operator, Reader, SessionDep, Transitioner
from contractor.inventory.masking import redact
from contractor.inventory.schemas.states import StateChange
from contractor.inventory.schemas.structures import (
    StructureCreate,
    StructureRead,
    StructureTransitioned,
    StructureUpdate,
)
from contractor.servicekit.auth import Principal, Role
from contractor.servicekit.pagination import Limit, Page
from fastapi import APIRouter, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

router = APIRouter(prefix="/structures", tags=["structures"])


def render(structure: orm.Structure, zone: str | None, caller: Principal) -> dict[str, Any]:
    """The fields of a structure's representation."""
    values = structure.config_values
    if caller.role not in (Role.ADMIN, Role.SERVICE):
        values = redact(values)
    return {
        **{
            c: getattr(structure, c)
            for c in (
                "id",
                "hostname",
                "site",
                "blueprint",
                "foundation",
                "config_uuid",
                "state",
                "built_at",
                "created_at",
                "updated_at",
                "version",
            )
        },
        "config_values": values,
        "fqdn": f"{structure.hostname}.{zone}" if zone else structure.hostname,
        "domain_name": zone,
        "job": slot_of(structure),
    }


async def _one(session: AsyncSession, structure: orm.Structure, caller: Principal) -> StructureRead:
    zones = await store.structures.zones(session, [structure.site])
    return StructureRead.model_validate(render(structure, zones.get(structure.site), caller))


@router.get("")
async def list_structures(
    session: SessionDep,
    caller: Reader,
    site: str | None = None,
    site_tree: bool = False,
    blueprint: str | None = None,
    state: str | None = None,
    foundation: str | None = None,
    hostname: str | None = None,
    config_uuid: str | None = None,
    has_job: bool | None = None,
    limit: Annotated[Limit, Query()] = 50,
    cursor: str | None = None,
) -> Page[StructureRead]:
    """List structures by id."""
    sites = None
    if site is not None:
        sites = await store.sites.descendants(session, site) if site_tree else [site]
    stmt = store.structures.filtered(
        sites=sites,
        blueprint=blueprint,
        state=state,
        foundation=foundation,
        hostname=hostname,
        config_uuid=config_uuid,
        has_job=has_job,
    )
    rows, next_cursor = await store.structures.list_page(session, stmt, limit=limit, cursor=cursor)
    zones = await store.structures.zones(session, sorted({r.site for r in rows}))
    items = [StructureRead.model_validate(render(r, zones.get(r.site), caller)) for r in rows]
    return Page(items=items, next_cursor=next_cursor)


@router.post("", status_code=201)
async def create_structure(
    body: StructureCreate, session: SessionDep, caller: Operator, response: Response
) -> StructureRead:
    """Create a structure."""
    values = body.model_dump(
        include={"hostname", "site", "blueprint", "foundation", "config_values"}
    )
    async with session.begin():
        structure = await store.structures.create(session, values)
        zone = (await store.structures.zones(session, [structure.site])).get(structure.site)
        await store.events.append(
            session,
            "structure.created",
            actor=caller.actor(),
            subject=("structure", structure.id),
            site=structure.site,
            data=store.structures.event_data(structure, sorted(body.model_fields_set), [zone]),
        )
    response.headers["Location"] = f"/api/v1/structures/{structure.id}"
    response.headers["ETag"] = f'"{structure.version}"'
    return await _one(session, structure, caller)


@router.get("/{structure_id}")
async def read_structure(
    structure_id: Id, session: SessionDep, caller: Reader, response: Response
) -> StructureRead:
    """Read one structure."""
    structure = await store.structures.get(session, structure_id)
    response.headers["ETag"] = f'"{structure.version}"'
    return await _one(session, structure, caller)


@router.patch("/{structure_id}")
async def update_structure(
    structure_id: Id,
    body: StructureUpdate,
    session: SessionDep,
    caller: Operator,
    expected: IfMatch,
    response: Response,
) -> StructureRead:
    """Change a structure."""
    async with session.begin():
        structure = await store.structures.get(session, structure_id, lock=True)
        old_site, old_values = structure.site, structure.config_values
        changes = body.model_dump(include=body.model_fields_set)
        changed = await store.structures.update(session, structure, changes, expected)
        if changed:
            zones = await store.structures.zones(session, [old_site, structure.site])
            await store.events.append(
                session,
                "structure.updated",
                actor=caller.actor(),
                subject=("structure", structure.id),
                site=structure.site,
                data=store.structures.event_data(structure, changed, list(zones.values())),
            )
            if "config_values" in changed:
                await store.configs.announce(
                    session,
                    ("structure", structure.id),
                    site=structure.site,
                    keys=store.configs.changed_keys(old_values, structure.config_values),
                    dns_zones=[z for z in zones.values() if z],
                    actor=caller.actor(),
                )
    response.headers["ETag"] = f'"{structure.version}"'
    return await _one(session, structure, caller)


@router.delete("/{structure_id}", status_code=204)
async def delete_structure(
    structure_id: Id, session: SessionDep, caller: Operator, expected: IfMatch
) -> None:
    """Delete a planned structure no job holds."""
    async with session.begin():
        structure = await store.structures.get(session, structure_id, lock=True)
        zone = (await store.structures.zones(session, [structure.site])).get(structure.site)
        data = store.structures.event_data(structure, [], [zone])
        addresses, interfaces = await store.structures.removed_with(session, structure)
        await store.structures.check_deletable(session, structure, expected)
        # What goes with the structure is announced first (children, then the structure).
        for address in addresses:
            await announce_address(session, "address.deleted", address, caller.actor())
        for iface in interfaces:
            await announce_interface(
                session, "interface.deleted", iface, structure.site, [], caller.actor()
            )
        await store.structures.delete(session, structure, expected)
        await store.events.append(
            session,
            "structure.deleted",
            actor=caller.actor(),
            subject=("structure", structure_id),
            site=data["site"],
            data=data,
        )


@router.post("/{structure_id}/state")
async def change_state(
    structure_id: Id, body: StateChange, session: SessionDep, caller: Transitioner
) -> StructureTransitioned:
    """Move a structure between planned and built."""
    move = store.transitions.Move(
        body.from_state, body.to_state, body.job_id, body.release_job, caller
    )
    async with session.begin():
        structure, repeat = await store.transitions.move_structure(session, structure_id, move)
    read = await _one(session, structure, caller)
    return StructureTransitioned.model_validate({**read.model_dump(), "repeat": repeat})
