"""Dependency routes (§3.8) and state transitions (§12.3)."""

from __future__ import annotations

from typing import Annotated

from contractor.inventory import orm, store
from contractor.inventory.api.foundations import slot_of
from contractor.inventory.deps import Id, IfMatch, Operator, Reader, SessionDep, Transitioner
from contractor.inventory.schemas.dependencies import (
    DependencyCreate,
    DependencyRead,
    DependencyTransitioned,
    DependencyUpdate,
)
from contractor.inventory.schemas.states import StateChange
from contractor.inventory.store.state_events import site_of_dependency
from contractor.servicekit.pagination import Limit, Page
from fastapi import APIRouter, Query, Response

router = APIRouter(prefix="/dependencies", tags=["dependencies"])
COLUMNS = (
    "id",
    "structure",
    "dependency",
    "foundation",
    "script_structure",
    "link",
    "create_script_name",
    "destroy_script_name",
    "state",
    "built_at",
    "created_at",
    "updated_at",
    "version",
)


def render(dependency: orm.Dependency) -> DependencyRead:
    """A dependency as the API shows it."""
    return DependencyRead.model_validate(
        {**{c: getattr(dependency, c) for c in COLUMNS}, "job": slot_of(dependency)}
    )


@router.get("")
async def list_dependencies(
    session: SessionDep,
    _: Reader,
    foundation: str | None = None,
    structure: Id | None = None,
    state: str | None = None,
    limit: Annotated[Limit, Query()] = 50,
    cursor: str | None = None,
) -> Page[DependencyRead]:
    """List dependencies by id."""
    stmt = store.dependencies.filtered(foundation=foundation, structure=structure, state=state)
    rows, next_cursor = await store.dependencies.list_page(
        session, stmt, limit=limit, cursor=cursor
    )
    return Page(items=[render(r) for r in rows], next_cursor=next_cursor)


@router.post("", status_code=201)
async def create_dependency(
    body: DependencyCreate, session: SessionDep, caller: Operator, response: Response
) -> DependencyRead:
    """Create a dependency."""
    async with session.begin():
        dependency = await store.dependencies.create(session, body.model_dump())
        await store.events.append(
            session,
            "dependency.created",
            actor=caller.actor(),
            subject=("dependency", dependency.id),
            site=await site_of_dependency(session, dependency),
            data=store.dependencies.event_data(dependency, sorted(body.model_fields_set)),
        )
    response.headers["Location"] = f"/api/v1/dependencies/{dependency.id}"
    response.headers["ETag"] = f'"{dependency.version}"'
    return render(dependency)


@router.get("/{dependency_id}")
async def read_dependency(
    dependency_id: Id, session: SessionDep, _: Reader, response: Response
) -> DependencyRead:
    """Read one dependency."""
    dependency = await store.dependencies.get(session, dependency_id)
    response.headers["ETag"] = f'"{dependency.version}"'
    return render(dependency)


@router.patch("/{dependency_id}")
async def update_dependency(
    dependency_id: Id,
    body: DependencyUpdate,
    session: SessionDep,
    caller: Operator,
    expected: IfMatch,
    response: Response,
) -> DependencyRead:
    """Change a dependency."""
    async with session.begin():
        dependency = await store.dependencies.get(session, dependency_id, lock=True)
        changes = body.model_dump(include=body.model_fields_set)
        changed = await store.dependencies.update(session, dependency, changes, expected)
        if changed:
            await store.events.append(
                session,
                "dependency.updated",
                actor=caller.actor(),
                subject=("dependency", dependency_id),
                site=await site_of_dependency(session, dependency),
                data=store.dependencies.event_data(dependency, changed),
            )
    response.headers["ETag"] = f'"{dependency.version}"'
    return render(dependency)


@router.delete("/{dependency_id}", status_code=204)
async def delete_dependency(
    dependency_id: Id, session: SessionDep, caller: Operator, expected: IfMatch
) -> None:
    """Delete a planned dependency with no job and no children."""
    async with session.begin():
        dependency = await store.dependencies.get(session, dependency_id, lock=True)
        data = store.dependencies.event_data(dependency, [])
        site = await site_of_dependency(session, dependency)
        await store.dependencies.delete(session, dependency, expected)
        await store.events.append(
            session,
            "dependency.deleted",
            actor=caller.actor(),
            subject=("dependency", dependency_id),
            site=site,
            data=data,
        )


@router.post("/{dependency_id}/state")
async def change_state(
    dependency_id: Id, body: StateChange, session: SessionDep, caller: Transitioner
) -> DependencyTransitioned:
    """Move a dependency between planned and built."""
    move = store.transitions.Move(
        body.from_state, body.to_state, body.job_id, body.release_job, caller
    )
    async with session.begin():
        dependency, repeat = await store.transitions.move_dependency(session, dependency_id, move)
    return DependencyTransitioned.model_validate(
        {**render(dependency).model_dump(), "repeat": repeat}
    )
