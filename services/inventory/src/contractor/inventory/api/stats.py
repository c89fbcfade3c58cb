"""Statistics (§9): how many targets each blueprint has, by state."""

from __future__ import annotations

from typing import Any, Literal

from contractor.inventory import orm, store
from contractor.inventory.deps import Reader, SessionDep
from fastapi import APIRouter
from sqlalchemy import func, select

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
