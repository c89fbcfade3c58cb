"""Statistics (§9): how many targets each blueprint has, by state; what groups use."""

from __future__ import annotations

from typing import Any, Literal

from contractor.inventory import orm, store
from contractor.inventory.deps import Reader, SessionDep
from contractor.inventory.schemas.stats import UsageRow
from fastapi import APIRouter
from sqlalchemy import Select, and_, func, or_, select

router = APIRouter(tags=["stats"])


@router.get("/stats/blueprints")
async def blueprint_stats(
    session: SessionDep,
    _: Reader,
    kind: Literal["structure", "foundation"] = "structure",
    site: str | None = None,
    site_tree: bool = False,
    ancestor: str | None = None,
) -> list[dict[str, Any]]:
    """Count targets per blueprint and state (with a total row when `ancestor` is given)."""
    graph = await store.blueprints.graph(session)
    names = sorted(n for n, bp in graph.items() if bp.kind == kind)
    if ancestor is not None:
        names = sorted(set(names) & store.blueprint_graph.descendants(graph, ancestor))
    table: Any = orm.Structure if kind == "structure" else orm.Foundation
    stmt = select(table.blueprint, table.state, func.count()).group_by(table.blueprint, table.state)
    if site is not None:
        sites = await store.sites.descendants(session, site) if site_tree else [site]
        stmt = stmt.where(table.site.in_(sites))
    counts: dict[str, dict[str, int]] = {}
    for blueprint, state, count in (await session.execute(stmt)).all():
        counts.setdefault(blueprint, {})[state] = int(count)
    rows = [_row(name, kind, counts.get(name, {})) for name in names]
    if ancestor is not None:
        total = {s: sum(r[s] for r in rows) for s in ("total", "planned", "located", "built")}
        rows.append({"blueprint": "total", "kind": kind, **total})
    return rows


def _row(name: str, kind: str, by_state: dict[str, int]) -> dict[str, Any]:
    states = {s: by_state.get(s, 0) for s in ("planned", "located", "built")}
    return {"blueprint": name, "kind": kind, "total": sum(states.values()), **states}


@router.get("/stats/usage")
async def usage_stats(
    session: SessionDep,
    _: Reader,
    group_by: Literal["complex", "site", "blueprint"] = "site",
    blueprint: str | None = None,
    complex: str | None = None,
    site: str | None = None,
    site_tree: bool = False,
) -> list[UsageRow]:
    """Sum foundations' `resources` per complex, site or blueprint.

    `blueprint` keeps foundations whose own blueprint, or whose structure's blueprint, is the
    one named ("what does service X use"). Grouping by blueprint uses the structure's
    blueprint where there is a structure, else the foundation's (one name space, §3.2).
    `addresses` counts static addresses of their structures that hold an IP of their own
    (pointer addresses share their host's). Rows are ordered by group; null (no complex) last.
    """
    f, s = orm.Foundation, orm.Structure
    group: Any = {
        "complex": f.complex,
        "site": f.site,
        "blueprint": func.coalesce(s.blueprint, f.blueprint),
    }[group_by]
    sites = None
    if site is not None:
        sites = await store.sites.descendants(session, site) if site_tree else [site]

    def scoped(stmt: Select[Any]) -> Select[Any]:
        if blueprint is not None:
            stmt = stmt.where(or_(f.blueprint == blueprint, s.blueprint == blueprint))
        if complex is not None:
            stmt = stmt.where(f.complex == complex)
        if sites is not None:
            stmt = stmt.where(f.site.in_(sites))
        return stmt.group_by(group)

    totals = scoped(
        select(
            group,
            func.count(f.locator),
            func.count(s.id),
            func.coalesce(func.sum(f.cpu_count), 0),
            func.coalesce(func.sum(f.memory_mb), 0),
            func.coalesce(func.sum(f.disk_gb), 0),
        )
        .select_from(f)
        .outerjoin(s, s.foundation == f.locator)
    )
    address = orm.Address
    counted = scoped(
        select(group, func.count(address.id))
        .select_from(f)
        .join(s, s.foundation == f.locator)
        .join(
            address,
            and_(
                address.structure == s.id,
                address.kind == "address",
                address.address_block.is_not(None),
            ),
        )
    )
    addresses = {name: int(n) for name, n in (await session.execute(counted)).all()}
    rows = [
        UsageRow(
            group=name,
            foundations=int(foundations),
            structures=int(structures),
            cpu_count=int(cpu),
            memory_mb=int(memory),
            disk_gb=int(disk),
            addresses=addresses.get(name, 0),
        )
        for name, foundations, structures, cpu, memory, disk in (
            await session.execute(totals)
        ).all()
    ]
    return sorted(rows, key=lambda row: (row.group is None, row.group or ""))
