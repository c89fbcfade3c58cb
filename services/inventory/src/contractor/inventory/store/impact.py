"""Impact (§9): every object with a path to a given one, by one recursive CTE.

Edges point from a dependant to what it needs: structure → its foundation; foundation → its
complex and its gating dependency; complex → each member structure; dependency → its
structure or parent dependency. Keys are compared as text so that one walk spans kinds.
"""

from __future__ import annotations

from typing import Any

from contractor.inventory import orm
from contractor.inventory.store import sites
from sqlalchemy import Integer, Select, Text, cast, literal, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession

KINDS = ("structure", "foundation", "complex", "dependency")
MAX_DEPTH = 64


def _text(value: Any) -> Any:
    return cast(value, Text)


def _edges() -> Any:
    s, f, d, m = orm.Structure, orm.Foundation, orm.Dependency, orm.ComplexMember

    def edge(dk: str, dkey: Any, nk: str, nkey: Any) -> Select[Any]:
        return select(
            _text(literal(dk)).label("dk"),
            _text(dkey).label("dkey"),
            _text(literal(nk)).label("nk"),
            _text(nkey).label("nkey"),
        )

    return union_all(
        edge("structure", s.id, "foundation", s.foundation),
        edge("foundation", f.locator, "complex", f.complex).where(f.complex.is_not(None)),
        edge("foundation", d.foundation, "dependency", d.id).where(d.foundation.is_not(None)),
        edge("complex", m.complex, "structure", m.structure),
        edge("dependency", d.id, "structure", d.structure).where(d.structure.is_not(None)),
        edge("dependency", d.id, "dependency", d.dependency).where(d.dependency.is_not(None)),
    ).cte("edges")


def _site_roots(names: list[str], via: str) -> Select[Any]:
    def root(kind: str, key: Any, site_column: Any) -> Select[Any]:
        return select(
            _text(literal(kind)).label("kind"),
            _text(key).label("key"),
            cast(literal(1), Integer).label("depth"),
            _text(literal(via)).label("via"),
        ).where(site_column.in_(names))

    return union_all(
        root("structure", orm.Structure.id, orm.Structure.site),
        root("foundation", orm.Foundation.locator, orm.Foundation.site),
        root("complex", orm.Complex.name, orm.Complex.site),
    )  # type: ignore[return-value]


async def walk(
    session: AsyncSession, kind: str, key: str, *, max_depth: int
) -> list[tuple[str, str, int, str]]:
    """``(kind, key, depth, via)`` of everything that depends on the root, shallowest first."""
    edges = _edges()
    if kind == "site":
        anchor: Select[Any] = select(
            _site_roots(await sites.descendants(session, key), f"site:{key}").subquery()
        )
    else:
        anchor = select(
            _text(literal(kind)).label("kind"),
            _text(literal(key)).label("key"),
            cast(literal(0), Integer).label("depth"),
            _text(literal("")).label("via"),
        )
    impact = anchor.cte("impact", recursive=True)
    step = select(
        edges.c.dk,
        edges.c.dkey,
        impact.c.depth + 1,
        _text(impact.c.kind + literal(":") + impact.c.key),
    ).where(
        edges.c.nk == impact.c.kind,
        edges.c.nkey == impact.c.key,
        impact.c.depth < min(max_depth, MAX_DEPTH),
    )
    impact = impact.union_all(step)
    rows = (
        await session.execute(
            select(impact.c.kind, impact.c.key, impact.c.depth, impact.c.via).order_by(
                impact.c.depth
            )
        )
    ).all()
    best: dict[tuple[str, str], tuple[str, str, int, str]] = {}
    for row_kind, row_key, depth, via in rows:
        if depth == 0 or (row_kind, row_key) == (kind, key):
            continue
        best.setdefault((row_kind, row_key), (row_kind, row_key, int(depth), via))
    return sorted(best.values(), key=lambda item: (item[2], item[0], _sortable(item[1])))


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
