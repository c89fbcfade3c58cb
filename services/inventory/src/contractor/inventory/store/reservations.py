"""Job slots (§5.2, §5.4): foreman reserves a target for a job, reads and releases the slot.

``reserve`` locks the target and its supporting objects, refuses (409/404/422 and nothing
held), or answers *blocked* (``can_start`` false) or *granted*. It is idempotent by ``job_id``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from contractor.inventory import orm
from contractor.inventory.errors import (
    AlreadyBuilt,
    JobExists,
    JobMismatch,
    NotBuilt,
    PrerequisiteNotReady,
    ResourceNotFound,
    ScriptNotFound,
    invalid,
)
from contractor.inventory.foundation_types import OUT_OF_BAND_POWER
from contractor.inventory.store import (
    blueprint_graph,
    blueprints,
    cascades,
    foundations,
    structures,
)
from contractor.inventory.store.transitions import get_dependency
from contractor.servicekit.db import utcnow
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession


@dataclass
class Answer:
    """The outcome of a reservation."""

    outcome: str
    target: cascades.Target
    waiting_on: list[dict[str, Any]] = field(default_factory=list)
    script: dict[str, Any] | None = None
    repeat: bool = False


async def load(session: AsyncSession, kind: str, key: str, *, lock: bool) -> cascades.Target:
    """The target ``kind``/``key`` (``foundations``/``structures``/``dependencies``)."""
    if kind == "foundation":
        return await foundations.get(session, key, lock=lock)
    if not key.isdigit():
        raise ResourceNotFound(kind, key)
    if kind == "structure":
        return await structures.get(session, int(key), lock=lock)
    return await get_dependency(session, int(key), lock=lock)


async def supporters(session: AsyncSession, target: cascades.Target) -> list[cascades.Target]:
    """Objects a target's job relies on, locked.

    A foundation relies on its gating dependency, a structure on its foundation, a dependency
    on its structure and parent dependency.
    """
    found: list[cascades.Target | None] = []
    if isinstance(target, orm.Foundation):
        found.append(
            await session.scalar(
                select(orm.Dependency)
                .where(orm.Dependency.foundation == target.locator)
                .with_for_update()
            )
        )
    elif isinstance(target, orm.Structure):
        found.append(await foundations.get(session, target.foundation, lock=True))
    else:
        if target.structure is not None:
            found.append(await structures.get(session, target.structure, lock=True))
        if target.dependency is not None:
            found.append(await get_dependency(session, target.dependency, lock=True))
    return [row for row in found if row is not None]


def job_kind(target: cascades.Target, script: str) -> str:
    """``create``, ``destroy`` or ``utility`` (dependencies accept only the first two)."""
    if script in ("create", "destroy"):
        return script
    if isinstance(target, orm.Dependency):
        raise invalid(
            ["body", "script"], "a dependency runs only create or destroy", "invalid-script"
        )
    return "utility"


def _refuse(target: cascades.Target, kind: str, support: list[cascades.Target]) -> None:
    for row in support:
        if row.job_id is not None and (kind == "utility" or row.job_script != kind):
            raise JobExists(
                f"job {row.job_id} holds {cascades.kind_of(row)} {cascades.key_of(row)}",
                job_id=row.job_id,
            )
    if kind == "create" and target.state == "built":
        raise AlreadyBuilt(f"{cascades.kind_of(target)} {cascades.key_of(target)} is built")
    if kind != "create" and target.state != "built":
        raise NotBuilt(f"{cascades.kind_of(target)} {cascades.key_of(target)} is {target.state}")
    for row in support if kind == "destroy" else []:
        if row.state != "built":
            raise NotBuilt(f"{cascades.kind_of(row)} {cascades.key_of(row)} is {row.state}")


def _need(row: cascades.Target, required: str) -> dict[str, Any]:
    return {
        "kind": cascades.kind_of(row),
        "key": cascades.key_of(row),
        "state": row.state,
        "required": required,
    }


async def waiting_on(
    session: AsyncSession, target: cascades.Target, kind: str
) -> list[dict[str, Any]]:
    """What keeps the job from starting (§5.4 ``can_start``); empty when it can start."""
    if kind == "utility":
        return []
    waits: list[dict[str, Any]] = []
    support = await supporters(session, target)
    if isinstance(target, orm.Foundation):
        if kind == "create":
            early = target.type in OUT_OF_BAND_POWER and target.state == "planned"
            if target.state != "located" and not early:
                waits.append(_need(target, "located"))
            waits += [_need(d, "built") for d in support if d.state != "built"]
        else:
            on_it = await session.scalar(
                select(orm.Structure).where(orm.Structure.foundation == target.locator)
            )
            if on_it is not None and (on_it.state != "planned" or on_it.job_id is not None):
                waits.append(_need(on_it, "planned"))
    elif isinstance(target, orm.Structure):
        if kind == "create":
            waits += [_need(f, "built") for f in support if f.state != "built"]
        else:
            deps = await session.scalars(
                select(orm.Dependency).where(orm.Dependency.structure == target.id)
            )
            waits += [
                _need(d, "planned") for d in deps if d.state != "planned" or d.job_id is not None
            ]
    elif kind == "create":
        waits += [_need(s, "built") for s in support if s.state != "built"]
    else:
        waits += await _dependency_destroy_waits(session, target)
    return waits


async def _dependency_destroy_waits(
    session: AsyncSession, target: orm.Dependency
) -> list[dict[str, Any]]:
    if target.foundation is not None:
        gated = await session.get(orm.Foundation, target.foundation)
        if gated is not None and (gated.state != "planned" or gated.job_id is not None):
            return [_need(gated, "planned")]
        return []
    children = await session.scalars(
        select(orm.Dependency).where(
            orm.Dependency.dependency == target.id, orm.Dependency.state == "built"
        )
    )
    return [_need(c, "planned") for c in children]


async def resolve_script(
    session: AsyncSession, target: cascades.Target, slot: str
) -> dict[str, Any]:
    """The script a job runs: ``{slot, name, from_blueprint, body, sha256}`` (§5.4)."""
    graph = await blueprints.graph(session)
    found: tuple[str, str] | None = None
    if isinstance(target, orm.Dependency):
        name = target.create_script_name if slot == "create" else target.destroy_script_name
        runner_id = target.script_structure or target.structure
        runner = await session.get(orm.Structure, runner_id) if runner_id else None
        if name is not None and runner is not None:
            found = blueprint_graph.resolve_script(graph, runner.blueprint, name)
            if found is None:
                raise ScriptNotFound(f"no script fills slot {name} of blueprint {runner.blueprint}")
    else:
        found = blueprint_graph.resolve_script(graph, target.blueprint, slot)
        if found is None and slot not in ("create", "destroy"):
            raise ScriptNotFound(f"no script fills slot {slot} of blueprint {target.blueprint}")
    body, from_blueprint, script_name = "", None, None
    if found is not None:
        from_blueprint, script_name = found
        script = await session.get(orm.Script, script_name)
        body = script.body if script is not None else ""
    return {
        "slot": slot,
        "name": script_name,
        "from_blueprint": from_blueprint,
        "body": body,
        "sha256": hashlib.sha256(body.encode()).hexdigest(),
    }


async def reserve(
    session: AsyncSession, kind: str, key: str, *, job_id: int, script: str, wait: bool
) -> tuple[Answer, bool]:
    """Reserve a target for a job; return the answer and whether the slot was newly taken."""
    target = await load(session, kind, key, lock=True)
    if target.job_id is not None and target.job_id != job_id:
        raise JobExists(f"job {target.job_id} holds {kind} {key}", job_id=target.job_id)
    repeat = target.job_id == job_id
    jkind = job_kind(target, script)
    if not repeat:
        _refuse(target, jkind, await supporters(session, target))
    resolved = await resolve_script(session, target, script)
    waits = await waiting_on(session, target, jkind)
    if waits and not wait and not repeat:
        raise PrerequisiteNotReady("the job cannot start yet", waiting_on=waits)
    if not repeat:
        target.job_id, target.job_script, target.job_kind, target.job_since = (
            job_id,
            script,
            jkind,
            utcnow(),
        )
        await session.flush()
    if waits:
        return Answer("blocked", target, waiting_on=waits, repeat=repeat), not repeat
    return Answer("granted", target, script=resolved, repeat=repeat), not repeat


async def release(
    session: AsyncSession, kind: str, key: str, job_id: int
) -> cascades.Target | None:
    """Release a slot held by ``job_id``; ``None`` if nothing was held (idempotent)."""
    target = await load(session, kind, key, lock=True)
    if target.job_id is None:
        return None
    if target.job_id != job_id:
        raise JobMismatch(f"job {target.job_id} holds {kind} {key}", job_id=target.job_id)
    target.job_id = target.job_script = target.job_kind = target.job_since = None
    await session.flush()
    return target
