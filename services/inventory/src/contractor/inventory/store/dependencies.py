"""Dependencies: a foundation (or dependency) waits for a structure (or dependency), §3.8."""

from __future__ import annotations

from typing import Any

from contractor.inventory import orm
from contractor.inventory.errors import (
    AlreadyExists,
    JobActive,
    NotDeletable,
    StateConflict,
    invalid,
)
from contractor.inventory.store import listing, rows
from contractor.inventory.store.transitions import get_dependency as get
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

__all__ = ["create", "delete", "event_data", "filtered", "get", "list_page", "update"]

FIELDS = (
    "structure",
    "dependency",
    "foundation",
    "script_structure",
    "link",
    "create_script_name",
    "destroy_script_name",
)


def filtered(
    *, foundation: str | None, structure: int | None, state: str | None
) -> Select[orm.Dependency]:
    """The list query with its filters."""
    stmt = select(orm.Dependency)
    if foundation is not None:
        stmt = stmt.where(orm.Dependency.foundation == foundation)
    if structure is not None:
        stmt = stmt.where(orm.Dependency.structure == structure)
    if state is not None:
        stmt = stmt.where(orm.Dependency.state == state)
    return stmt


async def list_page(
    session: AsyncSession, stmt: Select[orm.Dependency], *, limit: int, cursor: str | None
) -> tuple[list[orm.Dependency], str | None]:
    """One page of dependencies by id."""
    return await listing.page(session, stmt, orm.Dependency.id, limit=limit, cursor=cursor)


async def _check(session: AsyncSession, values: dict[str, Any], own_id: int | None) -> None:
    if (values.get("structure") is None) == (values.get("dependency") is None):
        raise invalid(["body", "structure"], "give exactly one of structure and dependency")
    for field, table in (
        ("structure", orm.Structure),
        ("script_structure", orm.Structure),
        ("dependency", orm.Dependency),
        ("foundation", orm.Foundation),
    ):
        if values.get(field) is not None and await session.get(table, values[field]) is None:
            raise invalid(["body", field], f"{field} {values[field]} does not exist")
    if own_id is not None and values.get("dependency") == own_id:
        raise invalid(["body", "dependency"], "a dependency cannot wait for itself", "cycle")
    create_name, destroy_name = values.get("create_script_name"), values.get("destroy_script_name")
    if create_name is not None and create_name == destroy_name:
        raise invalid(["body", "destroy_script_name"], "create and destroy scripts must differ")
    if (
        (create_name or destroy_name)
        and values.get("structure") is None
        and values.get("script_structure") is None
    ):
        raise invalid(["body", "script_structure"], "scripts need structure or script_structure")
    if values.get("foundation") is not None:
        gating = await session.scalar(
            select(orm.Dependency.id).where(orm.Dependency.foundation == values["foundation"])
        )
        if gating is not None and gating != own_id:
            raise AlreadyExists("dependency gating foundation", values["foundation"], "foundation")


async def create(session: AsyncSession, values: dict[str, Any]) -> orm.Dependency:
    """Create a dependency (state ``planned``)."""
    await _check(session, values, None)
    dependency = orm.Dependency(**{f: values.get(f) for f in FIELDS}, state="planned")
    dependency.link = values.get("link") or "soft"
    rows.stamp_new(dependency)
    session.add(dependency)
    await session.flush()
    return dependency


async def update(
    session: AsyncSession, dependency: orm.Dependency, changes: dict[str, Any], expected: int | None
) -> list[str]:
    """Apply a PATCH: everything but ``link`` only while planned and free."""
    rows.check_version(dependency, expected)
    updates = {k: v for k, v in changes.items() if k in FIELDS and getattr(dependency, k) != v}
    if set(updates) - {"link"}:
        if dependency.job_id is not None:
            raise JobActive(f"job {dependency.job_id} holds dependency {dependency.id}")
        if dependency.state != "planned":
            raise StateConflict("dependency", str(dependency.id), dependency.state)
    await _check(session, {**{f: getattr(dependency, f) for f in FIELDS}, **updates}, dependency.id)
    changed = rows.apply_changes(dependency, updates)
    await session.flush()
    return changed


async def delete(session: AsyncSession, dependency: orm.Dependency, expected: int | None) -> None:
    """Delete a planned dependency with no job and no child dependency."""
    rows.check_version(dependency, expected)
    if dependency.state != "planned":
        raise NotDeletable(f"dependency {dependency.id} is {dependency.state}")
    if dependency.job_id is not None:
        raise NotDeletable(f"job {dependency.job_id} holds dependency {dependency.id}")
    children = await session.scalar(
        select(func.count())
        .select_from(orm.Dependency)
        .where(orm.Dependency.dependency == dependency.id)
    )
    if children:
        raise NotDeletable(f"dependency {dependency.id} has child dependencies")
    await session.delete(dependency)
    await session.flush()


def event_data(dependency: orm.Dependency, changed: list[str]) -> dict[str, Any]:
    """The ``dependency.created|updated|deleted`` payload."""
    return {
        "id": dependency.id,
        "structure": dependency.structure,
        "dependency": dependency.dependency,
        "foundation": dependency.foundation,
        "link": dependency.link,
        "from": None,
        "to": dependency.state,
        "job_id": None,
        "cascade_of": None,
        "changed": changed,
    }
