"""The transition log: one row per state change, with time, actor and reason."""

from __future__ import annotations

from typing import Any

from contractor.inventory import orm
from contractor.servicekit.db import utcnow
from sqlalchemy.ext.asyncio import AsyncSession


def record(
    session: AsyncSession,
    kind: str,
    key: str | int,
    before: str,
    after: str,
    *,
    job_id: int | None,
    forced: bool,
    reason: str,
    actor: dict[str, Any],
) -> None:
    """Add a log row for one transition (flushed with the caller's next flush)."""
    session.add(
        orm.Transition(
            target_kind=kind,
            target_key=str(key),
            from_state=before,
            to_state=after,
            job_id=job_id,
            forced=forced,
            reason=reason,
            actor=actor,
            at=utcnow(),
        )
    )
