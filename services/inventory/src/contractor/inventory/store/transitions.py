"""Requested state transitions of foundations, structures and dependencies (§5.1, §5.2).

Allowed moves are data; :func:`guard` checks who may make a move. The target row is locked
first (``FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite), so two racing requests for
the same move see each other's result: one wins, the other gets 409 ``state-conflict``.
Destroys cascade through :mod:`cascades`; each move writes its log row and events in the
caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from contractor.inventory import orm
from contractor.inventory.errors import (
    HardwareRequired,
    JobExists,
    JobMismatch,
    ResourceNotFound,
    StateConflict,
    TransitionNotAllowed,
)
from contractor.inventory.store import (
    blueprint_graph,
    blueprints,
    cascades,
    complex_state,
    foundations,
    rows,
    state_events,
    structures,
    transition_log,
)
from contractor.servicekit.auth import Principal, Role
from contractor.servicekit.db import utcnow
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

MOVES: Final[dict[str, frozenset[tuple[str, str]]]] = {
    "foundation": frozenset(
        {
            ("planned", "located"),
            ("built", "located"),
            ("located", "built"),
            ("planned", "built"),
            ("located", "planned"),
            ("built", "planned"),
        }
    ),
    "structure": frozenset({("planned", "built"), ("built", "planned")}),
    "dependency": frozenset({("planned", "built"), ("built", "planned")}),
}
FORCING_ROLES: Final = frozenset({Role.ADMIN, Role.OPERATOR})


@dataclass(frozen=True)
class Move:
    """A requested transition and who asks for it."""

    from_state: str
    to_state: str
    job_id: int | None
    release_job: bool
    caller: Principal

    @property
    def reason(self) -> str:
        """``job`` for a job's move, ``operator`` for a forced one."""
        return "job" if self.job_id is not None else "operator"


def guard(kind: str, key: str, held_by: int | None, move: Move) -> bool:
    """Check rule 2 of §5.2; return whether the move is forced (no slot held).

    Raises:
        JobMismatch: A slot is held and the request is not that job's, from a service token;
            or no slot is held and the caller may not force, or names a job.
    """
    if held_by is not None:
        if move.caller.role is not Role.SERVICE or move.job_id != held_by:
            raise JobMismatch(f"job {held_by} holds {kind} {key}", job_id=held_by)
        return False
    if move.caller.role not in FORCING_ROLES or move.job_id is not None:
        raise JobMismatch(f"no job holds {kind} {key}")
    return True


async def is_repeat(session: AsyncSession, kind: str, key: str, current: str, move: Move) -> bool:
    """Whether this job already brought the target to this state.

    Foreman retries until acknowledged and the job id is the idempotency key, so the repeat's
    ``from`` is not compared: a retry may carry the state it reads now.
    """
    if move.job_id is None or current != move.to_state:
        return False
    last = await session.scalar(
        select(orm.Transition)
        .where(orm.Transition.target_kind == kind, orm.Transition.target_key == key)
        .order_by(orm.Transition.id.desc())
        .limit(1)
    )
    return last is not None and last.job_id == move.job_id and last.to_state == move.to_state


async def _check_request(session: AsyncSession, row: cascades.Target, move: Move) -> bool | None:
    """Rules 1–2 and the move table; ``None`` for a repeat, else whether the move is forced."""
    kind, key = cascades.kind_of(row), cascades.key_of(row)
    allowed = (move.from_state, move.to_state) in MOVES[kind]
    if (row.state != move.from_state or not allowed) and await is_repeat(
        session, kind, key, row.state, move
    ):
        return None
    if row.state != move.from_state:
        raise StateConflict(kind, key, row.state)
    if not allowed:
        raise TransitionNotAllowed(f"a {kind} cannot go from {move.from_state} to {move.to_state}")
    return guard(kind, key, row.job_id, move)


def _finish(session: AsyncSession, row: cascades.Target, move: Move, forced: bool) -> None:
    if move.release_job:
        row.job_id = row.job_script = row.job_kind = row.job_since = None
    transition_log.record(
        session,
        cascades.kind_of(row),
        cascades.key_of(row),
        move.from_state,
        move.to_state,
        job_id=move.job_id,
        forced=forced,
        reason=move.reason,
        actor=move.caller.actor(),
    )
    rows.touch(row)


async def move_foundation(
    session: AsyncSession, locator: str, move: Move
) -> tuple[orm.Foundation, bool]:
    """Apply a requested foundation transition; return the row and whether it was a repeat."""
    foundation = await foundations.get(session, locator, lock=True)
    forced = await _check_request(session, foundation, move)
    if forced is None:
        return foundation, True
    structure = await session.scalar(
        select(orm.Structure).where(orm.Structure.foundation == locator).with_for_update()
    )
    if foundation.job_id is None and structure is not None and structure.job_id is not None:
        raise JobExists(
            f"job {structure.job_id} holds structure {structure.id}", job_id=structure.job_id
        )
    if move.to_state == "planned":
        await cascades.destroy_reached(session, foundation, move.job_id, move.caller.actor())
        await cascades.destroy_one(
            session,
            foundation,
            job_id=move.job_id,
            reason=move.reason,
            cascade_of=None,
            actor=move.caller.actor(),
        )
    else:
        await _build_or_locate(session, foundation, structure, move)
    _finish(session, foundation, move, forced)
    await session.flush()
    return foundation, False


async def _build_or_locate(
    session: AsyncSession, foundation: orm.Foundation, structure: orm.Structure | None, move: Move
) -> None:
    if move.to_state == "located" and structure is not None and structure.state != "planned":
        raise TransitionNotAllowed(f"structure {structure.id} on it is {structure.state}")
    needs_report = move.to_state == "located" or move.from_state == "planned"
    graph = await blueprints.graph(session)
    if (
        needs_report
        and blueprint_graph.effective_hardware_rules(graph, foundation.blueprint)
        and (
            move.to_state == "built"  # planned → built only without rules (§5.1)
            or await session.get(orm.FoundationHardware, foundation.locator) is None
        )
    ):
        raise HardwareRequired(f"foundation {foundation.locator} has no accepted hardware report")
    now = utcnow()
    if move.to_state == "located":
        foundation.located_at, foundation.built_at = now, None
    else:
        foundation.built_at = now
        if move.from_state == "planned":
            foundation.located_at = now
    foundation.state = move.to_state
    await state_events.foundation(
        session,
        foundation,
        move.from_state,
        job_id=move.job_id,
        reason=move.reason,
        cascade_of=None,
        actor=move.caller.actor(),
    )


async def move_structure(
    session: AsyncSession, structure_id: int, move: Move
) -> tuple[orm.Structure, bool]:
    """Apply a requested structure transition; return the row and whether it was a repeat."""
    structure = await structures.get(session, structure_id, lock=True)
    forced = await _check_request(session, structure, move)
    if forced is None:
        return structure, True
    actor = move.caller.actor()
    if move.to_state == "built":
        structure.state, structure.built_at = "built", utcnow()
        await state_events.structure(
            session, structure, "planned", job_id=move.job_id, cascade_of=None, actor=actor
        )
        await cascades.build_automatic(session, structure, actor)
        await complex_state.refresh_for_structure(session, structure.id, actor)
    else:
        await cascades.destroy_reached(session, structure, move.job_id, actor)
        await cascades.destroy_one(
            session, structure, job_id=move.job_id, reason=move.reason, cascade_of=None, actor=actor
        )
    _finish(session, structure, move, forced)
    await session.flush()
    return structure, False


async def move_dependency(
    session: AsyncSession, dependency_id: int, move: Move
) -> tuple[orm.Dependency, bool]:
    """Apply a requested dependency transition; return the row and whether it was a repeat."""
    dependency = await get_dependency(session, dependency_id, lock=True)
    forced = await _check_request(session, dependency, move)
    if forced is None:
        return dependency, True
    actor = move.caller.actor()
    if move.to_state == "built":
        dependency.state, dependency.built_at = "built", utcnow()
        await state_events.dependency(
            session, dependency, "planned", job_id=move.job_id, cascade_of=None, actor=actor
        )
        await cascades.build_automatic(session, dependency, actor)
    else:
        await cascades.destroy_reached(session, dependency, move.job_id, actor)
        await cascades.destroy_one(
            session,
            dependency,
            job_id=move.job_id,
            reason=move.reason,
            cascade_of=None,
            actor=actor,
        )
    _finish(session, dependency, move, forced)
    await session.flush()
    return dependency, False


async def get_dependency(
    session: AsyncSession, dependency_id: int, *, lock: bool = False
) -> orm.Dependency:
    """Load one dependency.

    Raises:
        ResourceNotFound: No such dependency.
    """
    stmt = select(orm.Dependency).where(orm.Dependency.id == dependency_id)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    found = await session.scalar(stmt)
    if found is None:
        raise ResourceNotFound("dependency", dependency_id)
    return found


async def after_create(session: AsyncSession, foundation: orm.Foundation) -> None:
    """Locate a new foundation whose type says so, or whose complex is already built."""
    ftype = foundations.foundation_type(foundation.type)
    if foundations.located_on_create(ftype, foundation.attributes):
        await complex_state.locate_by_system(session, foundation, "created")
    elif foundation.complex is not None:
        complex_ = await session.get(orm.Complex, foundation.complex)
        if complex_ is not None and complex_.state == "built":
            await complex_state.locate_by_system(session, foundation, "complex")
    await session.flush()
