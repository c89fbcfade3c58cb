"""Scripts: named TScript bodies, linted on every write (§3.3)."""

from __future__ import annotations

from typing import Any

from contractor.inventory import orm
from contractor.inventory.errors import AlreadyExists, InUse, ResourceNotFound, ScriptInvalid
from contractor.inventory.store import listing, rows, script_lint
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession


async def get(session: AsyncSession, name: str) -> orm.Script:
    """Load one script.

    Raises:
        ResourceNotFound: No such script.
    """
    script = await session.get(orm.Script, name)
    if script is None:
        raise ResourceNotFound("script", name)
    return script


async def list_page(
    session: AsyncSession, *, limit: int, cursor: str | None
) -> tuple[list[orm.Script], str | None]:
    """One page of scripts ordered by name."""
    return await listing.page(
        session, select(orm.Script), orm.Script.name, limit=limit, cursor=cursor
    )


def _lint(body: str) -> None:
    findings = script_lint.lint(body)
    if findings:
        raise ScriptInvalid(findings)


async def create(session: AsyncSession, values: dict[str, Any]) -> orm.Script:
    """Create a script after linting it."""
    if await session.get(orm.Script, values["name"]) is not None:
        raise AlreadyExists("script", values["name"])
    _lint(values["body"])
    script = orm.Script(**values)
    rows.stamp_new(script)
    session.add(script)
    await session.flush()
    return script


async def update(
    session: AsyncSession, script: orm.Script, changes: dict[str, Any], expected: int | None
) -> list[str]:
    """Apply a PATCH (re-linting the body); return the changed fields."""
    rows.check_version(script, expected)
    if changes.get("body") is not None:
        _lint(changes["body"])
    changed = rows.apply_changes(script, {k: v for k, v in changes.items() if v is not None})
    await session.flush()
    return changed


async def delete(session: AsyncSession, script: orm.Script, expected: int | None) -> None:
    """Delete a script no blueprint slot names."""
    rows.check_version(script, expected)
    users = [
        bp.name
        for bp in await session.scalars(select(orm.Blueprint))
        if script.name in bp.scripts.values()
    ]
    if users:
        raise InUse(f"script {script.name} is used by blueprints", blueprints=len(users))
    await session.delete(script)
    await session.flush()
