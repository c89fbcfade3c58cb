"""Complex routes (§3.7)."""

from __future__ import annotations

from typing import Annotated, Any

from contractor.inventory import orm, store
from contractor.inventory.api.foundations import render as render_foundation
from contractor.inventory.deps import Box, IfMatch, Operator, Reader, SessionDep
from contractor.inventory.encryption import SecretBox
from contractor.inventory.errors import ResourceNotFound
from contractor.inventory.foundation_types import COMPLEX_TYPES
from contractor.inventory.schemas.complexes import (
    ComplexCreate,
    ComplexFoundationCreate,
    ComplexRead,
    ComplexUpdate,
)
from contractor.inventory.schemas.foundations import FoundationRead
from contractor.servicekit.pagination import Limit, Page
from fastapi import APIRouter, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession

router = APIRouter(prefix="/complexes", tags=["complexes"])
types_router = APIRouter(prefix="/complex-types", tags=["complex-types"])


async def render(session: AsyncSession, complex_: orm.Complex, box: SecretBox) -> ComplexRead:
    """A complex with its members (secrets only as ``secrets_set``)."""
    members = await store.complex_state.members(session, complex_.name)
    data = store.complex_state.event_data(complex_, members)
    return ComplexRead.model_validate(
        {
            **{
                c: getattr(complex_, c)
                for c in (
                    "name",
                    "site",
                    "description",
                    "type",
                    "built_percentage",
                    "attributes",
                    "state",
                    "created_at",
                    "updated_at",
                    "version",
                )
            },
            "members": data["members"],
            "built_members": data["built_members"],
            "secrets_set": sorted(box.open(complex_.sealed_secrets)),
        }
    )


async def _event(
    session: AsyncSession, type: str, complex_: orm.Complex, actor: dict[str, Any]
) -> None:
    members = await store.complex_state.members(session, complex_.name)
    await store.events.append(
        session,
        type,
        actor=actor,
        subject=("complex", complex_.name),
        site=complex_.site,
        data=store.complex_state.event_data(complex_, members),
    )


@router.get("")
async def list_complexes(
    session: SessionDep,
    _: Reader,
    box: Box,
    site: str | None = None,
    site_tree: bool = False,
    type: str | None = None,
    state: str | None = None,
    limit: Annotated[Limit, Query()] = 50,
    cursor: str | None = None,
) -> Page[ComplexRead]:
    """List complexes by name."""
    sites = None
    if site is not None:
        sites = await store.sites.descendants(session, site) if site_tree else [site]
    stmt = store.complexes.filtered(sites=sites, type=type, state=state)
    rows, next_cursor = await store.complexes.list_page(session, stmt, limit=limit, cursor=cursor)
    return Page(items=[await render(session, r, box) for r in rows], next_cursor=next_cursor)


@router.post("", status_code=201)
async def create_complex(
    body: ComplexCreate, session: SessionDep, caller: Operator, box: Box, response: Response
) -> ComplexRead:
    """Create a complex."""
    async with session.begin():
        complex_ = await store.complexes.create(session, body.model_dump(), box, caller.actor())
        await _event(session, "complex.created", complex_, caller.actor())
        await store.complex_state.refresh(session, complex_, caller.actor())
    response.headers["Location"] = f"/api/v1/complexes/{complex_.name}"
    response.headers["ETag"] = f'"{complex_.version}"'
    return await render(session, complex_, box)


@router.get("/{name}")
async def read_complex(
    name: str, session: SessionDep, _: Reader, box: Box, response: Response
) -> ComplexRead:
    """Read one complex."""
    complex_ = await store.complexes.get(session, name)
    response.headers["ETag"] = f'"{complex_.version}"'
    return await render(session, complex_, box)


@router.patch("/{name}")
async def update_complex(
    name: str,
    body: ComplexUpdate,
    session: SessionDep,
    caller: Operator,
    box: Box,
    expected: IfMatch,
    response: Response,
) -> ComplexRead:
    """Change a complex."""
    async with session.begin():
        complex_ = await store.complexes.get(session, name, lock=True)
        changes = body.model_dump(include=body.model_fields_set)
        changed = await store.complexes.update(session, complex_, changes, expected, box)
        if changed:
            await _event(session, "complex.updated", complex_, caller.actor())
            await store.complex_state.refresh(session, complex_, caller.actor())
    response.headers["ETag"] = f'"{complex_.version}"'
    return await render(session, complex_, box)


@router.delete("/{name}", status_code=204)
async def delete_complex(
    name: str, session: SessionDep, caller: Operator, expected: IfMatch
) -> None:
    """Delete a complex no foundation names."""
    async with session.begin():
        complex_ = await store.complexes.get(session, name, lock=True)
        members = await store.complex_state.members(session, name)
        data = store.complex_state.event_data(complex_, members)
        await store.complexes.delete_complex(session, complex_, expected)
        await store.events.append(
            session,
            "complex.deleted",
            actor=caller.actor(),
            subject=("complex", name),
            site=data["site"],
            data=data,
        )


@types_router.get("")
async def list_complex_types(_: Reader) -> list[dict[str, Any]]:
    """List the registered complex types."""
    return [t.describe() for t in COMPLEX_TYPES.values()]


@types_router.get("/{name}")
async def read_complex_type(name: str, _: Reader) -> dict[str, Any]:
    """Describe one complex type."""
    if name not in COMPLEX_TYPES:
        raise ResourceNotFound("complex type", name)
    return COMPLEX_TYPES[name].describe()


@router.post("/{name}/foundations", status_code=201)
async def create_hosted_foundation(
    name: str,
    body: ComplexFoundationCreate,
    session: SessionDep,
    caller: Operator,
    box: Box,
    response: Response,
) -> FoundationRead:
    """Create a foundation of the complex's type on the complex."""
    async with session.begin():
        complex_ = await store.complexes.get(session, name)
        values = {
            "locator": body.locator,
            "blueprint": body.blueprint,
            "type": complex_.type,
            "site": body.site or complex_.site,
            "complex": name,
            "attributes": body.attributes,
        }
        foundation = await store.foundations.create(session, values, box)
        await store.events.append(
            session,
            "foundation.created",
            actor=caller.actor(),
            subject=("foundation", foundation.locator),
            site=foundation.site,
            data=store.foundations.event_data(foundation, sorted(values)),
        )
        for index, port in enumerate(body.ports()):
            iface = await store.interfaces.create_real(
                session, foundation, port, loc=["body", "interfaces", index]
            )
            await store.events.append(
                session,
                "interface.created",
                actor=caller.actor(),
                subject=("interface", iface.id),
                site=foundation.site,
                data=store.interfaces.event_data(iface, sorted(port), []),
            )
        await store.transitions.after_create(session, foundation)
    response.headers["Location"] = f"/api/v1/foundations/{foundation.locator}"
    ids = await store.foundations.structure_ids(session, [foundation.locator])
    return FoundationRead.model_validate(
        render_foundation(foundation, ids.get(foundation.locator), box)
    )
