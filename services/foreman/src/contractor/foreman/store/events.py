"""Foreman's outbox events (decision 3; spec §11 events feed)."""

from __future__ import annotations

from typing import Any

from contractor.foreman import orm
from contractor.servicekit import outbox
from sqlalchemy.ext.asyncio import AsyncSession


def actor_json(actor: str) -> dict[str, Any]:
    """The event ``actor`` object of a job-log actor string (``user:alice``)."""
    kind, _, name = actor.partition(":")
    return {"kind": kind, "name": name or kind}


async def append(
    session: AsyncSession,
    event_type: str,
    *,
    subject: tuple[str, str],
    data: dict[str, Any],
    actor: str,
    site: str | None = None,
) -> None:
    """Append one event in the caller's transaction (written when it commits)."""
    new = outbox.NewEvent(
        type=event_type,
        subject_kind=subject[0],
        subject_key=subject[1],
        data=data,
        actor=actor_json(actor),
        site=site,
    )
    await outbox.append(session, orm.events, new)
