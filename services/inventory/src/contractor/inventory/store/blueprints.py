"""Blueprints: foundation and structure blueprints in one name space (§3.2)."""

from __future__ import annotations

from typing import Any

from contractor.inventory import orm
from contractor.inventory.config.chains import ChainCycleError
from contractor.inventory.errors import AlreadyExists, InUse, ResourceNotFound, invalid
from contractor.inventory.foundation_types import REGISTRY
from contractor.inventory.store import blueprint_graph, config_values, hardware_rules, rows
from contractor.servicekit.pagination import decode_cursor, paginate
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession


async def graph(session: AsyncSession) -> dict[str, orm.Blueprint]:
    """Every blueprint by name (blueprints are few; one load serves all derived values)."""
    return {bp.name: bp for bp in await session.scalars(select(orm.Blueprint))}


async def get(session: AsyncSession, kind: str, name: str) -> orm.Blueprint:
    """Load one blueprint of ``kind``.

    Raises:
        ResourceNotFound: No such blueprint of that kind.
    """
    blueprint = await session.get(orm.Blueprint, name)
    if blueprint is None or blueprint.kind != kind:
        raise ResourceNotFound(f"{kind} blueprint", name)
    return blueprint


async def list_page(
    session: AsyncSession, kind: str, *, ancestor: str | None, limit: int, cursor: str | None
) -> tuple[list[orm.Blueprint], str | None]:
    """One page of blueprints of ``kind`` by name; ``ancestor`` keeps its descendants."""
    everything = await graph(session)
    chosen = sorted((bp for bp in everything.values() if bp.kind == kind), key=lambda bp: bp.name)
    if ancestor is not None:
        chosen = [bp for bp in chosen if ancestor in blueprint_graph.ancestors(everything, bp.name)]
    if cursor is not None:
        after = str(decode_cursor(cursor))
        chosen = [bp for bp in chosen if bp.name > after]
    return paginate(chosen[: limit + 1], limit, lambda bp: bp.name)


async def _check_references(
    session: AsyncSession,
    kind: str,
    name: str,
    values: dict[str, Any],
    everything: dict[str, orm.Blueprint],
) -> None:
    parents = values.get("parents")
    if parents is not None:
        if len(set(parents)) != len(parents):
            raise invalid(["body", "parents"], "parents must not repeat")
        for index, parent in enumerate(parents):
            other = everything.get(parent)
            if other is None or other.kind != kind:
                raise invalid(
                    ["body", "parents", index], f"{kind} blueprint {parent} does not exist"
                )
    for slot, script in (values.get("scripts") or {}).items():
        if await session.get(orm.Script, script) is None:
            raise invalid(["body", "scripts", slot], f"script {script} does not exist")
    for index, type_name in enumerate(values.get("foundation_types") or []):
        if type_name not in REGISTRY:
            raise invalid(["body", "foundation_types", index], f"no foundation type {type_name}")
    for index, fb in enumerate(values.get("foundation_blueprints") or []):
        other = everything.get(fb)
        if other is None or other.kind != "foundation":
            raise invalid(
                ["body", "foundation_blueprints", index],
                f"foundation blueprint {fb} does not exist",
            )
    if values.get("config_values") is not None:
        config_values.check(values["config_values"], ["body", "config_values"])
    if values.get("hardware_rules") is not None:
        hardware_rules.check(values["hardware_rules"], ["body", "hardware_rules"])


def _check_acyclic(everything: dict[str, orm.Blueprint], name: str) -> None:
    try:
        blueprint_graph.chain(everything, name)
    except ChainCycleError as exc:
        raise invalid(["body", "parents"], str(exc), "cycle") from exc


async def create(session: AsyncSession, kind: str, values: dict[str, Any]) -> orm.Blueprint:
    """Create a blueprint of ``kind``."""
    everything = await graph(session)
    if values["name"] in everything:
        raise AlreadyExists("blueprint", values["name"])
    await _check_references(session, kind, values["name"], values, everything)
    blueprint = orm.Blueprint(kind=kind, **values)
    rows.stamp_new(blueprint)
    everything[blueprint.name] = blueprint
    _check_acyclic(everything, blueprint.name)
    session.add(blueprint)
    await session.flush()
    return blueprint


async def update(
    session: AsyncSession, blueprint: orm.Blueprint, changes: dict[str, Any], expected: int | None
) -> list[str]:
    """Apply a PATCH; refuse changes that would strand foundations or structures."""
    rows.check_version(blueprint, expected)
    everything = await graph(session)
    await _check_references(session, blueprint.kind, blueprint.name, changes, everything)
    changed = rows.apply_changes(blueprint, {k: v for k, v in changes.items() if v is not None})
    _check_acyclic(everything, blueprint.name)
    await _check_still_used_correctly(session, everything, blueprint)
    await session.flush()
    return changed


async def _check_still_used_correctly(
    session: AsyncSession, everything: dict[str, orm.Blueprint], blueprint: orm.Blueprint
) -> None:
    if blueprint.kind == "foundation":
        stranded = await session.scalar(
            select(func.count())
            .select_from(orm.Foundation)
            .where(
                orm.Foundation.blueprint == blueprint.name,
                orm.Foundation.type.not_in(blueprint.foundation_types or [""]),
            )
        )
        if stranded:
            raise InUse("foundations of a removed type use this blueprint", foundations=stranded)
        return
    affected = blueprint_graph.descendants(everything, blueprint.name)
    pairs = await session.execute(
        select(orm.Structure.blueprint, orm.Foundation.blueprint)
        .join(orm.Foundation, orm.Foundation.locator == orm.Structure.foundation)
        .where(orm.Structure.blueprint.in_(affected))
    )
    broken = [
        (sb, fb)
        for sb, fb in pairs.all()
        if fb not in blueprint_graph.combined_foundation_blueprints(everything, sb)
    ]
    if broken:
        raise InUse("structures pair with a removed foundation blueprint", structures=len(broken))


async def delete(session: AsyncSession, blueprint: orm.Blueprint, expected: int | None) -> None:
    """Delete a blueprint nothing uses."""
    rows.check_version(blueprint, expected)
    everything = await graph(session)
    counts = {
        "foundations": await _count(session, orm.Foundation.blueprint == blueprint.name),
        "structures": await _count(session, orm.Structure.blueprint == blueprint.name),
        "children": sum(1 for bp in everything.values() if blueprint.name in bp.parents),
        "structure_blueprints": sum(
            1 for bp in everything.values() if blueprint.name in bp.foundation_blueprints
        ),
    }
    if any(counts.values()):
        raise InUse(f"blueprint {blueprint.name} is in use", **counts)
    await session.delete(blueprint)
    await session.flush()


async def _count(session: AsyncSession, condition: Any) -> int:
    table = condition.left.table
    return int(await session.scalar(select(func.count()).select_from(table).where(condition)) or 0)
