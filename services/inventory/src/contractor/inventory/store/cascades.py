"""Cascades (§5.3): destroys reach what stands on a target; automatic dependencies follow.

A destroy cascade is planned first and applied only if no object it reaches holds a job slot
of another job; otherwise 409 ``cascade-blocked`` and nothing changes.
"""

from __future__ import annotations

import uuid
from typing import Any

from contractor.inventory import orm
from contractor.inventory.errors import CascadeBlocked
from contractor.inventory.store import complex_state, rows, state_events, transition_log
from contractor.servicekit.db import utcnow
from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

Target = orm.Foundation | orm.Structure | orm.Dependency


def kind_of(row: Target) -> str:
    """``foundation``, ``structure`` or ``dependency``."""
    return {orm.Foundation: "foundation", orm.Structure: "structure", orm.Dependency: "dependency"}[
        type(row)
    ]


def key_of(row: Target) -> str:
    """The API key of a target."""
    return row.locator if isinstance(row, orm.Foundation) else str(row.id)


async def _reached_from(session: AsyncSession, row: Target) -> list[Target]:
    if isinstance(row, orm.Foundation):
        found = await session.scalars(
            select(orm.Structure).where(
                orm.Structure.foundation == row.locator, orm.Structure.state == "built"
            )
        )
        return list(found)
    if isinstance(row, orm.Structure):
        deps = await session.scalars(
            select(orm.Dependency)
            .where(orm.Dependency.structure == row.id, orm.Dependency.state == "built")
            .order_by(orm.Dependency.id)
        )
        return list(deps)
    reached: list[Target] = list(
        await session.scalars(
            select(orm.Dependency)
            .where(orm.Dependency.dependency == row.id, orm.Dependency.state == "built")
            .order_by(orm.Dependency.id)
        )
    )
    if row.link == "hard" and row.foundation is not None:
        gated = await session.get(orm.Foundation, row.foundation)
        if gated is not None and gated.state != "planned":
            reached.append(gated)
    return reached


async def plan_destroy(session: AsyncSession, root: Target) -> list[Target]:
    """Everything a destroy of ``root`` reaches, in the order to destroy it (root excluded)."""
    plan: list[Target] = []
    seen = {(kind_of(root), key_of(root))}
    todo = [root]
    while todo:
        for reached in await _reached_from(session, todo.pop(0)):
            mark = (kind_of(reached), key_of(reached))
            if mark not in seen:
                seen.add(mark)
                plan.append(reached)
                todo.append(reached)
    return plan


async def destroy_reached(
    session: AsyncSession, root: Target, job_id: int | None, actor: dict[str, Any]
) -> None:
    """Destroy what stands on ``root`` (the caller moves ``root`` itself).

    Raises:
        CascadeBlocked: A reached object is held by another job; nothing was changed.
    """
    plan = await plan_destroy(session, root)
    blocking = [
        {"kind": kind_of(row), "key": key_of(row), "job_id": row.job_id}
        for row in plan
        if row.job_id is not None and row.job_id != job_id
    ]
    if blocking:
        raise CascadeBlocked(blocking)
    cascade_of = {"kind": kind_of(root), "key": key_of(root)}
    for row in plan:
        await destroy_one(
            session, row, job_id=job_id, reason="cascade", cascade_of=cascade_of, actor=actor
        )


async def destroy_one(
    session: AsyncSession,
    row: Target,
    *,
    job_id: int | None,
    reason: str,
    cascade_of: dict[str, str] | None,
    actor: dict[str, Any],
) -> None:
    """Move one target back to ``planned`` with its effects, log row and event."""
    before = row.state
    row.state = "planned"
    row.built_at = None
    if isinstance(row, orm.Foundation):
        row.located_at = None
        await session.execute(
            update(orm.Interface)
            .where(orm.Interface.foundation == row.locator)
            .values(mac=None, pxe=None)
        )
        await session.execute(
            delete(orm.FoundationHardware).where(orm.FoundationHardware.foundation == row.locator)
        )
    if isinstance(row, orm.Structure):
        row.config_uuid = str(uuid.uuid4())
    if cascade_of is not None:
        rows.touch(row)
        transition_log.record(
            session,
            kind_of(row),
            key_of(row),
            before,
            "planned",
            job_id=job_id,
            forced=job_id is None,
            reason=reason,
            actor=actor,
        )
    await _event(session, row, before, job_id, reason, cascade_of, actor)
    if isinstance(row, orm.Structure):
        await complex_state.refresh_for_structure(session, row.id, actor)


async def _event(
    session: AsyncSession,
    row: Target,
    before: str,
    job_id: int | None,
    reason: str,
    cascade_of: dict[str, str] | None,
    actor: dict[str, Any],
) -> None:
    if isinstance(row, orm.Foundation):
        await state_events.foundation(
            session, row, before, job_id=job_id, reason=reason, cascade_of=cascade_of, actor=actor
        )
    elif isinstance(row, orm.Structure):
        await state_events.structure(
            session, row, before, job_id=job_id, cascade_of=cascade_of, actor=actor
        )
    else:
        await state_events.dependency(
            session, row, before, job_id=job_id, cascade_of=cascade_of, actor=actor
        )


async def build_automatic(
    session: AsyncSession, cause: orm.Structure | orm.Dependency, actor: dict[str, Any]
) -> None:
    """Build the automatic dependencies (no create script) waiting on ``cause``, transitively."""
    column = (
        orm.Dependency.structure if isinstance(cause, orm.Structure) else orm.Dependency.dependency
    )
    waiting = await session.scalars(
        select(orm.Dependency)
        .where(
            column == cause.id,
            orm.Dependency.state == "planned",
            orm.Dependency.create_script_name.is_(None),
        )
        .order_by(orm.Dependency.id)
    )
    cascade_of = {"kind": kind_of(cause), "key": key_of(cause)}
    for dep in list(waiting):
        dep.state, dep.built_at = "built", utcnow()
        rows.touch(dep)
        transition_log.record(
            session,
            "dependency",
            dep.id,
            "planned",
            "built",
            job_id=None,
            forced=False,
            reason="automatic",
            actor=actor,
        )
        await state_events.dependency(
            session, dep, "planned", job_id=None, cascade_of=cascade_of, actor=actor
        )
        await build_automatic(session, dep, actor)
