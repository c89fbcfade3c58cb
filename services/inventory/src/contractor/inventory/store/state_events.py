"""Payloads of state-change events (§10): ``*.located|built|destroyed``."""

from __future__ import annotations

from typing import Any

from contractor.inventory import orm
from contractor.inventory.store import events
from sqlalchemy.ext.asyncio import AsyncSession

Cascade = dict[str, str] | None
NAMES = {"located": "located", "built": "built", "planned": "destroyed"}


async def foundation(
    session: AsyncSession,
    row: orm.Foundation,
    before: str,
    *,
    job_id: int | None,
    reason: str,
    cascade_of: Cascade,
    actor: dict[str, Any],
) -> None:
    """Emit ``foundation.located|built|destroyed``."""
    await events.append(
        session,
        f"foundation.{NAMES[row.state]}",
        actor=actor,
        subject=("foundation", row.locator),
        site=row.site,
        data={
            "locator": row.locator,
            "site": row.site,
            "blueprint": row.blueprint,
            "from": before,
            "to": row.state,
            "job_id": job_id,
            "reason": reason,
            "cascade_of": cascade_of,
        },
    )


async def structure(
    session: AsyncSession,
    row: orm.Structure,
    before: str,
    *,
    job_id: int | None,
    cascade_of: Cascade,
    actor: dict[str, Any],
) -> None:
    """Emit ``structure.built|destroyed``."""
    site = await session.get(orm.Site, row.site)
    zone = site.zone if site is not None else None
    await events.append(
        session,
        f"structure.{NAMES[row.state]}",
        actor=actor,
        subject=("structure", row.id),
        site=row.site,
        data={
            "id": row.id,
            "hostname": row.hostname,
            "fqdn": f"{row.hostname}.{zone}" if zone else row.hostname,
            "site": row.site,
            "blueprint": row.blueprint,
            "foundation": row.foundation,
            "from": before,
            "to": row.state,
            "job_id": job_id,
            "config_uuid": row.config_uuid,
            "cascade_of": cascade_of,
        },
    )


async def dependency(
    session: AsyncSession,
    row: orm.Dependency,
    before: str,
    *,
    job_id: int | None,
    cascade_of: Cascade,
    actor: dict[str, Any],
) -> None:
    """Emit ``dependency.built|destroyed``."""
    await events.append(
        session,
        f"dependency.{NAMES[row.state]}",
        actor=actor,
        subject=("dependency", row.id),
        site=await site_of_dependency(session, row),
        data={
            "id": row.id,
            "structure": row.structure,
            "dependency": row.dependency,
            "foundation": row.foundation,
            "link": row.link,
            "from": before,
            "to": row.state,
            "job_id": job_id,
            "cascade_of": cascade_of,
        },
    )


async def site_of_dependency(session: AsyncSession, row: orm.Dependency) -> str | None:
    """The site of the structure (or gated foundation) a dependency is about."""
    if row.structure is not None:
        found = await session.get(orm.Structure, row.structure)
        return found.site if found is not None else None
    if row.foundation is not None:
        gated = await session.get(orm.Foundation, row.foundation)
        return gated.site if gated is not None else None
    return None
