"""Merged configuration of sites, blueprints, foundations and structures (§6.3, §6.4).

Loads the rows a target's config is made of and hands them to the pure config language in
:mod:`contractor.inventory.config`. Interfaces and addresses are not stored yet, so the
interface and address attributes are empty.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from contractor.inventory import config, orm
from contractor.inventory.errors import ConfigRenderFailed, ResourceNotFound
from contractor.inventory.foundation_types import COMPLEX_TYPES, REGISTRY
from contractor.inventory.settings import Settings
from contractor.inventory.store import (
    blueprint_graph,
    blueprints,
    config_rows,
    events,
    interface_maps,
    interfaces,
)
from contractor.servicekit.db import utcnow
from contractor.servicekit.errors import FieldError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

StructureRows = config_rows.StructureRows


async def structure_rows(session: AsyncSession, structure_id: int) -> StructureRows:
    """Load a structure with the rows its config is made of, in one query.

    Raises:
        ResourceNotFound: No such structure.
    """
    found = await config_rows.for_structure(session, structure_id)
    if found is None:
        raise ResourceNotFound("structure", structure_id)
    return found


async def _site_chain(session: AsyncSession, name: str) -> list[orm.Site]:
    """The site and its ancestors, root first, in one recursive query."""
    return list((await session.scalars(config_rows.SITE_CHAIN, {"site_name": name})).all())


async def _blueprint_chain(session: AsyncSession, name: str) -> list[orm.Blueprint]:
    return chain_of(await blueprints.graph(session), name)


def chain_of(graph: dict[str, orm.Blueprint], name: str) -> list[orm.Blueprint]:
    """The blueprint chain of ``name`` (root first, as the merge takes it) in ``graph``."""
    return [graph[n] for n in blueprint_graph.chain(graph, name)]


def _sources(rows: Iterable[orm.Site | orm.Blueprint]) -> list[config.Source]:
    return [config.Source(row.name, row.config_values) for row in rows]


def _globals(settings: Settings, rows: Iterable[Any]) -> dict[str, Any]:
    stamps: list[datetime] = [row.updated_at for row in rows]
    return config.config_globals(
        last_modified=max(stamps, default=utcnow()),
        now=utcnow(),
        contractor_host=settings.contractor_host,
        pxe_location=settings.pxe_location,
    )


def _merge(layers: list[config.Layer], class_list: list[str]) -> dict[str, Any]:
    try:
        return dict(config.merge_layers(layers, class_list))
    except config.ConfigValueError as exc:
        raise ConfigRenderFailed(str(exc), exc.key) from exc


async def site(session: AsyncSession, row: orm.Site, settings: Settings) -> dict[str, Any]:
    """The merged config of a site (its chain, ``_site``, globals)."""
    chain = await _site_chain(session, row.name)
    return _merge(config.site_layers(_sources(chain), _globals(settings, chain)), [])


async def blueprint(
    session: AsyncSession, row: orm.Blueprint, settings: Settings
) -> dict[str, Any]:
    """The merged config of a blueprint (its chain, ``_blueprint``, globals)."""
    chain = await _blueprint_chain(session, row.name)
    return _merge(config.blueprint_layers(_sources(chain), _globals(settings, chain)), [])


class _Unknown(enum.Enum):
    UNKNOWN = enum.auto()


async def _foundation_attributes(
    session: AsyncSession,
    foundation: orm.Foundation,
    real: list[orm.Interface] | None = None,
    accepted: orm.FoundationHardware | _Unknown | None = _Unknown.UNKNOWN,
) -> dict[str, Any]:
    """``accepted``: the foundation's accepted hardware row (``None``: it has none), if known."""
    ftype = REGISTRY[foundation.type]
    port = await interface_maps.provisioning_port(session, foundation.locator, real)
    fields = {name: foundation.attributes.get(name) for name in ftype.attributes_model.model_fields}
    if accepted is _Unknown.UNKNOWN:
        accepted = await session.get(orm.FoundationHardware, foundation.locator)
    return config.foundation_attributes(
        hardware=accepted.report.get("hardware") if accepted is not None else None,
        locator=foundation.locator,
        type_display_name=ftype.display_name,
        state=foundation.state,
        class_list=list(ftype.class_list),
        complex_name=foundation.complex,
        console=ftype.console(foundation.attributes),
        fields=fields,
        secret_fields=ftype.fields_marked("secret"),
        provisioning_interface=port.physical_location if port else None,
        provisioning_interface_mac=port.mac if port else None,
    )


async def _complex_attributes(
    session: AsyncSession, foundation: orm.Foundation
) -> tuple[dict[str, Any] | None, list[orm.Complex]]:
    if foundation.complex is None:
        return None, []
    complex_ = await session.get(orm.Complex, foundation.complex)
    if complex_ is None:
        return None, []
    ctype = COMPLEX_TYPES[complex_.type]
    fields = {name: complex_.attributes.get(name) for name in ctype.attributes_model.model_fields}
    attributes = config.complex_attributes(
        complex_type=complex_.type,
        state=complex_.state,
        host_ip=None,
        fields=fields,
        secret_fields=ctype.fields_marked("secret"),
    )
    return attributes, [complex_]


async def foundation(
    session: AsyncSession, row: orm.Foundation, settings: Settings, structure_id: int | None
) -> dict[str, Any]:
    """The merged config of a foundation (§6.3, column F)."""
    chain = await _blueprint_chain(session, row.blueprint)
    sites = await _site_chain(session, row.site)
    complex_attributes, complexes = await _complex_attributes(session, row)
    layers = config.foundation_layers(
        blueprint_chain=_sources(chain),
        site_chain=_sources(sites),
        foundation_attributes=await _foundation_attributes(session, row),
        complex_attributes=complex_attributes,
        structure_id=structure_id,
        foundation_job_id=row.job_id,
        globals_=_globals(settings, [*chain, *sites, row, *complexes]),
    )
    return _merge(layers, list(REGISTRY[row.type].class_list))


async def structure(
    session: AsyncSession, row: orm.Structure | StructureRows, settings: Settings
) -> dict[str, Any]:
    """The merged config of a structure (§6.3, column T).

    ``row``: the structure, or its `structure_rows` when the caller loaded them (else they
    are loaded here: the foundation, its accepted hardware, the site chain and the blueprint
    graph, in one query).
    """
    rows = row if isinstance(row, StructureRows) else await structure_rows(session, row.id)
    row, base, sites = rows.structure, rows.foundation, rows.chains.sites
    chain = chain_of(rows.chains.graph, row.blueprint)
    complex_attributes, complexes = await _complex_attributes(session, base)
    zone = sites[-1].zone if sites else None
    known = await interfaces.of_foundation_and_structure(session, base.locator, row.id)
    layers = config.structure_layers(
        blueprint_chain=_sources(chain),
        site_chain=_sources(sites),
        foundation_attributes=await _foundation_attributes(session, base, known[0], rows.hardware),
        complex_attributes=complex_attributes,
        structure=config.Source(row.hostname, row.config_values),
        structure_attributes=config.structure_attributes(
            structure_id=row.id,
            state=row.state,
            config_uuid=row.config_uuid,
            hostname=row.hostname,
            zone=zone,
            **await interface_maps.structure_network_attributes(session, row, known),
        ),
        structure_job_id=row.job_id,
        foundation_job_id=base.job_id,
        globals_=_globals(settings, [*chain, *sites, base, row, *complexes]),
    )
    return _merge(layers, list(REGISTRY[base.type].class_list))


def render(values: dict[str, Any], renderer: config.ConfigRenderer) -> dict[str, Any]:
    """Render a merged config (409 ``config-render-error`` when it cannot be)."""
    try:
        return renderer.render(values)
    except config.ConfigRenderError as exc:
        raise ConfigRenderFailed(str(exc), exc.path) from exc


def edited(values: dict[str, Any], set_values: dict[str, Any], remove: list[str]) -> dict[str, Any]:
    """Apply a ``{"set", "remove"}`` edit to stored ``config_values`` (422 if invalid)."""
    try:
        return dict(config.edit_config_values(values, set_values=set_values, remove=remove))
    except config.ConfigValueError as exc:
        (key, msg), *more = exc.problems
        raise FieldError(
            ["body", "set", key],
            msg,
            type_slug="invalid-config",
            more=[(["body", "set", k], m) for k, m in more],
        ) from exc


def changed_keys(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """Keys set, changed or removed between two ``config_values`` objects."""
    return sorted(k for k in {*before, *after} if before.get(k, ...) != after.get(k, ...))


async def announce(
    session: AsyncSession,
    target: tuple[str, str | int],
    *,
    site: str | None,
    keys: list[str],
    dns_zones: list[str],
    actor: dict[str, Any],
) -> None:
    """Emit ``config.changed`` for a target whose ``config_values`` changed."""
    kind, key = target
    await events.append(
        session,
        "config.changed",
        actor=actor,
        subject=(kind, key),
        site=site,
        data={
            "target": {"kind": kind, "key": str(key)},
            "keys": keys,
            "dns_zones": sorted(set(dns_zones)),
        },
    )


async def blueprint_zones(session: AsyncSession, name: str) -> list[str]:
    """Zones of the sites of every structure built from ``name`` or its descendants."""
    graph = await blueprints.graph(session)
    names = blueprint_graph.descendants(graph, name)
    found = await session.scalars(
        select(orm.Site.zone)
        .join(orm.Structure, orm.Structure.site == orm.Site.name)
        .where(orm.Structure.blueprint.in_(names), orm.Site.zone.is_not(None))
        .distinct()
    )
    return sorted(z for z in found if z)
