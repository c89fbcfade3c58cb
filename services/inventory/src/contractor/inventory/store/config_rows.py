"""The rows a config merge is made of, in one round trip.

A merge reads a site chain (the site and its ancestors, root first), a blueprint chain and the
target's own rows. Each was a query of its own (the blueprint one loading every blueprint), and
on PostgreSQL every query is a network round trip. Here one statement brings them: one
recursive CTE walks the site chain by ``parent``, another the blueprint and its ancestors
through the JSON ``parents`` lists (``json_array_elements_text`` on PostgreSQL, ``json_each``
on SQLite, so the statement is built per dialect); a ``UNION ALL`` of keys lists the chain's
sites (depth ≥ 0) and then the blueprints (depth −1), and each key is ``LEFT JOIN``-ed to its
row, so a row carries a site or a blueprint, never both, and no row is sent twice. The
target's own rows join on the depth-0 key only (``NULL`` on the others).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from contractor.inventory import config, orm
from sqlalchemy import (
    LargeBinary,
    String,
    Text,
    and_,
    bindparam,
    cast,
    func,
    literal_column,
    null,
    select,
    true,
    union_all,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
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


def _blueprint_chain_cte(dialect: str, start: Any) -> Any:
    """The blueprint named by ``start`` (a SQL expression) and all its ancestors' names."""
    # Both terms as TEXT: PostgreSQL wants one type, and the names in JSON come as text.
    found = select(cast(start, Text).label("name")).cte("blueprint_chain", recursive=True)
    expand = "json_array_elements_text" if dialect == "postgresql" else "json_each"
    parents = getattr(func, expand)(orm.Blueprint.parents).table_valued("value")
    step = (
        select(cast(parents.c.value, Text))
        .select_from(orm.Blueprint)
        .join(found, orm.Blueprint.name == found.c.name)
        .join(parents, true())
    )
    return found.union(step)  # UNION, not ALL: a diamond's shared ancestor comes once


def _keys(sites: Any, blueprints: Any) -> Any:
    return union_all(
        select(sites.c.name.label("site"), null().label("blueprint"), sites.c.depth),
        select(null(), blueprints.c.name, literal_column("-1")),
    ).subquery("keys")


def _with_chains(sites: Any, blueprints: Any, *extra: Any) -> Any:
    keys = _keys(sites, blueprints)
    return (
        select(orm.Site, orm.Blueprint, *extra)
        .select_from(keys)
        .outerjoin(orm.Site, orm.Site.name == keys.c.site)
        .outerjoin(orm.Blueprint, orm.Blueprint.name == keys.c.blueprint)
        .order_by(keys.c.depth.desc())
    ), keys


@dataclass(frozen=True)
class Chains:
    """A site chain (root first; empty: no such site) and a blueprint with its ancestors.

    ``graph`` is that part of the blueprint graph by name (empty: no such blueprint): all a
    blueprint chain is made of (see ``configs.chain_of``).
    """

    sites: list[orm.Site]
    graph: dict[str, orm.Blueprint]


def _chains(rows: Sequence[Any]) -> Chains:
    return Chains(
        sites=[row[0] for row in rows if row[0] is not None],
        graph={row[1].name: row[1] for row in rows if row[1] is not None},
    )


def _for_dialect(build: Callable[[str], Any]) -> Callable[[AsyncSession], Any]:
    """``build(dialect name)``, built once per dialect (building costs about a millisecond)."""
    built: dict[str, Any] = {}

    def statement(session: AsyncSession) -> Any:
        dialect = session.get_bind().dialect.name
        if dialect not in built:
            built[dialect] = build(dialect)
        return built[dialect]

    return statement


def _foundation_create_keys(dialect: str) -> Any:
    """The keys of a create's chains: the site ``site_name`` and ``blueprint`` (parameters)."""
    return _keys(
        _site_chain_cte(bindparam("site_name")),
        _blueprint_chain_cte(dialect, bindparam("blueprint", type_=String)),
    )


def _fingerprint(keys: Any) -> Any:
    """PostgreSQL: a SHA-256 digest of every row a create reads from its chains.

    Each key (site and depth, or blueprint name) with the columns `for_foundation_create`
    reads from its row (``NULL`` for a blueprint named but missing), in a fixed order, as one
    JSON text: equal digests mean equal rows. A scalar subquery with a ``FROM`` of its own
    (``keys`` is usually in the enclosing query too).
    """
    sites = orm.Site.__table__.alias("fingerprint_sites")
    blueprints = orm.Blueprint.__table__.alias("fingerprint_blueprints")
    row = func.json_build_array(
        keys.c.depth,
        keys.c.site,
        keys.c.blueprint,
        sites.c.config_values,
        blueprints.c.name,
        blueprints.c.kind,
        blueprints.c.parents,
        blueprints.c.foundation_types,
        blueprints.c.config_values,
    )
    rows = func.json_agg(
        aggregate_order_by(row, keys.c.depth.desc(), keys.c.site, keys.c.blueprint)
    )
    digest = func.sha256(func.convert_to(cast(rows, Text), literal_column("'UTF8'")))
    return (
        select(digest.cast(LargeBinary))
        .select_from(keys)
        .outerjoin(sites, sites.c.name == keys.c.site)
        .outerjoin(blueprints, blueprints.c.name == keys.c.blueprint)
        .correlate(None)
        .scalar_subquery()
    )


def foundation_create_fingerprint() -> Any:
    """`_fingerprint` of a create's chains, for a statement's ``WHERE`` (PostgreSQL).

    Parameters ``site_name`` and ``blueprint``, as in `for_foundation_create`.
    """
    return _fingerprint(_foundation_create_keys("postgresql"))


def _foundation_create_statement(dialect: str) -> Any:
    taken = (
        select(orm.Foundation.locator)
        .where(orm.Foundation.locator == bindparam("locator"))
        .exists()
        .label("taken")
    )
    keys = _foundation_create_keys(dialect)
    sites, blueprints = orm.Site.__table__, orm.Blueprint.__table__
    # On PostgreSQL the rows come with their fingerprint: a later create on the same site and
    # blueprint can then skip this read (see `KnownChains`). SQLite has no SHA-256.
    fingerprint = (
        _fingerprint(keys) if dialect == "postgresql" else null().cast(LargeBinary)
    ).label("fingerprint")
    # Plain columns, only those a create reads: no ORM objects to build and fewer JSON values
    # to decode (a blueprint row carries seven JSON columns).
    return (
        select(
            sites.c.name.label("site_name"),
            sites.c.config_values.label("site_values"),
            blueprints.c.name.label("blueprint_name"),
            blueprints.c.kind,
            blueprints.c.parents,
            blueprints.c.foundation_types,
            blueprints.c.config_values.label("blueprint_values"),
            taken,
            fingerprint,
        )
        .select_from(keys)
        .outerjoin(sites, sites.c.name == keys.c.site)
        .outerjoin(blueprints, blueprints.c.name == keys.c.blueprint)
        .order_by(keys.c.depth.desc())
    )


_FOUNDATION_CREATE = _for_dialect(_foundation_create_statement)


@dataclass(frozen=True)
class BlueprintFacts:
    """The columns of a blueprint a foundation create reads."""

    name: str
    kind: str
    parents: list[str]
    foundation_types: list[str]
    config_values: dict[str, Any]


@dataclass(frozen=True)
class NewFoundationRows:
    """What a new foundation is checked and sized with (see `for_foundation_create`).

    ``sites`` is its site chain, root first (empty: no such site); ``blueprints`` its blueprint
    and that one's ancestors by name (none: no such blueprint). ``taken`` tells whether the
    locator is taken; ``None`` when no row came back at all (no such site and no such
    blueprint), which cannot carry the answer.
    """

    sites: list[config.Source]
    blueprints: dict[str, BlueprintFacts]
    taken: bool | None
    fingerprint: bytes | None = None
    """PostgreSQL: the digest of these rows (`_fingerprint`); ``None`` on SQLite."""

    def blueprint_chain(self, name: str) -> list[BlueprintFacts]:
        """The chain of ``name``, root first, as the merge takes it (``configs.chain_of``)."""
        parents = self.blueprints
        names = config.blueprint_chain(
            name, lambda n: list(parents[n].parents) if n in parents else []
        )
        return [parents[n] for n in names]


async def for_foundation_create(
    session: AsyncSession, site: str, blueprint: str, locator: str
) -> NewFoundationRows:
    """A new foundation's site and blueprint chains, and whether ``locator`` is taken.

    Plain rows, not ORM objects: a create only checks them and merges their values. Run on the
    session's connection, in its transaction, as a Core statement.
    """
    connection = await session.connection()
    rows = (
        await connection.execute(
            _FOUNDATION_CREATE(session),
            {"site_name": site, "blueprint": blueprint, "locator": locator},
        )
    ).all()
    return NewFoundationRows(
        sites=[
            config.Source(row.site_name, row.site_values)
            for row in rows
            if row.site_name is not None
        ],
        blueprints={
            row.blueprint_name: BlueprintFacts(
                row.blueprint_name,
                row.kind,
                row.parents,
                row.foundation_types,
                row.blueprint_values,
            )
            for row in rows
            if row.blueprint_name is not None
        },
        taken=bool(rows[0].taken) if rows else None,
        fingerprint=rows[0].fingerprint if rows else None,
    )


KNOWN_CHAINS = "contractor.inventory.known_chains"
"""The session ``info`` key of the app's `KnownChains` (set on its write sessions)."""


@dataclass
class Known:
    """The rows a create read for a site and blueprint, and what was computed from them."""

    rows: NewFoundationRows
    fingerprint: bytes
    sizing: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The merged sizing config (``resources``) by foundation type, filled in as used."""


class KnownChains:
    """The chains of recent creates by (site, blueprint), each with its fingerprint.

    A create whose site and blueprint are known checks itself against these rows and inserts
    its row only if the chains still have the same fingerprint, in the ``INSERT``'s own
    statement (``store.foundations``): a read saved, never a stale answer. At most ``size``
    pairs are kept (the oldest go first). One per app, in its sessions' ``info``.
    """

    def __init__(self, size: int = 256) -> None:
        self._size = size
        self._known: dict[tuple[str, str], Known] = {}

    def get(self, site: str, blueprint: str) -> Known | None:
        """What was read for this pair, if kept."""
        return self._known.get((site, blueprint))

    def remember(self, site: str, blueprint: str, rows: NewFoundationRows) -> None:
        """Keep what a create read (only rows with a fingerprint, i.e. on PostgreSQL)."""
        if rows.fingerprint is None:
            return
        key = (site, blueprint)
        self._known.pop(key, None)
        if len(self._known) >= self._size:
            del self._known[next(iter(self._known))]
        self._known[key] = Known(rows, rows.fingerprint)


def _structure_statement(dialect: str) -> Any:
    def of_structure(column: Any) -> Any:
        return select(column).where(orm.Structure.id == bindparam("structure_id")).scalar_subquery()

    statement, keys = _with_chains(
        _site_chain_cte(of_structure(orm.Structure.site)),
        _blueprint_chain_cte(dialect, of_structure(orm.Structure.blueprint)),
        orm.Structure,
        orm.Foundation,
        orm.FoundationHardware,
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


_STRUCTURE = _for_dialect(_structure_statement)


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

    Its foundation and that one's accepted hardware, its site chain and its blueprint chain:
    one query instead of five.
    """
    rows = (await session.execute(_STRUCTURE(session), {"structure_id": structure_id})).all()
    own = next((row for row in rows if row[2] is not None), None)
    if own is None:
        return None
    structure, foundation, hardware = own[2], own[3], own[4]
    assert foundation is not None  # a foreign key guarantees it
    return StructureRows(structure, foundation, hardware, _chains(rows))
