"""Foundations: create, read, list, change and delete (§3.4); state moves: ``transitions``."""

from __future__ import annotations

from typing import Any

from contractor.inventory import orm
from contractor.inventory.encryption import SecretBox
from contractor.inventory.errors import (
    AlreadyExists,
    JobActive,
    NotDeletable,
    ResourceNotFound,
    StateConflict,
    invalid,
)
from contractor.inventory.foundation_types import REGISTRY, FoundationType
from contractor.inventory.store import (
    blueprint_graph,
    blueprints,
    config_rows,
    listing,
    resources,
    rows,
)
from contractor.servicekit.db import utcnow
from contractor.servicekit.errors import FieldError
from pydantic import ValidationError
from sqlalchemy import LargeBinary, Select, bindparam, func, insert, inspect, select
from sqlalchemy import delete as sql_delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import make_transient_to_detached

FROZEN_BY_SLOT = ("site", "blueprint", "complex", "serial", "attributes")
CHANGEABLE_IN = {
    "site": ("planned",),
    "complex": ("planned",),
    "blueprint": ("planned", "located"),
    "serial": ("planned", "located"),
}


async def get(session: AsyncSession, locator: str, *, lock: bool = False) -> orm.Foundation:
    """Load one foundation (``lock``: ``SELECT … FOR UPDATE`` on PostgreSQL).

    Raises:
        ResourceNotFound: No such foundation.
    """
    stmt = select(orm.Foundation).where(orm.Foundation.locator == locator)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    foundation = await session.scalar(stmt)
    if foundation is None:
        raise ResourceNotFound("foundation", locator)
    return foundation


def filtered(
    *,
    sites: list[str] | None = None,
    blueprint: str | None = None,
    state: str | None = None,
    type: str | None = None,
    complex: str | None = None,
    serial: str | None = None,
    has_structure: bool | None = None,
    has_job: bool | None = None,
) -> Select[orm.Foundation]:
    """The list query with the §12.2 filters applied."""
    stmt = select(orm.Foundation)
    for column, value in (
        (orm.Foundation.blueprint, blueprint),
        (orm.Foundation.state, state),
        (orm.Foundation.type, type),
        (orm.Foundation.complex, complex),
        (orm.Foundation.serial, serial),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    if sites is not None:
        stmt = stmt.where(orm.Foundation.site.in_(sites))
    if has_structure is not None:
        used = select(orm.Structure.foundation)
        stmt = stmt.where(
            orm.Foundation.locator.in_(used)
            if has_structure
            else orm.Foundation.locator.not_in(used)
        )
    if has_job is not None:
        stmt = stmt.where(
            orm.Foundation.job_id.is_not(None) if has_job else orm.Foundation.job_id.is_(None)
        )
    return stmt


async def list_page(
    session: AsyncSession, stmt: Select[orm.Foundation], *, limit: int, cursor: str | None
) -> tuple[list[orm.Foundation], str | None]:
    """One page of foundations ordered by locator."""
    return await listing.page(session, stmt, orm.Foundation.locator, limit=limit, cursor=cursor)


async def structure_ids(session: AsyncSession, locators: list[str]) -> dict[str, int]:
    """The id of the structure on each of ``locators`` that has one."""
    found = await session.execute(
        select(orm.Structure.foundation, orm.Structure.id).where(
            orm.Structure.foundation.in_(locators)
        )
    )
    return {locator: sid for locator, sid in found.all()}


def foundation_type(name: str) -> FoundationType:
    """The registered type ``name`` (422 naming ``type`` otherwise)."""
    found = REGISTRY.get(name)
    if found is None:
        raise invalid(["body", "type"], f"no foundation type {name}")
    return found


def split_attributes(
    ftype: FoundationType, attributes: dict[str, Any], *, allow_runtime: bool = False
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Validate attributes against the type and split them into (plain, secret).

    Raises:
        FieldError: 422 naming each bad attribute (``read-only`` for runtime fields).
    """
    runtime = ftype.fields_marked("runtime")
    given_runtime = sorted(set(attributes) & runtime)
    if given_runtime and not allow_runtime:
        raise invalid(
            ["body", "attributes", given_runtime[0]],
            "runtime attributes are read-only",
            "read-only",
        )
    try:
        model = ftype.attributes_model.model_validate(attributes)
    except ValidationError as exc:
        errors: list[dict[str, Any]] = [
            {"loc": ["body", "attributes", *e["loc"]], "msg": e["msg"], "type": e["type"]}
            for e in exc.errors()
        ]
        error = FieldError(errors[0]["loc"], str(errors[0]["msg"]))
        error.extra["errors"] = errors  # keep pydantic's error type per entry
        raise error from exc
    given = model.model_dump(include=set(attributes))
    secret = ftype.fields_marked("secret")
    plain = {k: v for k, v in given.items() if k not in secret}
    sealed = {k: v for k, v in given.items() if k in secret and v is not None}
    return plain, sealed


async def _check_blueprint(session: AsyncSession, name: str, type_name: str) -> None:
    _check_blueprint_row(await session.get(orm.Blueprint, name), name, type_name)


def _check_blueprint_row(
    blueprint: orm.Blueprint | config_rows.BlueprintFacts | None, name: str, type_name: str
) -> None:
    if blueprint is None or blueprint.kind != "foundation":
        raise invalid(["body", "blueprint"], f"foundation blueprint {name} does not exist")
    if type_name not in blueprint.foundation_types:
        raise invalid(
            ["body", "blueprint"],
            f"blueprint {name} does not allow type {type_name}",
            "type-not-allowed",
        )


async def _check_site(session: AsyncSession, name: str) -> None:
    if await session.get(orm.Site, name) is None:
        _no_site(name)


def _no_site(name: str) -> None:
    raise invalid(["body", "site"], f"site {name} does not exist")


async def _check_complex(
    session: AsyncSession, ftype: FoundationType, complex_name: str | None
) -> None:
    if complex_name is None:
        if ftype.complex == "required":
            raise invalid(["body", "complex"], f"type {ftype.name} needs a complex")
        return
    if ftype.complex == "forbidden":
        raise invalid(["body", "complex"], f"type {ftype.name} takes no complex")
    found = await session.get(orm.Complex, complex_name)
    if found is None:
        raise invalid(["body", "complex"], f"complex {complex_name} does not exist")
    if found.type not in ftype.complex_types:
        raise invalid(
            ["body", "complex"], f"type {ftype.name} cannot be hosted by a {found.type} complex"
        )


async def _check_serial(session: AsyncSession, serial: str | None, locator: str) -> None:
    if serial is None:
        return
    other = await session.scalar(
        select(orm.Foundation.locator).where(
            orm.Foundation.serial == serial, orm.Foundation.locator != locator
        )
    )
    if other is not None:
        raise AlreadyExists("foundation serial", serial, field="serial")


def located_on_create(ftype: FoundationType, attributes: dict[str, Any]) -> bool:
    """Whether a new foundation of this type enters ``located`` at once."""
    return ftype.located_on_create(attributes)


async def create(session: AsyncSession, values: dict[str, Any], box: SecretBox) -> orm.Foundation:
    """Create a foundation from validated body values (state ``planned``), with its resources.

    One read serves every check and the ``resources`` computation: the site chain, the
    blueprint chain and the locator's existence (:mod:`config_rows`), as plain rows; the site
    and blueprint checks below read them, in the same order and with the same answers as
    ``_check_site`` and ``_check_blueprint``. The row is then inserted with its ``resources``
    already set.

    On PostgreSQL, when the app has already read this site and blueprint (`_create_known`),
    the create is checked against those rows and inserted by one statement that holds if they
    are still the same, saving the read; otherwise it goes the way above.
    """
    known = session.info.get(config_rows.KNOWN_CHAINS)
    if isinstance(known, config_rows.KnownChains):
        created = await _create_known(session, values, box, known)
        if created is not None:
            return created
    found = await config_rows.for_foundation_create(
        session, values["site"], values["blueprint"], values["locator"]
    )
    taken = found.taken
    if taken is None:
        taken = await _locator_taken(session, values["locator"])
    if taken:
        raise AlreadyExists("foundation", values["locator"], field="locator")
    ftype = foundation_type(values["type"])
    if not found.sites:
        _no_site(values["site"])
    _check_blueprint_row(found.blueprints.get(values["blueprint"]), values["blueprint"], ftype.name)
    if isinstance(known, config_rows.KnownChains):
        known.remember(values["site"], values["blueprint"], found)
    await _check_complex(session, ftype, values.get("complex"))
    await _check_serial(session, values.get("serial"), values["locator"])
    plain, secret = split_attributes(ftype, values.get("attributes") or {})
    foundation = _new(values, ftype, plain, secret, box)
    chain = found.blueprint_chain(foundation.blueprint)
    resources.set_new(foundation, chain, found.sites)
    rows.stamp_new(foundation)
    await _insert_new(session, foundation)
    return foundation


def _new(
    values: dict[str, Any],
    ftype: FoundationType,
    plain: dict[str, Any],
    secret: dict[str, Any],
    box: SecretBox,
) -> orm.Foundation:
    return orm.Foundation(
        locator=values["locator"],
        site=values["site"],
        blueprint=values["blueprint"],
        type=ftype.name,
        complex=values.get("complex"),
        serial=values.get("serial"),
        attributes=plain,
        sealed_secrets=box.seal(secret),
        state="planned",
    )


async def _create_known(
    session: AsyncSession,
    values: dict[str, Any],
    box: SecretBox,
    known_chains: config_rows.KnownChains,
) -> orm.Foundation | None:
    """`create` from the rows an earlier create read for the same site and blueprint.

    Only for a create that passes every check on those rows and needs no other read (no
    complex, no serial): the row is then inserted by ``INSERT … SELECT … WHERE`` the chains'
    fingerprint, taken in that statement, is the one those rows had, ``ON CONFLICT`` of the
    locator ``DO NOTHING``. Equal fingerprints mean equal rows, so the checks and the
    ``resources`` are those the read would have given. ``None`` when the row was not
    inserted, nothing else done: the caller creates the usual way (which then also raises
    the error a check finds, in its usual order).
    """
    if values.get("complex") is not None or values.get("serial") is not None:
        return None
    known = known_chains.get(values["site"], values["blueprint"])
    ftype = REGISTRY.get(values["type"])
    if known is None or ftype is None or ftype.complex == "required" or not known.rows.sites:
        return None
    blueprint = known.rows.blueprints.get(values["blueprint"])
    if (
        blueprint is None
        or blueprint.kind != "foundation"
        or ftype.name not in blueprint.foundation_types
    ):
        return None
    try:
        plain, secret = split_attributes(ftype, values.get("attributes") or {})
    except FieldError:
        return None
    foundation = _new(values, ftype, plain, secret, box)
    sizing = known.sizing.get(ftype.name)
    if sizing is None:
        chain = known.rows.blueprint_chain(foundation.blueprint)
        sizing = known.sizing[ftype.name] = resources.sizing(ftype.name, chain, known.rows.sites)
    resources.set_new_sized(foundation, sizing)
    rows.stamp_new(foundation)
    inserted = await _insert_new(
        session,
        foundation,
        {
            "site_name": foundation.site,
            "blueprint": foundation.blueprint,
            "fingerprint": known.fingerprint,
        },
    )
    return foundation if inserted else None


_INSERT = insert(orm.Base.metadata.tables["foundations"])
_COLUMNS = tuple((attr.key, attr.columns[0]) for attr in orm.Foundation.__mapper__.column_attrs)


def _guarded_insert() -> Any:
    """PostgreSQL: the ``INSERT`` of `_create_known`.

    Parameters: ``new_<column>`` for each column, the chains' ``site_name`` and ``blueprint``,
    and the ``fingerprint`` they are expected to have.
    """
    table = orm.Base.metadata.tables["foundations"]
    row = select(
        *(bindparam(f"new_{column.key}", type_=column.type) for _key, column in _COLUMNS)
    ).where(
        config_rows.foundation_create_fingerprint() == bindparam("fingerprint", type_=LargeBinary)
    )
    return (
        pg_insert(table)
        .from_select([column.key for _key, column in _COLUMNS], row)
        .on_conflict_do_nothing(index_elements=[table.c.locator])
    )


_GUARDED_INSERT = _guarded_insert()


async def _insert_new(
    session: AsyncSession, foundation: orm.Foundation, guard: dict[str, Any] | None = None
) -> bool:
    """Insert a new foundation with one Core ``INSERT`` and keep it in the session, persistent.

    For one row the ORM's unit of work costs about as much again as the statement itself.
    Every column is given (those never set as ``None``, so the object has nothing left to
    load), and the object joins the session as if it had been loaded: later changes in the
    transaction are flushed as an ``UPDATE``, as after a flush. A column left unset that has a
    default would need the unit of work to fill it in: then the row goes through a flush.

    With ``guard`` (`_create_known`'s parameters) the row goes in only if the chains still
    have the fingerprint given: ``False`` (nothing done) if it did not go in, or if it would
    have needed a flush.
    """
    unset = inspect(foundation).unloaded
    if any(
        column.default is not None or column.server_default is not None
        for key, column in _COLUMNS
        if key in unset
    ):
        if guard is not None:
            return False
        session.add(foundation)
        await session.flush()
        return True
    values = {}
    for key, column in _COLUMNS:
        if key in unset:
            setattr(foundation, key, None)
        values[column.key] = getattr(foundation, key)
    connection = await session.connection()
    if guard is None:
        await connection.execute(_INSERT, values)
    else:
        params = {f"new_{name}": value for name, value in values.items()}
        result = await connection.execute(_GUARDED_INSERT, {**params, **guard})
        if result.rowcount != 1:
            return False
    make_transient_to_detached(foundation)
    session.add(foundation)
    return True


async def _locator_taken(session: AsyncSession, locator: str) -> bool:
    found = await session.scalar(
        select(orm.Foundation.locator).where(orm.Foundation.locator == locator)
    )
    return found is not None


def _check_changeable(foundation: orm.Foundation, field: str) -> None:
    if foundation.job_id is not None and field in FROZEN_BY_SLOT:
        raise JobActive(f"job {foundation.job_id} holds foundation {foundation.locator}")
    allowed = CHANGEABLE_IN.get(field)
    if allowed is not None and foundation.state not in allowed:
        raise StateConflict("foundation", foundation.locator, foundation.state)


async def update(
    session: AsyncSession,
    foundation: orm.Foundation,
    changes: dict[str, Any],
    expected: int | None,
    box: SecretBox,
) -> list[str]:
    """Apply a PATCH; ``attributes`` merge key by key (null removes a key)."""
    rows.check_version(foundation, expected)
    ftype = foundation_type(foundation.type)
    updates: dict[str, Any] = {}
    for field in ("site", "blueprint", "complex", "serial"):
        if field in changes and changes[field] != getattr(foundation, field):
            _check_changeable(foundation, field)
            updates[field] = changes[field]
    if "site" in updates:
        await _check_site(session, updates["site"])
    if "blueprint" in updates:
        await _check_blueprint(session, updates["blueprint"], foundation.type)
        await _check_structure_pairs(session, foundation.locator, updates["blueprint"])
    if "complex" in updates:
        await _check_complex(session, ftype, updates["complex"])
    if "serial" in updates:
        await _check_serial(session, updates["serial"], foundation.locator)
    if changes.get("attributes"):
        _check_changeable(foundation, "attributes")
        updates.update(_merged_attributes(ftype, foundation, changes["attributes"], box))
    changed = rows.apply_changes(foundation, updates)
    await session.flush()
    return ["attributes" if c == "sealed_secrets" else c for c in changed]


def _merged_attributes(
    ftype: FoundationType, foundation: orm.Foundation, patch: dict[str, Any], box: SecretBox
) -> dict[str, Any]:
    current = {**foundation.attributes, **box.open(foundation.sealed_secrets)}
    merged = {k: v for k, v in {**current, **patch}.items() if v is not None}
    runtime = ftype.fields_marked("runtime")
    bad = sorted(k for k in patch if k in runtime)
    if bad:
        raise invalid(
            ["body", "attributes", bad[0]], "runtime attributes are read-only", "read-only"
        )
    plain, secret = split_attributes(ftype, merged, allow_runtime=True)
    return {"attributes": plain, "sealed_secrets": box.seal(secret)}


async def _check_structure_pairs(session: AsyncSession, locator: str, blueprint: str) -> None:
    structure = await session.scalar(
        select(orm.Structure).where(orm.Structure.foundation == locator)
    )
    if structure is None:
        return
    graph = await blueprints.graph(session)
    if blueprint not in blueprint_graph.combined_foundation_blueprints(graph, structure.blueprint):
        raise invalid(
            ["body", "blueprint"],
            f"structure {structure.id} on it cannot be built on blueprint {blueprint}",
            "blueprint-not-allowed",
        )


async def delete(session: AsyncSession, foundation: orm.Foundation, expected: int | None) -> None:
    """Delete a foundation that is planned or located with no structure and no job."""
    rows.check_version(foundation, expected)
    if foundation.state not in ("planned", "located"):
        raise NotDeletable(f"foundation {foundation.locator} is {foundation.state}")
    if foundation.job_id is not None:
        raise NotDeletable(f"job {foundation.job_id} holds foundation {foundation.locator}")
    has_structure = await session.scalar(
        select(func.count())
        .select_from(orm.Structure)
        .where(orm.Structure.foundation == foundation.locator)
    )
    if has_structure:
        raise NotDeletable(f"a structure stands on foundation {foundation.locator}")
    gated_by = await session.scalar(
        select(orm.Dependency.id).where(orm.Dependency.foundation == foundation.locator)
    )
    if gated_by is not None:
        raise NotDeletable(f"dependency {gated_by} names foundation {foundation.locator}")
    await session.execute(
        sql_delete(orm.Interface).where(orm.Interface.foundation == foundation.locator)
    )
    await session.delete(foundation)
    await session.flush()


def mark_located(foundation: orm.Foundation) -> None:
    """Enter ``located`` (used at creation by ``located_on_create`` types)."""
    foundation.state = "located"
    foundation.located_at = utcnow()


def event_data(foundation: orm.Foundation, changed: list[str]) -> dict[str, Any]:
    """The ``foundation.created|updated|deleted`` payload."""
    return {
        "locator": foundation.locator,
        "site": foundation.site,
        "blueprint": foundation.blueprint,
        "type": foundation.type,
        "complex": foundation.complex,
        "state": foundation.state,
        "changed": changed,
    }
