"""Script routes (§3.3)."""

from __future__ import annotations

from typing import Annotated, Any

from contractor.inventory import orm, store
from contractor.inventory.deps import Admin, IfMatch, Reader, SessionDep
from contractor.inventory.schemas.scripts import ScriptCreate, ScriptRead, ScriptUpdate
from contractor.servicekit.pagination import Limit, Page
from fastapi import APIRouter, Query, Response

router = APIRouter(prefix="/scripts", tags=["scripts"])


def _data(script: orm.Script, changed: list[str]) -> dict[str, Any]:
    return {"name": script.name, "changed": changed}


@router.get("")
async def list_scripts(
    session: SessionDep, _: Reader, limit: Annotated[Limit, Query()] = 50, cursor: str | None = None
) -> Page[ScriptRead]:
    """List scripts by name."""
    rows, next_cursor = await store.scripts.list_page(session, limit=limit, cursor=cursor)
    return Page(items=[ScriptRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post("", status_code=201)
async def create_script(
    body: ScriptCreate, session: SessionDep, caller: Admin, response: Response
) -> ScriptRead:
    """Create a script (linted)."""
    async with session.begin():
        script = await store.scripts.create(session, body.model_dump())
        await store.events.append(
            session,
            "script.created",
            actor=caller.actor(),
            subject=("script", script.name),
            site=None,
            data=_data(script, sorted(body.model_fields_set)),
        )
    response.headers["Location"] = f"/api/v1/scripts/{script.name}"
    response.headers["ETag"] = f'"{script.version}"'
    return ScriptRead.model_validate(script)


@router.get("/{name}")
async def read_script(name: str, session: SessionDep, _: Reader, response: Response) -> ScriptRead:
    """Read one script."""
    script = await store.scripts.get(session, name)
    response.headers["ETag"] = f'"{script.version}"'
    return ScriptRead.model_validate(script)


@router.patch("/{name}")
async def update_script(
    name: str,
    body: ScriptUpdate,
    session: SessionDep,
    caller: Admin,
    expected: IfMatch,
    response: Response,
) -> ScriptRead:
    """Change a script (re-linted)."""
    async with session.begin():
        script = await store.scripts.get(session, name)
        changed = await store.scripts.update(
            session, script, body.model_dump(include=body.model_fields_set), expected
        )
        if changed:
            await store.events.append(
                session,
                "script.updated",
                actor=caller.actor(),
                subject=("script", name),
                site=None,
                data=_data(script, changed),
            )
    response.headers["ETag"] = f'"{script.version}"'
    return ScriptRead.model_validate(script)


@router.delete("/{name}", status_code=204)
async def delete_script(name: str, session: SessionDep, caller: Admin, expected: IfMatch) -> None:
    """Delete a script no blueprint names."""
    async with session.begin():
        script = await store.scripts.get(session, name)
        await store.scripts.delete(session, script, expected)
        await store.events.append(
            session,
            "script.deleted",
            actor=caller.actor(),
            subject=("script", name),
            site=None,
            data=_data(script, []),
        )
