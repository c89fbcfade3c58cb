"""Complexes: groups of structures that host foundations (§3.7)."""

from __future__ import annotations

from typing import Any

from contractor.inventory import orm
from contractor.inventory.encryption import SecretBox
from contractor.inventory.errors import AlreadyExists, InUse, ResourceNotFound, invalid
from contractor.inventory.foundation_types import COMPLEX_TYPES, ComplexType
from contractor.inventory.store import complex_state, listing, rows
from pydantic import ValidationError
from sqlalchemy import Select, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession


async def get(session: AsyncSession, name: str, *, lock: bool = False) -> orm.Complex:
    """Load one complex.

    Raises:
        ResourceNotFound: No such complex.
    """
    stmt = select(orm.Complex).where(orm.Complex.name == name)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    found = await session.scalar(stmt)
    if found is None:
        raise ResourceNotFound("complex", name)
    return found


def filtered(
    *, sites: list[str] | None, type: str | None, state: str | None
) -> Select[orm.Complex]:
    """The list query with its filters."""
    stmt = select(orm.Complex)
    if sites is not None:
        stmt = stmt.where(orm.Complex.site.in_(sites))
    if type is not None:
        stmt = stmt.where(orm.Complex.type == type)
    if state is not None:
        stmt = stmt.where(orm.Complex.state == state)
    return stmt


async def list_page(
    session: AsyncSession, stmt: Select[orm.Complex], *, limit: int, cursor: str | None
) -> tuple[list[orm.Complex], str | None]:
    """One page of complexes by name."""
    return await listing.page(session, stmt, orm.Complex.name, limit=limit, cursor=cursor)


def _complex_type(name: str) -> ComplexType:
    found = COMPLEX_TYPES.get(name)
    if found is None:
        raise invalid(["body", "type"], f"no complex type {name}")
    return found


def _split(ctype: ComplexType, attributes: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    try:
        model = ctype.attributes_model.model_validate(attributes)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise invalid(["body", "attributes", *first["loc"]], first["msg"]) from exc
    given = model.model_dump(include=set(attributes))
    secret = ctype.fields_marked("secret")
    return (
        {k: v for k, v in given.items() if k not in secret},
        {k: v for k, v in given.items() if k in secret and v is not None},
    )


async def _set_members(
    session: AsyncSession, name: str, wanted: list[int], ctype: ComplexType
) -> None:
    if ctype.members == "none" and wanted:
        raise invalid(["body", "members"], f"a {ctype.name} complex has no members")
    if ctype.members == "one" and len(wanted) > 1:
        raise invalid(["body", "members"], f"a {ctype.name} complex has exactly one member")
    if len(set(wanted)) != len(wanted):
        raise invalid(["body", "members"], "members must not repeat")
    for index, structure_id in enumerate(wanted):
        if await session.get(orm.Structure, structure_id) is None:
            raise invalid(["body", "members", index], f"structure {structure_id} does not exist")
        other = await session.scalar(
            select(orm.ComplexMember.complex).where(orm.ComplexMember.structure == structure_id)
        )
        if other is not None and other != name:
            raise AlreadyExists(
                f"membership of structure {structure_id} in complex", other, "members"
            )
    await session.execute(delete(orm.ComplexMember).where(orm.ComplexMember.complex == name))
    await session.flush()
    for structure_id in wanted:
        session.add(orm.ComplexMember(complex=name, structure=structure_id))
    await session.flush()


async def create(
    session: AsyncSession, values: dict[str, Any], box: SecretBox, actor: dict[str, Any]
) -> orm.Complex:
    """Create a complex with its members; its state is derived at once."""
    if await session.get(orm.Complex, values["name"]) is not None:
        raise AlreadyExists("complex", values["name"])
    if await session.get(orm.Site, values["site"]) is None:
        raise invalid(["body", "site"], f"site {values['site']} does not exist")
    ctype = _complex_type(values["type"])
    plain, secret = _split(ctype, values.get("attributes") or {})
    complex_ = orm.Complex(
        name=values["name"],
        site=values["site"],
        description=values["description"],
        type=ctype.name,
        built_percentage=values.get("built_percentage", 90),
        attributes=plain,
        sealed_secrets=box.seal(secret),
        state="planned",
    )
    rows.stamp_new(complex_)
    session.add(complex_)
    await session.flush()
    await _set_members(session, complex_.name, values.get("members") or [], ctype)
    return complex_


async def update(
    session: AsyncSession,
    complex_: orm.Complex,
    changes: dict[str, Any],
    expected: int | None,
    box: SecretBox,
) -> list[str]:
    """Apply a PATCH (members are replaced as a whole; attributes merge)."""
    rows.check_version(complex_, expected)
    updates = {
        k: changes[k] for k in ("description", "built_percentage") if changes.get(k) is not None
    }
    if changes.get("attributes"):
        ctype = _complex_type(complex_.type)
        current = {**complex_.attributes, **box.open(complex_.sealed_secrets)}
        merged = {k: v for k, v in {**current, **changes["attributes"]}.items() if v is not None}
        plain, secret = _split(ctype, merged)
        updates.update(attributes=plain, sealed_secrets=box.seal(secret))
    changed = rows.apply_changes(complex_, updates)
    if changes.get("members") is not None:
        before = [m.id for m in await complex_state.members(session, complex_.name)]
        await _set_members(session, complex_.name, changes["members"], _complex_type(complex_.type))
        if before != changes["members"]:
            changed = sorted({*changed, "members"})
            if "members" not in updates:
                rows.touch(complex_)
    return ["attributes" if c == "sealed_secrets" else c for c in changed]


async def delete_complex(
    session: AsyncSession, complex_: orm.Complex, expected: int | None
) -> None:
    """Delete a complex no foundation names (its memberships go with it)."""
    rows.check_version(complex_, expected)
    used = await session.scalar(
        select(func.count())
        .select_from(orm.Foundation)
        .where(orm.Foundation.complex == complex_.name)
    )
    if used:
        raise InUse(f"complex {complex_.name} hosts foundations", foundations=used)
    await session.execute(
        delete(orm.ComplexMember).where(orm.ComplexMember.complex == complex_.name)
    )
    await session.delete(complex_)
    await session.flush()
