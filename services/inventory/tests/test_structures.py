from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

Headers = Callable[[str], dict[str, str]]


async def test_crud_with_fqdn_and_events(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    op = as_role("operator")
    await seed.foundation(op, "f1")
    made = await seed.structure(op, "web1", "f1", config_values={"role": "web"})
    assert made["fqdn"] == "web1.dc1.example.com" and made["domain_name"] == "dc1.example.com"
    assert made["state"] == "planned" and len(made["config_uuid"]) == 36
    sid = made["id"]
    r = await client.get(f"/api/v1/structures/{sid}", headers=as_role("viewer"))
    assert r.status_code == 200 and r.headers["etag"] == '"1"'
    r = await client.patch(f"/api/v1/structures/{sid}", json={"hostname": "web2"}, headers=op)
    assert r.status_code == 200 and r.json()["fqdn"] == "web2.dc1.example.com"
    r = await client.get("/api/v1/foundations/f1", headers=op)
    assert r.json()["structure"] == sid
    assert (await client.delete(f"/api/v1/structures/{sid}", headers=op)).status_code == 204
    evs = await seed.events(op, "structure.*")
    assert [e["type"] for e in evs] == [
        "structure.created",
        "structure.updated",
        "structure.deleted",
    ]
    assert evs[0]["data"]["dns_zones"] == ["dc1.example.com"]
    assert "web" not in str(evs[0]["data"].get("config_values", ""))


async def test_hostname_unique_in_site_and_zone(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    op, admin = as_role("operator"), as_role("admin")
    for locator in ("f1", "f2", "f3"):
        await seed.foundation(op, locator)
    await seed.structure(op, "web1", "f1")
    body = {"hostname": "web1", "site": "dc1", "blueprint": "sbp", "foundation": "f2"}
    r = await client.post("/api/v1/structures", json=body, headers=op)
    assert r.status_code == 409 and r.json()["type"].endswith("hostname-conflict")
    r = await client.post(
        "/api/v1/sites",
        json={"name": "dc2", "description": "twin", "zone": "dc1.example.com"},
        headers=admin,
    )
    assert r.status_code == 201
    r = await client.post("/api/v1/structures", json={**body, "site": "dc2"}, headers=op)
    assert r.status_code == 409 and r.json()["clashes"][0]["site"] == "dc1"
    await client.post("/api/v1/sites", json={"name": "dc3", "description": "other"}, headers=admin)
    r = await client.post("/api/v1/structures", json={**body, "site": "dc3"}, headers=op)
    assert r.status_code == 201
    r = await client.patch("/api/v1/sites/dc3", json={"zone": "dc1.example.com"}, headers=admin)
    assert r.status_code == 409 and r.json()["type"].endswith("hostname-conflict")


async def test_pairing_and_one_structure_per_foundation(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    op, admin = as_role("operator"), as_role("admin")
    await seed.foundation(op, "f1")
    r = await client.post(
        "/api/v1/blueprints/structure",
        json={"name": "lonely", "description": "no metal"},
        headers=admin,
    )
    assert r.status_code == 201
    body = {"hostname": "web1", "site": "dc1", "blueprint": "lonely", "foundation": "f1"}
    r = await client.post("/api/v1/structures", json=body, headers=op)
    assert r.status_code == 422 and r.json()["type"].endswith("blueprint-not-allowed")
    await seed.structure(op, "web1", "f1")
    r = await client.post(
        "/api/v1/structures", json={**body, "hostname": "web2", "blueprint": "sbp"}, headers=op
    )
    assert r.status_code == 409
    r = await client.patch(
        "/api/v1/blueprints/structure/sbp", json={"foundation_blueprints": []}, headers=admin
    )
    assert r.status_code == 409 and r.json()["type"].endswith("in-use")


async def test_validation_and_permissions(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    op = as_role("operator")
    await seed.foundation(op, "f1")
    base = {"hostname": "web1", "site": "dc1", "blueprint": "sbp", "foundation": "f1"}
    for body, loc in (
        ({**base, "hostname": "Web1"}, ["body", "hostname"]),
        ({**base, "hostname": "web1.x"}, ["body", "hostname"]),
        ({**base, "config_uuid": "x"}, ["body", "config_uuid"]),
        ({**base, "foundation": "nope"}, ["body", "foundation"]),
        ({**base, "config_values": {"dns_ttl": -1}}, ["body", "config_values", "dns_ttl"]),
    ):
        r = await client.post("/api/v1/structures", json=body, headers=op)
        assert r.status_code == 422, body
        assert r.json()["errors"][0]["loc"] == loc, body
    assert (
        await client.post("/api/v1/structures", json=base, headers=as_role("viewer"))
    ).status_code == 403
    assert (await client.get("/api/v1/structures", headers=op)).json()["items"] == []


async def test_filters(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    op = as_role("operator")
    ids = []
    for n in (1, 2, 3):
        await seed.foundation(op, f"f{n}")
        ids.append((await seed.structure(op, f"web{n}", f"f{n}"))["id"])
    r = await client.get("/api/v1/structures?hostname=web2", headers=op)
    assert [s["id"] for s in r.json()["items"]] == [ids[1]]
    r = await client.get("/api/v1/structures?foundation=f3", headers=op)
    assert [s["id"] for s in r.json()["items"]] == [ids[2]]
    r = await client.get("/api/v1/structures?limit=2", headers=op)
    assert [s["id"] for s in r.json()["items"]] == ids[:2]
    r = await client.get(f"/api/v1/structures?limit=2&cursor={r.json()['next_cursor']}", headers=op)
    assert [s["id"] for s in r.json()["items"]] == ids[2:]
