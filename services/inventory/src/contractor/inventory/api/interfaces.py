"""Interface routes (§3.5): ports of foundations, abstract interfaces of structures."""

from __future__ import annotations

from typing import Any

from contractor.inventory import orm, store
from contractor.inventory.deps import Id, IfMatch, Operator, Reader, SessionDep
from contractor.inventory.schemas.interfaces import (
    AbstractInterfaceCreate,
    AbstractInterfaceUpdate,
    InterfaceList,
    InterfaceRead,
    RealInterfaceCreate,
    RealInterfaceUpdate,
)
from fastapi import APIRouter, Response
from sqlalchemy.ext.asyncio import AsyncSession

router = APIRouter(tags=["interfaces"])
COLUMNS = (
    "id",
    "kind",
    "name",
    "physical_location",
    "network",
    "mac",
    "is_provisioning",
    "link_name",
    "pxe",
    "primary",
    "secondaries",
    "parameters",
    "created_at",
    "updated_at",
    "version",
)


def render(iface: orm.Interface) -> InterfaceRead:
    """An interface with its owner."""
    owner = store.interfaces.event_data(iface, [], [])["owner"]
    return InterfaceRead.model_validate({**{c: getattr(iface, c) for c in COLUMNS}, "owner": owner})


async def announce(
    session: AsyncSession,
    type: str,
    iface: orm.Interface,
    site: str,
    changed: list[str],
    actor: dict[str, Any],
) -> None:
    """Emit an ``interface.*`` event."""
    zone = (await store.structures.zones(session, [site])).get(site)
    data = store.interfaces.event_data(iface, changed, [zone] if zone else [])
    await store.events.append(
        session, type, actor=actor, subject=("interface", iface.id), site=site, data=data
    )


@router.get("/foundations/{locator}/interfaces")
async def list_ports(locator: str, session: SessionDep, _: Reader) -> InterfaceList:
    """List a foundation's ports by physical location."""
    await store.foundations.get(session, locator)
    return InterfaceList(
        items=[render(i) for i in await store.interfaces.of_foundation(session, locator)]
    )


@router.post("/foundations/{locator}/interfaces", status_code=201)
async def create_port(
    locator: str,
    body: RealInterfaceCreate,
    session: SessionDep,
    caller: Operator,
    response: Response,
) -> InterfaceRead:
    """Add a port to a foundation."""
    async with session.begin():
        foundation = await store.foundations.get(session, locator, lock=True)
        iface = await store.interfaces.create_real(session, foundation, body.model_dump())
        await announce(
            session,
            "interface.created",
            iface,
            foundation.site,
            sorted(body.model_fields_set),
            caller.actor(),
        )
    response.headers["Location"] = (
        f"/api/v1/foundations/{locator}/interfaces/{iface.physical_location}"
    )
    return render(iface)


@router.get("/foundations/{locator}/interfaces/{physical_location}")
async def read_port(
    locator: str, physical_location: str, session: SessionDep, _: Reader
) -> InterfaceRead:
    """Read one port."""
    return render(await store.interfaces.get_real(session, locator, physical_location))


@router.patch("/foundations/{locator}/interfaces/{physical_location}")
async def update_port(
    locator: str,
    physical_location: str,
    body: RealInterfaceUpdate,
    session: SessionDep,
    caller: Operator,
    expected: IfMatch,
) -> InterfaceRead:
    """Change a port."""
    async with session.begin():
        foundation = await store.foundations.get(session, locator, lock=True)
        iface = await store.interfaces.get_real(session, locator, physical_location)
        changes = body.model_dump(include=body.model_fields_set)
        changed = await store.interfaces.update_real(session, foundation, iface, changes, expected)
        if changed:
            await announce(
                session, "interface.updated", iface, foundation.site, changed, caller.actor()
            )
    return render(iface)


@router.delete("/foundations/{locator}/interfaces/{physical_location}", status_code=204)
async def delete_port(
    locator: str, physical_location: str, session: SessionDep, caller: Operator, expected: IfMatch
) -> None:
    """Remove a port."""
    async with session.begin():
        foundation = await store.foundations.get(session, locator, lock=True)
        iface = await store.interfaces.get_real(session, locator, physical_location)
        await announce(session, "interface.deleted", iface, foundation.site, [], caller.actor())
        await store.interfaces.remove(session, foundation, iface, expected)


@router.get("/structures/{structure_id}/interfaces")
async def list_abstract(structure_id: Id, session: SessionDep, _: Reader) -> InterfaceList:
    """List a structure's abstract interfaces by name."""
    await store.structures.get(session, structure_id)
    found = await store.interfaces.of_structure(session, structure_id)
    return InterfaceList(items=[render(i) for i in found])


@router.post("/structures/{structure_id}/interfaces", status_code=201)
async def create_abstract(
    structure_id: Id,
    body: AbstractInterfaceCreate,
    session: SessionDep,
    caller: Operator,
    response: Response,
) -> InterfaceRead:
    """Add an abstract or aggregated interface to a structure."""
    async with session.begin():
        structure = await store.structures.get(session, structure_id, lock=True)
        iface = await store.interfaces.create_abstract(session, structure, body.model_dump())
        await announce(
            session,
            "interface.created",
            iface,
            structure.site,
            sorted(body.model_fields_set),
            caller.actor(),
        )
    response.headers["Location"] = f"/api/v1/structures/{structure_id}/interfaces/{iface.name}"
    return render(iface)


@router.get("/structures/{structure_id}/interfaces/{name}")
async def read_abstract(
    structure_id: Id, name: str, session: SessionDep, _: Reader
) -> InterfaceRead:
    """Read one abstract interface."""
    return render(await store.interfaces.get_abstract(session, structure_id, name))


@router.patch("/structures/{structure_id}/interfaces/{name}")
async def update_abstract(
    structure_id: Id,
    name: str,
    body: AbstractInterfaceUpdate,
    session: SessionDep,
    caller: Operator,
    expected: IfMatch,
) -> InterfaceRead:
    """Change an abstract interface."""
    async with session.begin():
        structure = await store.structures.get(session, structure_id, lock=True)
        iface = await store.interfaces.get_abstract(session, structure_id, name)
        changes = body.model_dump(include=body.model_fields_set)
        changed = await store.interfaces.update_abstract(
            session, structure, iface, changes, expected
        )
        if changed:
            await announce(
                session, "interface.updated", iface, structure.site, changed, caller.actor()
            )
    return render(iface)


@router.delete("/structures/{structure_id}/interfaces/{name}", status_code=204)
async def delete_abstract(
    structure_id: Id, name: str, session: SessionDep, caller: Operator, expected: IfMatch
) -> None:
    """Remove an abstract interface."""
    async with session.begin():
        structure = await store.structures.get(session, structure_id, lock=True)
        iface = await store.interfaces.get_abstract(session, structure_id, name)
        await announce(session, "interface.deleted", iface, structure.site, [], caller.actor())
        await store.interfaces.remove(session, structure, iface, expected)
