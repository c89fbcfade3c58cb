"""Interfaces (§3.5): real ports of foundations; abstract and aggregated ones of structures."""

from __future__ import annotations

from typing import Any

from contractor.inventory import orm
from contractor.inventory.errors import (
    AlreadyExists,
    JobActive,
    MacConflict,
    ResourceNotFound,
    invalid,
)
from contractor.inventory.store import pxes, rows
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

REAL_FIELDS = ("physical_location", "name", "network", "mac", "is_provisioning", "link_name", "pxe")
ABSTRACT_FIELDS = ("name", "network", "kind", "primary", "secondaries", "parameters")


async def of_foundation(session: AsyncSession, locator: str) -> list[orm.Interface]:
    """The real interfaces of a foundation by physical location."""
    found = await session.scalars(
        select(orm.Interface)
        .where(orm.Interface.foundation == locator)
        .order_by(orm.Interface.physical_location)
    )
    return list(found)


async def of_structure(session: AsyncSession, structure_id: int) -> list[orm.Interface]:
    """The abstract interfaces of a structure by name."""
    found = await session.scalars(
        select(orm.Interface)
        .where(orm.Interface.structure == structure_id)
        .order_by(orm.Interface.name)
    )
    return list(found)


async def of_foundation_and_structure(
    session: AsyncSession, locator: str, structure_id: int
) -> tuple[list[orm.Interface], list[orm.Interface]]:
    """:func:`of_foundation` and :func:`of_structure` in one query."""
    found = list(
        await session.scalars(
            select(orm.Interface)
            .where(
                or_(orm.Interface.foundation == locator, orm.Interface.structure == structure_id)
            )
            .order_by(orm.Interface.physical_location, orm.Interface.name)
        )
    )
    # Real ones come by physical location; abstract ones have none, so they come by name.
    real = [i for i in found if i.foundation == locator]
    abstract = [i for i in found if i.structure == structure_id]
    return real, abstract


async def get_real(session: AsyncSession, locator: str, physical_location: str) -> orm.Interface:
    """One real interface.

    Raises:
        ResourceNotFound: No such interface.
    """
    found = await session.scalar(
        select(orm.Interface).where(
            orm.Interface.foundation == locator,
            orm.Interface.physical_location == physical_location,
        )
    )
    if found is None:
        raise ResourceNotFound("interface", f"{locator}/{physical_location}")
    return found


async def get_abstract(session: AsyncSession, structure_id: int, name: str) -> orm.Interface:
    """One abstract interface.

    Raises:
        ResourceNotFound: No such interface.
    """
    found = await session.scalar(
        select(orm.Interface).where(
            orm.Interface.structure == structure_id, orm.Interface.name == name
        )
    )
    if found is None:
        raise ResourceNotFound("interface", f"{structure_id}/{name}")
    return found


def check_free(owner: orm.Foundation | orm.Structure) -> None:
    """A held slot freezes interfaces (§5.5)."""
    if owner.job_id is not None:
        raise JobActive(f"job {owner.job_id} holds the interface's owner")


async def _check_network(
    session: AsyncSession, network_id: int, site: str, loc: list[str | int]
) -> None:
    network = await session.get(orm.Network, network_id)
    if network is None:
        raise invalid([*loc, "network"], f"network {network_id} does not exist")
    if network.site != site:
        raise invalid([*loc, "network"], "the network belongs to another site", "site-mismatch")


async def _check_real(
    session: AsyncSession,
    foundation: orm.Foundation,
    values: dict[str, Any],
    own: int | None,
    loc: list[str | int],
) -> None:
    await _check_network(session, values["network"], foundation.site, loc)
    await pxes.check_exists(session, values.get("pxe"), [*loc, "pxe"])
    for field in ("physical_location", "name"):
        clash = await session.scalar(
            select(orm.Interface.id).where(
                orm.Interface.foundation == foundation.locator,
                getattr(orm.Interface, field) == values[field],
            )
        )
        if clash is not None and clash != own:
            raise AlreadyExists("interface", values[field], field)
    if values.get("mac") is not None:
        clash = await session.scalar(
            select(orm.Interface.id).where(orm.Interface.mac == values["mac"])
        )
        if clash is not None and clash != own:
            raise MacConflict(f"MAC {values['mac']} is used by interface {clash}", interface=clash)
    if values.get("is_provisioning"):
        clash = await session.scalar(
            select(orm.Interface.id).where(
                orm.Interface.foundation == foundation.locator,
                orm.Interface.is_provisioning.is_(True),
            )
        )
        if clash is not None and clash != own:
            raise AlreadyExists("provisioning interface of", foundation.locator, "is_provisioning")


async def create_real(
    session: AsyncSession,
    foundation: orm.Foundation,
    values: dict[str, Any],
    loc: list[str | int] | None = None,
) -> orm.Interface:
    """Add a port to a foundation."""
    check_free(foundation)
    await _check_real(session, foundation, values, None, loc or ["body"])
    iface = orm.Interface(
        kind="real", foundation=foundation.locator, **{f: values.get(f) for f in REAL_FIELDS}
    )
    iface.is_provisioning = bool(values.get("is_provisioning"))
    rows.stamp_new(iface)
    session.add(iface)
    await session.flush()
    return iface


async def update_real(
    session: AsyncSession,
    foundation: orm.Foundation,
    iface: orm.Interface,
    changes: dict[str, Any],
    expected: int | None,
) -> list[str]:
    """Change a port."""
    rows.check_version(iface, expected)
    check_free(foundation)
    merged = {**{f: getattr(iface, f) for f in REAL_FIELDS}, **changes}
    await _check_real(session, foundation, merged, iface.id, ["body"])
    changed = rows.apply_changes(iface, {k: v for k, v in changes.items() if k in REAL_FIELDS})
    await session.flush()
    return changed


async def _check_abstract(
    session: AsyncSession, structure: orm.Structure, values: dict[str, Any], own: int | None
) -> None:
    await _check_network(session, values["network"], structure.site, ["body"])
    real = await of_foundation(session, structure.foundation)
    mine = [i for i in await of_structure(session, structure.id) if i.id != own]
    if values["name"] in {i.name for i in real + mine}:
        raise AlreadyExists("interface", values["name"])
    if values.get("kind") != "aggregated":
        return
    owners = {i.name: i for i in real + mine}
    primary = owners.get(values.get("primary") or "")
    if primary is None:
        raise invalid(["body", "primary"], "primary must name an interface of the same owner")
    for index, name in enumerate(values.get("secondaries") or []):
        other = owners.get(name)
        if other is None or name == primary.name or other.network != primary.network:
            raise invalid(
                ["body", "secondaries", index],
                "secondaries must be other interfaces on the primary's network",
            )


async def create_abstract(
    session: AsyncSession, structure: orm.Structure, values: dict[str, Any]
) -> orm.Interface:
    """Add an abstract or aggregated interface to a structure."""
    check_free(structure)
    await _check_abstract(session, structure, values, None)
    iface = orm.Interface(structure=structure.id, **{f: values.get(f) for f in ABSTRACT_FIELDS})
    iface.secondaries = list(values.get("secondaries") or [])
    iface.parameters = dict(values.get("parameters") or {})
    rows.stamp_new(iface)
    session.add(iface)
    await session.flush()
    return iface


async def update_abstract(
    session: AsyncSession,
    structure: orm.Structure,
    iface: orm.Interface,
    changes: dict[str, Any],
    expected: int | None,
) -> list[str]:
    """Change an abstract interface."""
    rows.check_version(iface, expected)
    check_free(structure)
    updates = {k: v for k, v in changes.items() if k in ABSTRACT_FIELDS and v is not None}
    await _check_abstract(
        session, structure, {**{f: getattr(iface, f) for f in ABSTRACT_FIELDS}, **updates}, iface.id
    )
    changed = rows.apply_changes(iface, updates)
    await session.flush()
    return changed


async def remove(
    session: AsyncSession,
    owner: orm.Foundation | orm.Structure,
    iface: orm.Interface,
    expected: int | None,
) -> None:
    """Delete an interface."""
    rows.check_version(iface, expected)
    check_free(owner)
    await session.delete(iface)
    await session.flush()


async def using_network(session: AsyncSession, network_id: int) -> int:
    """How many interfaces use a network."""
    return int(
        await session.scalar(
            select(func.count())
            .select_from(orm.Interface)
            .where(orm.Interface.network == network_id)
        )
        or 0
    )


def event_data(iface: orm.Interface, changed: list[str], zones: list[str]) -> dict[str, Any]:
    """The ``interface.*`` payload."""
    owner = (
        {"kind": "foundation", "key": str(iface.foundation)}
        if iface.foundation is not None
        else {"kind": "structure", "key": str(iface.structure)}
    )
    return {
        "owner": owner,
        "name": iface.name,
        "physical_location": iface.physical_location,
        "network": iface.network,
        "mac": iface.mac,
        "changed": changed,
        "dns_zones": zones,
    }
