"""Boot data, DHCP and resolution (§12.5), for agents (scoped sites) and services."""

from __future__ import annotations

from typing import Annotated, Any

from contractor.inventory import store
from contractor.inventory.deps import AgentOrService, Box, SessionDep
from contractor.inventory.errors import ResourceNotFound, invalid
from contractor.inventory.foundation_types import REGISTRY
from contractor.inventory.schemas.boot import RenderRequest
from contractor.inventory.schemas.fields import normalize_mac
from fastapi import APIRouter, Header, Request, Response

router = APIRouter(tags=["boot"])


@router.post("/boot/render")
async def render_boot(
    body: RenderRequest, request: Request, session: SessionDep, caller: AgentOrService, box: Box
) -> dict[str, Any]:
    """Render a target's boot script, config or PXE template."""
    await store.sites.get(session, body.site)
    await store.boot.check_scope(session, caller, body.site)
    if body.overlay:  # the session is closed without a commit: the writes are not kept
        await store.job_writes.apply_virtually(session, body.overlay, caller.actor())
    found = await store.boot.by_selector(session, body.site, body.selector.model_dump())
    if found is None:
        return {
            "status": 404,
            "content_type": "text/plain",
            "body": "unknown target\n",
            "target": None,
            "pxe": None,
        }
    connection = None
    if found.foundation is not None:
        everything = {**found.foundation.attributes, **box.open(found.foundation.sealed_secrets)}
        connection = REGISTRY[found.foundation.type].connection(everything)
    return await store.boot.render(
        session,
        found,
        body.site,
        body.kind,
        body.variables,
        request.app.state.settings,
        request.app.state.renderer,
        connection,
    )


@router.get("/dhcp/{site}")
async def read_dhcp(
    site: str,
    request: Request,
    session: SessionDep,
    caller: AgentOrService,
    response: Response,
    if_none_match: Annotated[str | None, Header()] = None,
) -> Any:
    """Give a site's DHCP subnets, pools and static leases."""
    row = await store.sites.get(session, site)
    await store.boot.check_scope(session, caller, site)
    data = await store.boot.dhcp(
        session, row, request.app.state.settings, request.app.state.renderer
    )
    etag = f'"{store.dns_zones.digest(data)[:32]}"'
    if if_none_match == etag:
        return Response(status_code=304, headers={"ETag": etag})
    response.headers["ETag"] = etag
    return data


@router.get("/resolve")
async def resolve(
    site: str,
    session: SessionDep,
    caller: AgentOrService,
    mac: str | None = None,
    ip: str | None = None,
) -> dict[str, Any]:
    """Say which target a MAC or IP belongs to."""
    await store.sites.get(session, site)
    await store.boot.check_scope(session, caller, site)
    names = await store.sites.descendants(session, site)
    found = None
    if mac is not None:
        try:
            normalized = normalize_mac(mac)
        except ValueError as exc:  # pydantic's custom error is a ValueError
            raise invalid(["query", "mac"], "not a MAC address", "invalid-mac") from exc
        found = await store.boot.by_mac(session, names, normalized)
    elif ip is not None:
        found = await store.boot.by_ip(session, site, ip)
    if found is None:
        raise ResourceNotFound("target", mac or ip or "")
    port = found.interface
    return {
        "target": {"kind": found.kind, "key": found.key},
        "interface": None
        if port is None
        else {"id": port.id, "name": port.name, "physical_location": port.physical_location},
    }
