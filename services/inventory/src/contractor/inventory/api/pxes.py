"""PXE profile routes (§3.3)."""

from __future__ import annotations

from typing import Annotated, Any

from contractor.inventory import orm, store
from contractor.inventory.deps import Admin, IfMatch, Reader, SessionDep
from contractor.inventory.schemas.pxes import PxeCreate, PxeRead, PxeUpdate
from contractor.servicekit.pagination import Limit, Page
from fastapi import APIRouter, Query, Response

router = APIRouter(prefix="/pxes", tags=["pxes"])


def _data(pxe: orm.Pxe, changed: list[str]) -> dict[str, Any]:
    return {"name": pxe.name, "changed": changed}


@router.get("")
async def list_pxes(
    session: SessionDep, _: Reader, limit: Annotated[Limit, Query()] = 50, cursor: str | None = None
) -> Page[PxeRead]:
    """List PXE profiles by name."""
    rows, next_cursor = await store.pxes.list_page(session, limit=limit, cursor=cursor)
    return Page(items=[PxeRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post("", status_code=201)
async def create_pxe(
    body: PxeCreate, session: SessionDep, caller: Admin, response: Response
) -> PxeRead:
    """Create a PXE profile."""
    async with session.begin():
        pxe = await store.pxes.create(
            session, body.model_dump(exclude={"created_at", "updated_at", "version"})
        )
        await store.events.append(
            session,
            "pxe.created",
            actor=caller.actor(),
            subject=("pxe", pxe.name),
            site=None,
            data=_data(pxe, sorted(body.model_fields_set)),
        )
    response.headers["Location"] = f"/api/v1/pxes/{pxe.name}"
    return PxeRead.model_validate(pxe)


@router.get("/{name}")
async def read_pxe(name: str, session: SessionDep, _: Reader) -> PxeRead:
    """Read one PXE profile."""
    return PxeRead.model_validate(await store.pxes.get(session, name))


@router.patch("/{name}")
async def update_pxe(
    name: str, body: PxeUpdate, session: SessionDep, caller: Admin, expected: IfMatch
) -> PxeRead:
    """Change a PXE profile."""
    async with session.begin():
        pxe = await store.pxes.get(session, name)
        changed = await store.pxes.update(
            session, pxe, body.model_dump(include=body.model_fields_set), expected
        )
        if changed:
            await store.events.append(
                session,
                "pxe.updated",
                actor=caller.actor(),
                subject=("pxe", name),
                site=None,
                data=_data(pxe, changed),
            )
    return PxeRead.model_validate(pxe)


@router.delete("/{name}", status_code=204)
async def delete_pxe(name: str, session: SessionDep, caller: Admin, expected: IfMatch) -> None:
    """Delete a PXE profile nothing boots."""
    async with session.begin():
        pxe = await store.pxes.get(session, name)
        await store.pxes.delete(session, pxe, expected)
        await store.events.append(
            session,
            "pxe.deleted",
            actor=caller.actor(),
            subject=("pxe", name),
            site=None,
            data=_data(pxe, []),
        )
