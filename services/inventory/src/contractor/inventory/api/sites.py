"""Site routes (§3.1)."""

from __future__ import annotations

from typing import Annotated, Any

from contractor.inventory import orm, store
from contractor.inventory.deps import Admin, Box, IfMatch, Reader, SessionDep
from contractor.inventory.encryption import SecretBox
from contractor.inventory.masking import redact
from contractor.inventory.schemas.sites import (
    Discovery,
    DiscoveryRead,
    SiteCreate,
    SiteRead,
    SiteUpdate,
)
from contractor.servicekit.auth import Principal, Role
from contractor.servicekit.pagination import Limit, Page
from fastapi import APIRouter, Query, Response

router = APIRouter(prefix="/sites", tags=["sites"])

SEALED = "bmc_password_sealed"


def render(site: orm.Site, caller: Principal) -> SiteRead:
    """A site as ``caller`` may see it (config secrets masked below admin)."""
    discovery = None
    if site.discovery is not None:
        shown = {k: v for k, v in site.discovery.items() if k != SEALED}
        discovery = DiscoveryRead(**shown, bmc_password_set=bool(site.discovery.get(SEALED)))
    values = site.config_values
    if caller.role not in (Role.ADMIN, Role.SERVICE):
        values = redact(values)
    return SiteRead.model_validate(
        {**_columns(site), "config_values": values, "discovery": discovery}
    )


def _columns(site: orm.Site) -> dict[str, Any]:
    return {
        c: getattr(site, c)
        for c in ("name", "description", "parent", "zone", "created_at", "updated_at", "version")
    }


def _seal_discovery(discovery: Discovery | None, box: SecretBox) -> dict[str, Any] | None:
    if discovery is None:
        return None
    stored = discovery.model_dump(exclude={"bmc_password"})
    if discovery.bmc_password is not None:
        stored[SEALED] = box.seal({"bmc_password": discovery.bmc_password.get_secret_value()})
    return stored


def _event_data(site: orm.Site, changed: list[str], old_zone: str | None) -> dict[str, Any]:
    zones = sorted({z for z in (site.zone, old_zone) if z})
    return {
        "name": site.name,
        "parent": site.parent,
        "zone": site.zone,
        "changed": changed,
        "dns_zones": zones,
    }


@router.get("")
async def list_sites(
    session: SessionDep,
    caller: Reader,
    parent: str | None = None,
    limit: Annotated[Limit, Query()] = 50,
    cursor: str | None = None,
) -> Page[SiteRead]:
    """List sites by name."""
    rows, next_cursor = await store.sites.list_page(
        session, parent=parent, limit=limit, cursor=cursor
    )
    return Page(items=[render(r, caller) for r in rows], next_cursor=next_cursor)


@router.post("", status_code=201)
async def create_site(
    body: SiteCreate, session: SessionDep, caller: Admin, box: Box, response: Response
) -> SiteRead:
    """Create a site."""
    values = body.model_dump(exclude_unset=False, exclude={"discovery"})
    values["discovery"] = _seal_discovery(body.discovery, box)
    async with session.begin():
        site = await store.sites.create(session, values)
        await store.events.append(
            session,
            "site.created",
            actor=caller.actor(),
            subject=("site", site.name),
            site=site.name,
            data=_event_data(site, sorted(body.model_fields_set), None),
        )
    response.headers["Location"] = f"/api/v1/sites/{site.name}"
    response.headers["ETag"] = f'"{site.version}"'
    return render(site, caller)


@router.get("/{name}")
async def read_site(name: str, session: SessionDep, caller: Reader, response: Response) -> SiteRead:
    """Read one site."""
    site = await store.sites.get(session, name)
    response.headers["ETag"] = f'"{site.version}"'
    return render(site, caller)


@router.patch("/{name}")
async def update_site(
    name: str,
    body: SiteUpdate,
    session: SessionDep,
    caller: Admin,
    box: Box,
    expected: IfMatch,
    response: Response,
) -> SiteRead:
    """Change a site."""
    changes = body.model_dump(include=body.model_fields_set - {"discovery"})
    for field in ("description", "config_values"):  # not nullable: null changes nothing
        if field in changes and changes[field] is None:  # (as for blueprints and structures)
            del changes[field]
    if "discovery" in body.model_fields_set:
        changes["discovery"] = _seal_discovery(body.discovery, box)
    async with session.begin():
        site = await store.sites.get(session, name, lock=True)
        old_zone, old_values = site.zone, site.config_values
        changed = await store.sites.update(session, site, changes, expected)
        if changed:
            await store.events.append(
                session,
                "site.updated",
                actor=caller.actor(),
                subject=("site", site.name),
                site=site.name,
                data=_event_data(site, changed, old_zone),
            )
        if "config_values" in changed:
            await store.configs.announce(
                session,
                ("site", name),
                site=name,
                keys=store.configs.changed_keys(old_values, site.config_values),
                dns_zones=[z for z in (old_zone, site.zone) if z],
                actor=caller.actor(),
            )
    response.headers["ETag"] = f'"{site.version}"'
    return render(site, caller)


@router.delete("/{name}", status_code=204)
async def delete_site(name: str, session: SessionDep, caller: Admin, expected: IfMatch) -> None:
    """Delete a site nothing refers to."""
    async with session.begin():
        site = await store.sites.get(session, name, lock=True)
        data = _event_data(site, [], None)
        await store.sites.delete(session, site, expected)
        await store.events.append(
            session,
            "site.deleted",
            actor=caller.actor(),
            subject=("site", name),
            site=name,
            data=data,
        )
