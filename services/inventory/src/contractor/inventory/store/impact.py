"""Impact (§9): every object with a path to a given one, by a breadth-first walk.

Edges point from a dependant to what it needs: structure → its foundation; foundation → its
complex and its gating dependency; complex → each member structure; dependency → its
structure or parent dependency. Keys are compared as text so that one walk spans kinds.
"""

from __future__ import annotations

from typing import Any

from contractor.inventory import orm
from contractor.inventory.store import sites
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

KINDS = ("structure", "foundation", "complex", "dependency")
MAX_DEPTH = 64
CHUNK = 5000


async def walk(
    session: AsyncSession, kind: str, key: str, *, max_depth: int
) -> list[tuple[str, str, int, str]]:
    """``(kind, key, depth, via)`` of everything that depends on the root, shallowest first.

    A breadth-first walk: one indexed query per kind of node on each level (never one per
    node), so the cost follows the size of the answer, not the size of the inventory.
    """
    limit = min(max_depth, MAX_DEPTH)
    best: dict[tuple[str, str], tuple[str, str, int, str]] = {}
    frontier: list[tuple[str, str]]
    if kind == "site":
        roots = await _site_frontier(session, await sites.descendants(session, key), key)
        for row in roots:
            best.setdefault((row[0], row[1]), row)
        frontier = [(k, v) for k, v, _, _ in roots]
        depth = 1
    else:
        frontier, depth = [(kind, key)], 0
    while frontier and depth < limit:
        depth += 1
        found: list[tuple[str, str, int, str]] = []
        for dk, dkey, nk, nkey in await _dependants(session, frontier):
            if (dk, dkey) == (kind, key) or (dk, dkey) in best:
                continue
            row = (dk, dkey, depth, f"{nk}:{nkey}")
            best[(dk, dkey)] = row
            found.append(row)
        frontier = [(k, v) for k, v, _, _ in found]
    return sorted(best.values(), key=lambda item: (item[2], item[0], _sortable(item[1])))


async def _site_frontier(
    session: AsyncSession, names: list[str], root: str
) -> list[tuple[str, str, int, str]]:
    via = f"site:{root}"
    rows: list[tuple[str, str, int, str]] = []
    for row_kind, column, key_column in (
        ("structure", orm.Structure.site, orm.Structure.id),
        ("foundation", orm.Foundation.site, orm.Foundation.locator),
        ("complex", orm.Complex.site, orm.Complex.name),
    ):
        for value in await _in(session, select(key_column), column, names):
            rows.append((row_kind, str(value), 1, via))
    return rows


async def _in(session: AsyncSession, stmt: Any, column: Any, values: list[Any]) -> list[Any]:
    """``stmt`` restricted to ``column IN values``, in chunks (bind parameter limits)."""
    out: list[Any] = []
    for start in range(0, len(values), CHUNK):
        chunk = values[start : start + CHUNK]
        out.extend((await session.execute(stmt.where(column.in_(chunk)))).all())
    return [row[0] if len(row) == 1 else tuple(row) for row in out]


def _ints(keys: list[str]) -> list[int]:
    return [int(k) for k in keys if k.isdigit()]


async def _dependants(
    session: AsyncSession, nodes: list[tuple[str, str]]
) -> list[tuple[str, str, str, str]]:
    """``(dependant kind, dependant key, needed kind, needed key)`` of every edge into nodes."""
    by_kind: dict[str, list[str]] = {}
    for node_kind, node_key in nodes:
        by_kind.setdefault(node_kind, []).append(node_key)
    s, f, d, m = orm.Structure, orm.Foundation, orm.Dependency, orm.ComplexMember
    edges: list[tuple[str, str, str, str]] = []
    if keys := by_kind.get("foundation"):
        for sid, loc in await _in(session, select(s.id, s.foundation), s.foundation, keys):
            edges.append(("structure", str(sid), "foundation", loc))
    if keys := by_kind.get("complex"):
        for loc, name in await _in(session, select(f.locator, f.complex), f.complex, keys):
            edges.append(("foundation", loc, "complex", name))
    if ids := _ints(by_kind.get("structure", [])):
        for name, sid in await _in(session, select(m.complex, m.structure), m.structure, ids):
            edges.append(("complex", name, "structure", str(sid)))
        for did, sid in await _in(session, select(d.id, d.structure), d.structure, ids):
            edges.append(("dependency", str(did), "structure", str(sid)))
    if ids := _ints(by_kind.get("dependency", [])):
        stmt = select(d.foundation, d.id).where(d.foundation.is_not(None))
        for loc, did in await _in(session, stmt, d.id, ids):
            edges.append(("foundation", loc, "dependency", str(did)))
        for did, parent in await _in(session, select(d.id, d.dependency), d.dependency, ids):
            edges.append(("dependency", str(did), "dependency", str(parent)))
    return edges


def _sortable(key: str) -> tuple[int, str]:
    return (0, key.rjust(20, "0")) if key.isdigit() else (1, key)


async def describe(session: AsyncSession, kind: str, key: str) -> dict[str, Any]:
    """``description``, ``site`` and ``state`` of one object."""
    if kind == "structure":
        s = await session.get(orm.Structure, int(key))
        return {"description": s.hostname, "site": s.site, "state": s.state} if s else {}
    if kind == "foundation":
        f = await session.get(orm.Foundation, key)
        return {"description": f.locator, "site": f.site, "state": f.state} if f else {}
    if kind == "complex":
        c = await session.get(orm.Complex, key)
        return {"description": c.description, "site": c.site, "state": c.state} if c else {}
    d = await session.get(orm.Dependency, int(key))
    if d is None:
        return {}
    site = None
    if d.structure is not None:
        on = await session.get(orm.Structure, d.structure)
        site = on.site if on else None
    return {"description": f"dependency {d.id}", "site": site, "state": d.state}


async def describe_many(
    session: AsyncSession, nodes: list[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """:func:`describe` of many objects, one query per kind."""
    by_kind: dict[str, list[str]] = {}
    for node_kind, node_key in nodes:
        by_kind.setdefault(node_kind, []).append(node_key)
    s, f, c, d = orm.Structure, orm.Foundation, orm.Complex, orm.Dependency
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for sid, host, site, state in await _in(
        session,
        select(s.id, s.hostname, s.site, s.state),
        s.id,
        _ints(by_kind.get("structure", [])),
    ):
        out[("structure", str(sid))] = {"description": host, "site": site, "state": state}
    for loc, site, state in await _in(
        session, select(f.locator, f.site, f.state), f.locator, by_kind.get("foundation", [])
    ):
        out[("foundation", loc)] = {"description": loc, "site": site, "state": state}
    for name, text_, site, state in await _in(
        session, select(c.name, c.description, c.site, c.state), c.name, by_kind.get("complex", [])
    ):
        out[("complex", name)] = {"description": text_, "site": site, "state": state}
    stmt = select(d.id, d.state, s.site).outerjoin(s, s.id == d.structure)
    for did, state, site in await _in(session, stmt, d.id, _ints(by_kind.get("dependency", []))):
        out[("dependency", str(did))] = {
            "description": f"dependency {did}",
            "site": site,
            "state": state,
        }
    return out
