from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

Headers = Callable[[str], dict[str, str]]


async def _network(
    client: httpx.AsyncClient, admin: dict[str, str], site: str = "dc1", name: str = "prov"
) -> int:
    r = await client.post("/api/v1/networks", json={"site": site, "name": name}, headers=admin)
    assert r.status_code == 201, r.text
    network_id: int = r.json()["id"]
    return network_id


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("11:22:33:4D:55:66", "11:22:33:4d:55:66"),
        ("b211.1234.4433", "b2:11:12:34:44:33"),
        ("12a123123123", "12:a1:23:12:31:23"),
        ("aa-bb-cc-dd-ee-ff", "aa:bb:cc:dd:ee:ff"),
    ],
)
async def test_macs_are_normalised(
    client: httpx.AsyncClient,
    as_role: Headers,
    world: dict[str, Any],
    seed: Any,
    given: str,
    stored: str,
) -> None:
    net = await _network(client, as_role("admin"))
    port = {"physical_location": "eth0", "name": "eth0", "network": net, "mac": given}
    made = await seed.foundation(as_role("operator"), "f1", interfaces=[port])
    r = await client.get("/api/v1/foundations/f1/interfaces/eth0", headers=as_role("viewer"))
    assert r.status_code == 200 and r.json()["mac"] == stored and made["locator"] == "f1"


async def test_ports_rules_and_events(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    admin, op = as_role("admin"), as_role("operator")
    net = await _network(client, admin)
    await seed.foundation(op, "f1")
    await seed.foundation(op, "f2")
    path = "/api/v1/foundations/f1/interfaces"
    port = {
        "physical_location": "eth0",
        "name": "eth0",
        "network": net,
        "mac": "02:00:00:00:00:01",
        "is_provisioning": True,
    }
    assert (await client.post(path, json=port, headers=op)).status_code == 201
    for bad in ("12:3123123123", "11:22:33:44:55:s6", "sdf", "11:22:33:44:55:66xx"):
        r = await client.post(
            path, json={**port, "physical_location": "eth1", "name": "eth1", "mac": bad}, headers=op
        )
        assert r.status_code == 422 and r.json()["type"].endswith("invalid-mac"), bad
    r = await client.post("/api/v1/foundations/f2/interfaces", json=port, headers=op)
    assert r.status_code == 409 and r.json()["type"].endswith("mac-conflict")
    second = {**port, "physical_location": "eth1", "name": "eth1", "mac": None}
    r = await client.post(path, json=second, headers=op)
    assert r.status_code == 409, "one provisioning interface per foundation"
    r = await client.post(
        path, json={**second, "is_provisioning": False, "name": "eth0"}, headers=op
    )
    assert r.status_code == 409, "names are unique per foundation"
    await client.post("/api/v1/sites", json={"name": "dc2", "description": "d"}, headers=admin)
    far = await _network(client, admin, "dc2", "far")
    r = await client.post(
        path, json={**second, "is_provisioning": False, "network": far}, headers=op
    )
    assert r.status_code == 422 and r.json()["type"].endswith("site-mismatch")
    r = await client.patch(f"{path}/eth0", json={"link_name": "sw1/1"}, headers=op)
    assert r.status_code == 200 and r.json()["link_name"] == "sw1/1"
    assert (await client.delete(f"/api/v1/networks/{net}", headers=admin)).status_code == 409
    assert (await client.post(path, json=second, headers=as_role("viewer"))).status_code == 403
    types = [e["type"] for e in await seed.events(op, "interface.*")]
    assert types == ["interface.created", "interface.updated"]
    assert (await client.delete("/api/v1/foundations/f1", headers=op)).status_code == 204
    assert (await client.delete(f"/api/v1/networks/{net}", headers=admin)).status_code == 204


async def test_abstract_interfaces_and_snapshot(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    admin, op, svc = as_role("admin"), as_role("operator"), as_role("service")
    net = await _network(client, admin)
    ports = [
        {
            "physical_location": f"eth{n}",
            "name": f"eth{n}",
            "network": net,
            "is_provisioning": n == 0,
        }
        for n in (0, 1)
    ]
    await seed.foundation(op, "f1", interfaces=ports)
    s = await seed.structure(op, "web1", "f1")
    path = f"/api/v1/structures/{s['id']}/interfaces"
    r = await client.post(path, json={"name": "eth0", "network": net}, headers=op)
    assert r.status_code == 409, "abstract names may not shadow real ones"
    bond = {
        "name": "bond0",
        "network": net,
        "kind": "aggregated",
        "primary": "eth0",
        "secondaries": ["eth1"],
        "parameters": {"mode": "802.3ad"},
    }
    r = await client.post(path, json=bond, headers=op)
    assert r.status_code == 201, r.text
    assert r.json()["owner"] == {"kind": "structure", "key": str(s["id"])}
    r = await client.post(path, json={**bond, "name": "bond1", "secondaries": ["eth0"]}, headers=op)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "secondaries", 0]
    r = await client.get(f"/api/v1/structures/{s['id']}/snapshot", headers=svc)
    assert r.status_code == 200, r.text
    snap = r.json()
    assert [p["physical_location"] for p in snap["foundation"]["interface_list"]] == [
        "eth0",
        "eth1",
    ]
    assert snap["foundation"]["provisioning_interface"]["name"] == "eth0"
    assert [i["name"] for i in snap["structure"]["interface_list"]] == ["bond0"]
    r = await client.post(
        "/api/v1/foundations/f1/state", json={"from": "planned", "to": "built"}, headers=op
    )
    assert r.status_code == 200
    assert (await client.delete(f"{path}/bond0", headers=op)).status_code == 204
    assert (await client.delete(f"/api/v1/structures/{s['id']}", headers=op)).status_code == 204


async def test_inline_interface_error_writes_nothing(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    op = as_role("operator")
    body = {
        "locator": "f1",
        "site": "dc1",
        "blueprint": "fbp",
        "type": "manual",
        "interfaces": [{"physical_location": "eth0", "name": "eth0", "network": 999}],
    }
    r = await client.post("/api/v1/foundations", json=body, headers=op)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == [
        "body",
        "interfaces",
        0,
        "network",
    ]
    assert (await client.get("/api/v1/foundations", headers=op)).json()["items"] == []
    assert await seed.events(op, "foundation.*,interface.*") == []


async def test_deleting_a_foundation_announces_its_interfaces_first(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    op = as_role("operator")
    net = await _network(client, as_role("admin"))
    ports = [
        {"physical_location": f"eth{n}", "name": f"eth{n}", "network": net, "mac": None}
        for n in (1, 0)
    ]
    await seed.foundation(op, "f1", interfaces=ports)
    head = (await client.get("/api/v1/events/head", headers=op)).json()["cursor"]
    assert (await client.delete("/api/v1/foundations/f1", headers=op)).status_code == 204
    found = (await client.get(f"/api/v1/events?after={head}", headers=op)).json()["events"]
    assert [e["type"] for e in found] == [
        "interface.deleted",
        "interface.deleted",
        "foundation.deleted",
    ]
    assert [e["data"]["physical_location"] for e in found[:2]] == ["eth0", "eth1"]
    assert all(e["data"]["owner"] == {"kind": "foundation", "key": "f1"} for e in found[:2])
    r = await client.get("/api/v1/foundations/f1/interfaces", headers=op)
    assert r.status_code == 404
