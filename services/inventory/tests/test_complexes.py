from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

Headers = Callable[[str], dict[str, str]]


async def _move(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], frm: str, to: str
) -> httpx.Response:
    return await client.post(f"/api/v1/{path}/state", json={"from": frm, "to": to}, headers=headers)


async def test_derived_state_and_auto_locate(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    op = as_role("operator")
    r = await client.post(
        "/api/v1/complexes",
        json={"name": "c1", "site": "dc1", "description": "pool", "type": "manual"},
        headers=op,
    )
    assert r.status_code == 201, r.text
    assert r.json()["state"] == "planned" and r.json()["members"] == []
    vm = await seed.foundation(op, "vm1", complex="c1")
    assert vm["state"] == "planned"
    ids = []
    for n in (1, 2):
        await seed.foundation(op, f"f{n}")
        ids.append((await seed.structure(op, f"host{n}", f"f{n}"))["id"])
    r = await client.patch(
        "/api/v1/complexes/c1", json={"members": ids, "built_percentage": 50}, headers=op
    )
    assert r.status_code == 200, r.text
    assert r.json()["members"] == ids and r.json()["state"] == "planned"
    assert (await _move(client, f"structures/{ids[0]}", op, "planned", "built")).status_code == 200
    c1 = (await client.get("/api/v1/complexes/c1", headers=op)).json()
    assert c1["state"] == "built" and c1["built_members"] == [ids[0]]
    vm = (await client.get("/api/v1/foundations/vm1", headers=op)).json()
    assert vm["state"] == "located"
    located = (await seed.events(op, "foundation.located"))[0]
    assert located["data"]["reason"] == "complex" and located["actor"]["kind"] == "system"
    assert (await _move(client, f"structures/{ids[0]}", op, "built", "planned")).status_code == 200
    types = [e["type"] for e in await seed.events(op, "complex.*")]
    assert types == ["complex.created", "complex.updated", "complex.built", "complex.planned"]
    r = await client.delete(f"/api/v1/structures/{ids[1]}", headers=op)
    assert r.status_code == 409 and r.json()["type"].endswith("not-deletable")
    r = await client.delete("/api/v1/complexes/c1", headers=op)
    assert r.status_code == 409 and r.json()["type"].endswith("in-use")
    assert (await client.delete("/api/v1/foundations/vm1", headers=op)).status_code == 204
    assert (await client.delete("/api/v1/complexes/c1", headers=op)).status_code == 204


async def test_complex_rules(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    op = as_role("operator")
    base = {"site": "dc1", "description": "pool", "type": "manual"}
    assert (
        await client.post("/api/v1/complexes", json={**base, "name": "c1"}, headers=op)
    ).status_code == 201
    r = await client.post(
        "/api/v1/complexes", json={**base, "name": "c2", "type": "warp"}, headers=op
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "type"]
    r = await client.post(
        "/api/v1/complexes", json={**base, "name": "c2", "state": "built"}, headers=op
    )
    assert r.status_code == 422 and r.json()["errors"][0]["type"] == "read-only"
    await seed.foundation(op, "f1")
    sid = (await seed.structure(op, "host1", "f1"))["id"]
    await client.patch("/api/v1/complexes/c1", json={"members": [sid]}, headers=op)
    r = await client.post(
        "/api/v1/complexes", json={**base, "name": "c2", "members": [sid]}, headers=op
    )
    assert r.status_code == 409
    r = await client.post(
        "/api/v1/complexes", json={**base, "name": "c3", "members": [999]}, headers=op
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "members", 0]
    body = {"locator": "x", "site": "dc1", "blueprint": "fbp", "type": "ipmi", "complex": "c1"}
    r = await client.post("/api/v1/foundations", json=body, headers=op)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "complex"]
    r = await client.post("/api/v1/foundations", json={**body, "type": "sim"}, headers=op)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "complex"]
    assert (
        await client.post(
            "/api/v1/complexes", json={**base, "name": "c9"}, headers=as_role("viewer")
        )
    ).status_code == 403
    r = await client.get("/api/v1/complex-types/manual", headers=as_role("viewer"))
    assert r.status_code == 200 and r.json()["name"] == "manual"


async def test_foundation_created_on_complex(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    admin, op = as_role("admin"), as_role("operator")
    net = (
        await client.post("/api/v1/networks", json={"site": "dc1", "name": "vms"}, headers=admin)
    ).json()["id"]
    await seed.foundation(op, "host")
    sid = (await seed.structure(op, "hv1", "host"))["id"]
    await _move(client, f"structures/{sid}", op, "planned", "built")
    r = await client.post(
        "/api/v1/complexes",
        json={
            "name": "c1",
            "site": "dc1",
            "description": "pool",
            "type": "manual",
            "members": [sid],
        },
        headers=op,
    )
    assert r.json()["state"] == "built"
    body = {
        "locator": "vm1",
        "blueprint": "fbp",
        "interfaces": [{"network": net}, {"network": net, "name": "data"}],
    }
    r = await client.post("/api/v1/complexes/c1/foundations", json=body, headers=op)
    assert r.status_code == 201, r.text
    assert r.json()["complex"] == "c1" and r.json()["type"] == "manual"
    assert r.json()["state"] == "located"
    ports = (await client.get("/api/v1/foundations/vm1/interfaces", headers=op)).json()["items"]
    assert [(p["physical_location"], p["name"], p["is_provisioning"]) for p in ports] == [
        ("eth0", "eth0", True),
        ("eth1", "data", False),
    ]
