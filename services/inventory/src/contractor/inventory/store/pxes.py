"""PXE profiles (§3.3): what a port or a DHCP pool boots."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contractor.inventory import orm
from contractor.inventory.errors import AlreadyExists, InUse, ResourceNotFound, invalid
from contractor.inventory.store import listing, rows
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession


async def get(session: AsyncSession, name: str) -> orm.Pxe:
    """Load one PXE profile.

    Raises:
        ResourceNotFound: No such profile.
    """
    found = await session.get(orm.Pxe, name)
    if found is None:
        raise ResourceNotFound("pxe", name)
    return found


async def list_page(
    session: AsyncSession, *, limit: int, cursor: str | None
) -> tuple[list[orm.Pxe], str | None]:
    """One page of profiles by name."""
    return await listing.page(session, select(orm.Pxe), orm.Pxe.name, limit=limit, cursor=cursor)


async def names(session: AsyncSession) -> list[str]:
    """Every profile name."""
    return sorted(await session.scalars(select(orm.Pxe.name)))


async def check_exists(session: AsyncSession, name: str | None, loc: Sequence[str | int]) -> None:
    """422 naming ``loc`` if ``name`` is given and no such profile exists."""
    if name is not None and await session.get(orm.Pxe, name) is None:
        raise invalid(list(loc), f"PXE profile {name} does not exist")


async def create(session: AsyncSession, values: dict[str, Any]) -> orm.Pxe:
    """Create a profile."""
    if await session.get(orm.Pxe, values["name"]) is not None:
        raise AlreadyExists("pxe", values["name"])
    pxe = orm.Pxe(**values)
    rows.stamp_new(pxe)
    session.add(pxe)
    await session.flush()
    return pxe


async def update(
    session: AsyncSession, pxe: orm.Pxe, changes: dict[str, Any], expected: int | None
) -> list[str]:
    """Apply a PATCH."""
    rows.check_version(pxe, expected)
    changed = rows.apply_changes(
        pxe, {k: v for k, v in changes.items() if v is not None or k == "description"}
    )
    await session.flush()
    return changed


async def delete(session: AsyncSession, pxe: orm.Pxe, expected: int | None) -> None:
    """Delete a profile no interface or dynamic address refers to."""
    rows.check_version(pxe, expected)
    ports = await session.scalar(
        select(func.count()).select_from(orm.Interface).where(orm.Interface.pxe == pxe.name)
    )
    pools = await session.scalar(
        select(func.count()).select_from(orm.Address).where(orm.Address.pxe == pxe.name)
    )
    if ports or pools:
        raise InUse(f"pxe {pxe.name} is in use", interfaces=ports or 0, addresses=pools or 0)
    await session.delete(pxe)
    await session.flush()
