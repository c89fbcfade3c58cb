"""DNS record sets (§11), for the dns service."""

from __future__ import annotations

from typing import Any

from contractor.inventory import store
from contractor.inventory.deps import Reader, SessionDep
from contractor.inventory.errors import ResourceNotFound
from fastapi import APIRouter, Request

router = APIRouter(prefix="/dns", tags=["dns"])


@router.get("/zones")
async def list_zones(request: Request, session: SessionDep, _: Reader) -> list[dict[str, Any]]:
    """List every zone with the digest of its record set and its problems."""
    zones = await store.dns_zones.all_zones(
        session, request.app.state.settings, request.app.state.renderer
    )
    return [
        {
            "zone": z["zone"],
            "kind": z["kind"],
            "problems": z["problems"],
            "sha256": store.dns_zones.digest({k: z[k] for k in ("soa", "ns", "records")}),
        }
        for z in zones.values()
    ]


@router.get("/zones/{zone:path}")
async def read_zone(zone: str, request: Request, session: SessionDep, _: Reader) -> dict[str, Any]:
    """Give one zone's SOA parameters, name servers and records, in canonical order."""
    zones = await store.dns_zones.all_zones(
        session, request.app.state.settings, request.app.state.renderer
    )
    found = zones.get(zone)
    if found is None or not found["ns"]:
        raise ResourceNotFound("served zone", zone)
    return {k: found[k] for k in ("zone", "soa", "ns", "records")}
