"""Foundation routes (§3.4), state transitions (§12.3) and foundation types (§4)."""

from __future__ import annotations

from typing import Annotated, Any

from contractor.inventory import orm, store
from contractor.inventory.api.interfaces import announce as announce_interface
from contractor.inventory.deps import (
    Box,
    IfMatch,
    Operator,
    Reader,
    SessionDep,
    Sessions,
    Transitioner,
)
from contractor.inventory.encryption import SecretBox
from contractor.inventory.errors import ResourceNotFound
from contractor.inventory.foundation_types import REGISTRY
from contractor.inventory.schemas.fields import JobSlotRead
from contractor.inventory.schemas.foundations import (
    FoundationCreate,
    FoundationRead,
    FoundationTransitioned,
    FoundationUpdate,
)
from contractor.inventory.schemas.states import StateChange
from contractor.servicekit.pagination import Limit, Page
from fastapi import APIRouter, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

router = APIRouter(prefix="/foundations", tags=["foundations"])
types_router = APIRouter(prefix="/foundation-types", tags=["foundation-types"])


def slot_of(row: orm.Foundation | orm.Structure | orm.Dependency) -> JobSlotRead | None:
    """The job slot of a target, if held."""
    if row.job_id is None:
        return None
    return JobSlotRead(
        job_id=row.job_id, script=row.job_script, kind=row.job_kind, since=row.job_since
    )


def render(
    foundation: orm.Foundation,
    structure_id: int | None,
    box: SecretBox,
    hardware: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The fields of a foundation's representation (secrets only as ``secrets_set``).

    ``hardware`` is the summary of the accepted hardware report (``store.discovery``).
    """
    ftype = REGISTRY[foundation.type]
    return {
        **{
            c: getattr(foundation, c)
            for c in (
                "locator",
                "site",
                "blueprint",
                "type",
                "complex",
                "serial",
                "attributes",
                "state",
                "located_at",
                "built_at",
                "created_at",
                "updated_at",
                "version",
            )
        },
        "class_list": list(ftype.class_list),
        "console": ftype.console(foundation.attributes),
        "structure": structure_id,
        "job": slot_of(foundation),
        "secrets_set": sorted(box.open(foundation.sealed_secrets)),
        "hardware": hardware,
        "resources": store.resources.of(foundation),
    }


async def _one(session: AsyncSession, foundation: orm.Foundation, box: SecretBox) -> FoundationRead:
    ids = await store.foundations.structure_ids(session, [foundation.locator])
    hardware = await store.discovery.summaries(session, [foundation.locator])
    return FoundationRead.model_validate(
        render(foundation, ids.get(foundation.locator), box, hardware.get(foundation.locator))
    )


@router.get("")
async def list_foundations(
    session: SessionDep,
    _: Reader,
    box: Box,
    site: str | None = None,
    site_tree: bool = False,
    blueprint: str | None = None,
    state: str | None = None,
    type: str | None = None,
    complex: str | None = None,
    serial: str | None = None,
    has_structure: bool | None = None,
    has_job: bool | None = None,
    limit: Annotated[Limit, Query()] = 50,
    cursor: str | None = None,
) -> Page[FoundationRead]:
    """List foundations by locator."""
    sites = None
    if site is not None:
        sites = await store.sites.descendants(session, site) if site_tree else [site]
    stmt = store.foundations.filtered(
        sites=sites,
        blueprint=blueprint,
        state=state,
        type=type,
        complex=complex,
        serial=serial,
        has_structure=has_structure,
        has_job=has_job,
    )
    rows, next_cursor = await store.foundations.list_page(session, stmt, limit=limit, cursor=cursor)
    ids = await store.foundations.structure_ids(session, [r.locator for r in rows])
    hardware = await store.discovery.summaries(session, [r.locator for r in rows])
    items = [
        FoundationRead.model_validate(render(r, ids.get(r.locator), box, hardware.get(r.locator)))
        for r in rows
    ]
    return Page(items=items, next_cursor=next_cursor)


@router.post("", status_code=201)
async def create_foundation(
    body: FoundationCreate, sessions: Sessions, caller: Operator, box: Box, response: Response
) -> FoundationRead:
    """Create a foundation."""
    values = body.model_dump(
        include=(body.model_fields_set | {"locator", "site", "blueprint", "type"}) - {"interfaces"}
    )
    async with sessions() as session:
        async with session.begin():
            foundation = await store.foundations.create(session, values, box)
            await store.events.append(
                session,
                "foundation.created",
                actor=caller.actor(),
                subject=("foundation", foundation.locator),
                site=foundation.site,
                data=store.foundations.event_data(foundation, sorted(body.model_fields_set)),
            )
            for index, port in enumerate(body.interfaces):
                iface = await store.interfaces.create_real(
                    session, foundation, port.model_dump(), loc=["body", "interfaces", index]
                )
                await store.events.append(
                    session,
                    "interface.created",
                    actor=caller.actor(),
                    subject=("interface", iface.id),
                    site=foundation.site,
                    data=store.interfaces.event_data(iface, sorted(port.model_fields_set), []),
                )
            await store.transitions.after_create(session, foundation)
        read = FoundationRead.model_validate(render(foundation, None, box))
    response.headers["Location"] = f"/api/v1/foundations/{foundation.locator}"
    response.headers["ETag"] = f'"{foundation.version}"'
    return read


@router.get("/{locator}")
async def read_foundation(
    locator: str, session: SessionDep, _: Reader, box: Box, response: Response
) -> FoundationRead:
    """Read one foundation."""
    foundation = await store.foundations.get(session, locator)
    response.headers["ETag"] = f'"{foundation.version}"'
    return await _one(session, foundation, box)


@router.patch("/{locator}")
async def update_foundation(
    locator: str,
    body: FoundationUpdate,
    session: SessionDep,
    caller: Operator,
    box: Box,
    expected: IfMatch,
    response: Response,
) -> FoundationRead:
    """Change a foundation."""
    async with session.begin():
        foundation = await store.foundations.get(session, locator, lock=True)
        changes = body.model_dump(include=body.model_fields_set)
        changed = await store.foundations.update(session, foundation, changes, expected, box)
        if changed:
            await store.resources.refresh(session, foundation)
            await store.events.append(
                session,
                "foundation.updated",
                actor=caller.actor(),
                subject=("foundation", locator),
                site=foundation.site,
                data=store.foundations.event_data(foundation, changed),
            )
    response.headers["ETag"] = f'"{foundation.version}"'
    return await _one(session, foundation, box)


@router.delete("/{locator}", status_code=204)
async def delete_foundation(
    locator: str, session: SessionDep, caller: Operator, expected: IfMatch
) -> None:
    """Delete a foundation (planned or located, no structure, no job)."""
    async with session.begin():
        foundation = await store.foundations.get(session, locator, lock=True)
        data = store.foundations.event_data(foundation, [])
        # Its interfaces go with it and are announced first (a refused delete rolls them back).
        for iface in await store.interfaces.of_foundation(session, locator):
            await announce_interface(
                session, "interface.deleted", iface, foundation.site, [], caller.actor()
            )
        await store.foundations.delete(session, foundation, expected)
        await store.events.append(
            session,
            "foundation.deleted",
            actor=caller.actor(),
            subject=("foundation", locator),
            site=data["site"],
            data=data,
        )


@router.post("/{locator}/state")
async def change_state(
    locator: str, body: StateChange, session: SessionDep, caller: Transitioner, box: Box
) -> FoundationTransitioned:
    """Move a foundation along its state machine."""
    move = store.transitions.Move(
        body.from_state, body.to_state, body.job_id, body.release_job, caller
    )
    async with session.begin():
        foundation, repeat = await store.transitions.move_foundation(session, locator, move)
    read = await _one(session, foundation, box)
    return FoundationTransitioned.model_validate({**read.model_dump(), "repeat": repeat})


@types_router.get("")
async def list_foundation_types(_: Reader) -> list[dict[str, Any]]:
    """List the registered foundation types."""
    return [t.describe() for t in REGISTRY.values()]


@types_router.get("/{name}")
async def read_foundation_type(name: str, _: Reader) -> dict[str, Any]:
    """Describe one foundation type."""
    if name not in REGISTRY:
        raise ResourceNotFound("foundation type", name)
    return REGISTRY[name].describe()
