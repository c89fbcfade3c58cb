"""A complex's derived state (§3.7) and what follows when it changes (§5.1)."""

from __future__ import annotations

from typing import Any

from contractor.inventory import orm
from contractor.inventory.foundation_types import COMPLEX_TYPES
from contractor.inventory.store import blueprint_graph, blueprints, events, transition_log
from contractor.servicekit.db import utcnow
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession


async def members(session: AsyncSession, name: str) -> list[orm.Structure]:
    """The member structures of a complex, in the order they joined."""
    found = await session.scalars(
        select(orm.Structure)
        .join(orm.ComplexMember, orm.ComplexMember.structure == orm.Structure.id)
        .where(orm.ComplexMember.complex == name)
        .order_by(orm.ComplexMember.id)
    )
    return list(found)


def derive(complex_: orm.Complex, member_rows: list[orm.Structure]) -> str:
    """``planned`` without members; else ``built`` iff enough members are built.

    Types may override: ``always`` built (azure), or built iff the host member is (vcenter).
    """
    ctype = COMPLEX_TYPES[complex_.type]
    if ctype.built == "always":
        return "built"
    if ctype.built == "host" and ctype.host_field is not None:
        host = complex_.attributes.get(ctype.host_field)
        return (
            "built" if any(m.id == host and m.state == "built" for m in member_rows) else "planned"
        )
    if not member_rows:
        return "planned"
    built = sum(1 for m in member_rows if m.state == "built")
    return "built" if built * 100 / len(member_rows) >= complex_.built_percentage else "planned"


def event_data(complex_: orm.Complex, member_rows: list[orm.Structure]) -> dict[str, Any]:
    """The ``complex.*`` payload."""
    return {
        "name": complex_.name,
        "site": complex_.site,
        "type": complex_.type,
        "members": [m.id for m in member_rows],
        "built_members": [m.id for m in member_rows if m.state == "built"],
    }


async def refresh(session: AsyncSession, complex_: orm.Complex, actor: dict[str, Any]) -> None:
    """Re-derive the state; on a change emit its event and locate waiting foundations."""
    member_rows = await members(session, complex_.name)
    state = derive(complex_, member_rows)
    if state == complex_.state:
        return
    complex_.state = state
    await events.append(
        session,
        f"complex.{state}",
        actor=actor,
        subject=("complex", complex_.name),
        site=complex_.site,
        data=event_data(complex_, member_rows),
    )
    if state == "built":
        for foundation in await session.scalars(
            select(orm.Foundation).where(
                orm.Foundation.complex == complex_.name, orm.Foundation.state == "planned"
            )
        ):
            await locate_by_system(session, foundation, "complex")


async def refresh_for_structure(
    session: AsyncSession, structure_id: int, actor: dict[str, Any]
) -> None:
    """Re-derive the complex a structure belongs to, if any."""
    name = await session.scalar(
        select(orm.ComplexMember.complex).where(orm.ComplexMember.structure == structure_id)
    )
    if name is not None:
        complex_ = await session.get(orm.Complex, name)
        if complex_ is not None:
            await refresh(session, complex_, actor)


async def locate_by_system(session: AsyncSession, foundation: orm.Foundation, reason: str) -> bool:
    """Locate a planned foundation automatically, if §5.2's system rules allow it."""
    if foundation.job_id is not None and foundation.job_kind != "create":
        return False
    held = await session.scalar(
        select(func.count())
        .select_from(orm.Structure)
        .where(orm.Structure.foundation == foundation.locator, orm.Structure.job_id.is_not(None))
    )
    if foundation.job_id is None and held:
        return False
    graph = await blueprints.graph(session)
    if blueprint_graph.effective_hardware_rules(graph, foundation.blueprint) and (
        await session.get(orm.FoundationHardware, foundation.locator) is None
    ):
        return False  # needs an accepted hardware report first
    foundation.state, foundation.located_at = "located", utcnow()
    transition_log.record(
        session,
        "foundation",
        foundation.locator,
        "planned",
        "located",
        job_id=None,
        forced=False,
        reason=reason,
        actor=events.SYSTEM_ACTOR,
    )
    await events.append(
        session,
        "foundation.located",
        actor=events.SYSTEM_ACTOR,
        subject=("foundation", foundation.locator),
        site=foundation.site,
        data={
            "locator": foundation.locator,
            "site": foundation.site,
            "blueprint": foundation.blueprint,
            "from": "planned",
            "to": "located",
            "job_id": None,
            "reason": reason,
            "cascade_of": None,
        },
    )
    return True
