"""The rows a config merge is made of, in one round trip.

A merge reads a site chain (the site and its ancestors, root first), the blueprint graph (every
blueprint: they are few, and chains derive from the whole graph) and the target's own rows.
Each was a query of its own, and on PostgreSQL every query is a network round trip. Here one
statement brings them: a recursive CTE walks the site chain, a ``UNION ALL`` of keys lists the
chain's sites (depth ≥ 0) and then every blueprint (depth −1), and each key is ``LEFT JOIN``-ed
to its row, so a row carries a site or a blueprint, never both, and no row is sent twice.
The target's own rows join on the depth-0 key only (``NULL`` on the others).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from contractor.inventory import orm
from sqlalchemy import and_, bindparam, literal_column, null, select, union_all
from sqlalchemy.ext.asyncio import AsyncSession


def _site_chain_cte(start: Any) -> Any:
    """The site named by ``start`` (a SQL expression) and its ancestors, with their depth."""
    chain = (
        select(orm.Site.name, orm.Site.parent, literal_column("0").label("depth"))
        .where(orm.Site.name == start)
        .cte("chain", recursive=True)
    )
    return chain.union_all(
        select(orm.Site.name, orm.Site.parent, chain.c.depth + 1)
        .join(chain, orm.Site.name == chain.c.parent)
        .where(chain.c.depth < 16)
    )


def _site_chain_statement() -> Any:
    chain = _site_chain_cte(bindparam("site_name"))
    return (
        select(orm.Site).join(chain, orm.Site.name == chain.c.name).order_by(chain.c.depth.desc())
    )


SITE_CHAIN = _site_chain_statement()
"""The site ``site_name`` and its ancestors, root first (built once: building the CTE costs
~1 ms)."""


def _keys(chain: Any) -> Any:
    return union_all(
        select(chain.c.name.label("site"), null().label("blueprint"), chain.c.depth),
        select(null(), orm.Blueprint.name, literal_column("-1")),
    ).subquery("keys")


def _with_graph(chain: Any, *extra: Any) -> Any:
    keys = _keys(chain)
    return (
        select(orm.Site, orm.Blueprint, *extra)
        .select_from(keys)
        .outerjoin(orm.Site, orm.Site.name == keys.c.site)
        .outerjoin(orm.Blueprint, orm.Blueprint.name == keys.c.blueprint)
        .order_by(keys.c.depth.desc())
    ), keys


@dataclass(frozen=True)
class Chains:
    """A site chain (root first; empty: no such site) and the whole blueprint graph."""

    sites: list[orm.Site]
    graph: dict[str, orm.Blueprint]


def _chains(rows: Sequence[Any]) -> Chains:
    return Chains(
        sites=[row[0] for row in rows if row[0] is not None],
        graph={row[1].name: row[1] for row in rows if row[1] is not None},
    )


def _foundation_create_statement() -> Any:
    taken = (
        select(orm.Foundation.locator)
        .where(orm.Foundation.locator == bindparam("locator"))
        .exists()
        .label("taken")
    )
    statement, _ = _with_graph(_site_chain_cte(bindparam("site_name")), taken)
    return statement


_FOUNDATION_CREATE = _foundation_create_statement()


async def for_foundation_create(
    session: AsyncSession, site: str, locator: str
) -> tuple[Chains, bool | None]:
    """A new foundation's site chain and the graph; and whether ``locator`` is taken.

    ``None`` for "taken" when the statement found no row at all (no such site, no
    blueprint), which cannot carry the answer.
    """
    rows = (
        await session.execute(_FOUNDATION_CREATE, {"site_name": site, "locator": locator})
    ).all()
    return _chains(rows), (bool(rows[0].taken) if rows else None)


def _structure_statement() -> Any:
    structure_site = (
        select(orm.Structure.site)
        .where(orm.Structure.id == bindparam("structure_id"))
        .scalar_subquery()
    )
    statement, keys = _with_graph(
        _site_chain_cte(structure_site), orm.Structure, orm.Foundation, orm.FoundationHardware
    )
    return (
        statement.outerjoin(
            orm.Structure,
            and_(keys.c.depth == 0, orm.Structure.id == bindparam("structure_id")),
        )
        .outerjoin(orm.Foundation, orm.Foundation.locator == orm.Structure.foundation)
        .outerjoin(
            orm.FoundationHardware, orm.FoundationHardware.foundation == orm.Foundation.locator
        )
    )


_STRUCTURE = _structure_statement()


@dataclass(frozen=True)
class StructureRows:
    """A structure and the rows its config is made of (see `for_structure`).

    ``hardware`` is the foundation's accepted hardware row, ``None`` when it has none: known
    absent, which the identity map cannot say (a ``session.get`` of a missing row is a query).
    """

    structure: orm.Structure
    foundation: orm.Foundation
    hardware: orm.FoundationHardware | None
    chains: Chains


async def for_structure(session: AsyncSession, structure_id: int) -> StructureRows | None:
    """A structure with the rows its config is made of, or ``None`` (no such structure).

    Its foundation and that one's accepted hardware, its site chain and the blueprint graph:
    one query instead of five.
    """
    rows = (await session.execute(_STRUCTURE, {"structure_id": structure_id})).all()
    own = next((row for row in rows if row[2] is not None), None)
    if own is None:
        return None
    structure, foundation, hardware = own[2], own[3], own[4]
    assert foundation is not None  # a foreign key guarantees it
    return StructureRows(structure, foundation, hardware, _chains(rows))
