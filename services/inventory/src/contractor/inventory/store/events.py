"""Inventory's outbox: one event row per change, in the change's transaction (§10)."""

from __future__ import annotations

from typing import Any

from contractor.inventory import orm
from contractor.servicekit import outbox
from sqlalchemy.ext.asyncio import AsyncSession

SYSTEM_ACTOR: dict[str, Any] = {"kind": "system", "name": "inventory", "role": None}


async def append(
    session: AsyncSession,
    type: str,
    *,
    actor: dict[str, Any],
    subject: tuple[str, str | int],
    site: str | None,
    data: dict[str, Any],
) -> None:
    """Append one event to inventory's outbox (written when the transaction commits)."""
    kind, key = subject
    await outbox.append(
        session,
        orm.events,
        outbox.NewEvent(
            type=type, subject_kind=kind, subject_key=str(key), data=data, actor=actor, site=site
        ),
    )
