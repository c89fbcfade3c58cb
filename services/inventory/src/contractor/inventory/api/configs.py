"""Config routes (§6.6): merged config of sites, blueprints, foundations and structures."""

from __future__ import annotations

from typing import Any, Literal

from contractor.inventory import config, store
from contractor.inventory.deps import Admin, Id, Operator, Reader, SessionDep
from contractor.inventory.errors import ConfigRenderFailed
from contractor.inventory.masking import redact
from contractor.inventory.schemas.configs import ConfigEdit
from contractor.inventory.settings import Settings
from contractor.servicekit.auth import Principal, Role
from contractor.servicekit.errors import FieldError
from fastapi import APIRouter, Request

router = APIRouter(tags=["config"])


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _renderer(request: Request) -> config.ConfigRenderer:
    renderer: config.ConfigRenderer = request.app.state.renderer
    return renderer


def _shown(
    values: dict[str, Any], render: bool, request: Request, caller: Principal
) -> dict[str, Any]:
    if render:
        values = store.configs.render(values, _renderer(request))
    return values if caller.role in (Role.ADMIN, Role.SERVICE) else redact(values)


@router.get("/sites/{name}/config")
async def read_site_config(
    name: str, request: Request, session: SessionDep, caller: Reader, render: bool = False
) -> dict[str, Any]:
    """Give a site's merged config (its chain)."""
    site = await store.sites.get(session, name)
    merged = await store.configs.site(session, site, _settings(request))
    return _shown(merged, render, request, caller)


@router.patch("/sites/{name}/config")
async def edit_site_config(
    name: str, body: ConfigEdit, request: Request, session: SessionDep, caller: Admin
) -> dict[str, Any]:
    """Edit a site's own config values; answer its merged config."""
    async with session.begin():
        site = await store.sites.get(session, name, lock=True)
        before = site.config_values
        changed = await store.sites.update(
            session,
            site,
            {"config_values": store.configs.edited(before, body.set, body.remove)},
            None,
        )
        if changed:
            await store.configs.announce(
                session,
                ("site", name),
                site=name,
                keys=store.configs.changed_keys(before, site.config_values),
                dns_zones=[site.zone] if site.zone else [],
                actor=caller.actor(),
            )
        merged = await store.configs.site(session, site, _settings(request))
    return _shown(merged, False, request, caller)


@router.get("/blueprints/{kind}/{name}/config")
async def read_blueprint_config(
    kind: Literal["foundation", "structure"],
    name: str,
    request: Request,
    session: SessionDep,
    caller: Reader,
    render: bool = False,
) -> dict[str, Any]:
    """Give a blueprint's merged config (its chain)."""
    blueprint = await store.blueprints.get(session, kind, name)
    merged = await store.configs.blueprint(session, blueprint, _settings(request))
    return _shown(merged, render, request, caller)


@router.patch("/blueprints/{kind}/{name}/config")
async def edit_blueprint_config(
    kind: Literal["foundation", "structure"],
    name: str,
    body: ConfigEdit,
    request: Request,
    session: SessionDep,
    caller: Admin,
) -> dict[str, Any]:
    """Edit a blueprint's own config values; answer its merged config."""
    async with session.begin():
        blueprint = await store.blueprints.get(session, kind, name)
        before = blueprint.config_values
        after = store.configs.edited(before, body.set, body.remove)
        if await store.blueprints.update(session, blueprint, {"config_values": after}, None):
            await store.configs.announce(
                session,
                ("blueprint", name),
                site=None,
                keys=store.configs.changed_keys(before, after),
                dns_zones=await store.configs.blueprint_zones(session, name),
                actor=caller.actor(),
            )
        merged = await store.configs.blueprint(session, blueprint, _settings(request))
    return _shown(merged, False, request, caller)


@router.get("/foundations/{locator}/config")
async def read_foundation_config(
    locator: str, request: Request, session: SessionDep, caller: Reader, render: bool = True
) -> dict[str, Any]:
    """Give a foundation's merged config."""
    foundation = await store.foundations.get(session, locator)
    ids = await store.foundations.structure_ids(session, [locator])
    merged = await store.configs.foundation(
        session, foundation, _settings(request), ids.get(locator)
    )
    return _shown(merged, render, request, caller)


@router.get("/structures/{structure_id}/config")
async def read_structure_config(
    structure_id: Id, request: Request, session: SessionDep, caller: Reader, render: bool = True
) -> dict[str, Any]:
    """Give a structure's merged config."""
    rows = await store.configs.structure_rows(session, structure_id)
    merged = await store.configs.structure(session, rows, _settings(request))
    return _shown(merged, render, request, caller)


@router.patch("/structures/{structure_id}/config")
async def edit_structure_config(
    structure_id: Id, body: ConfigEdit, request: Request, session: SessionDep, caller: Operator
) -> dict[str, Any]:
    """Edit a structure's own config values (refused if the result cannot render)."""
    async with session.begin():
        structure = await store.structures.get(session, structure_id, lock=True)
        before = structure.config_values
        after = store.configs.edited(before, body.set, body.remove)
        changed = await store.structures.update(session, structure, {"config_values": after}, None)
        merged = await store.configs.structure(session, structure, _settings(request))
        try:
            rendered = store.configs.render(merged, _renderer(request))
        except ConfigRenderFailed as exc:
            raise FieldError(["body", "set"], exc.detail, type_slug="config-render-error") from exc
        if changed:
            zones = await store.structures.zones(session, [structure.site])
            await store.configs.announce(
                session,
                ("structure", structure_id),
                site=structure.site,
                keys=store.configs.changed_keys(before, after),
                dns_zones=[z for z in zones.values() if z],
                actor=caller.actor(),
            )
    return rendered if caller.role in (Role.ADMIN, Role.SERVICE) else redact(rendered)
