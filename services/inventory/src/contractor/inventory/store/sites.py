"""Sites: create, read, list, change and delete (§3.1)."""

from __future__ import annotations

from typing import Any

from contractor.inventory import orm
from contractor.inventory.errors import (
    AlreadyExists,
    HostnameConflict,
    InUse,
    ResourceNotFound,
    invalid,
)
from contractor.inventory.store import config_values, listing, rows
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

MAX_DEPTH = 16


async def get(session: AsyncSession, name: str, *, lock: bool = False) -> orm.Site:
    """Load one site.

    Raises:
        ResourceNotFound: No such site.
    """
    stmt = select(orm.Site).where(orm.Site.name == name)
    if lock:
        stmt = stmt.with_for_update()
    site = await session.scalar(stmt)
    if site is None:
        raise ResourceNotFound("site", name)
    return site


async def list_page(
    session: AsyncSession, *, parent: str | None, limit: int, cursor: str | None
) -> tuple[list[orm.Site], str | None]:
    """One page of sites ordered by name, optionally only the children of ``parent``."""
    stmt = select(orm.Site)
    if parent is not None:
        stmt = stmt.where(orm.Site.parent == parent)
    return await listing.page(session, stmt, orm.Site.name, limit=limit, cursor=cursor)


async def descendants(session: AsyncSession, name: str) -> list[str]:
    """``name`` and the names of every site below it."""
    children: dict[str | None, list[str]] = {}
    for site_name, parent in (await session.execute(select(orm.Site.name, orm.Site.parent))).all():
        children.setdefault(parent, []).append(site_name)
    found, todo = [], [name]
    while todo:
        current = todo.pop()
        found.append(current)
        todo.extend(children.get(current, []))
    return found


async def _check_parent(session: AsyncSession, name: str, parent: str | None) -> None:
    depth, current = 1, parent
    while current is not None:
        if current == name:
            raise invalid(["body", "parent"], "the parent chain would be a cycle", "cycle")
        depth += 1
        if depth > MAX_DEPTH:
            raise invalid(["body", "parent"], "sites nest at most 16 deep")
        row = await session.get(orm.Site, current)
        if row is None:
            raise invalid(["body", "parent"], f"site {current} does not exist")
        current = row.parent


async def create(session: AsyncSession, values: dict[str, Any]) -> orm.Site:
    """Create a site from validated body values."""
    if await session.get(orm.Site, values["name"]) is not None:
        raise AlreadyExists("site", values["name"])
    await _check_parent(session, values["name"], values.get("parent"))
    config_values.check(values.get("config_values") or {}, ["body", "config_values"])
    site = orm.Site(**values)
    rows.stamp_new(site)
    session.add(site)
    await session.flush()
    return site


async def update(
    session: AsyncSession, site: orm.Site, changes: dict[str, Any], expected_version: int | None
) -> list[str]:
    """Apply a PATCH; return the names of the fields that changed."""
    rows.check_version(site, expected_version)
    if "parent" in changes:
        await _check_parent(session, site.name, changes["parent"])
    if changes.get("config_values") is not None:
        config_values.check(changes["config_values"], ["body", "config_values"])
    if "zone" in changes and changes["zone"] != site.zone and changes["zone"] is not None:
        await _check_zone_hostnames(session, site.name, changes["zone"])
    changed = rows.apply_changes(site, changes)
    await session.flush()
    return changed


async def _check_zone_hostnames(session: AsyncSession, site: str, zone: str) -> None:
    mine = select(orm.Structure.hostname).where(orm.Structure.site == site)
    others = (
        select(orm.Structure.id, orm.Structure.hostname, orm.Structure.site)
        .join(orm.Site, orm.Site.name == orm.Structure.site)
        .where(orm.Site.zone == zone, orm.Site.name != site, orm.Structure.hostname.in_(mine))
    )
    found = (await session.execute(others)).all()
    if found:
        clashes = [{"id": sid, "hostname": name, "site": other} for sid, name, other in found]
        raise HostnameConflict(found[0][1], clashes)


async def delete(session: AsyncSession, site: orm.Site, expected_version: int | None) -> None:
    """Delete a site nothing refers to."""
    rows.check_version(site, expected_version)
    counts = {
        "sites": await _count(session, orm.Site.parent == site.name),
        "foundations": await _count(session, orm.Foundation.site == site.name),
        "structures": await _count(session, orm.Structure.site == site.name),
        "complexes": await _count(session, orm.Complex.site == site.name),
        "networks": await _count(session, orm.Network.site == site.name),
        "address_blocks": await _count(session, orm.AddressBlock.site == site.name),
        "tokens": sum(
            1
            for scope in (
                await session.scalars(select(orm.Token.sites).where(orm.Token.revoked_at.is_(None)))
            )
            if site.name in (scope or [])
        ),
    }
    if any(counts.values()):
        raise InUse(f"site {site.name} is in use", **counts)
    await session.delete(site)
    await session.flush()


async def _count(session: AsyncSession, condition: Any) -> int:
    table = condition.left.table
    return int(await session.scalar(select(func.count()).select_from(table).where(condition)) or 0)
