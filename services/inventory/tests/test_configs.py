from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

Headers = Callable[[str], dict[str, str]]


async def test_structure_config_merges_blueprint_site_and_structure(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    admin, op = as_role("admin"), as_role("operator")
    r = await client.patch(
        "/api/v1/blueprints/structure/sbp/config",
        json={"set": {"role": "web", "port": 80}},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    assert r.json()["role"] == "web" and r.json()["_blueprint"] == "sbp"
    r = await client.patch("/api/v1/sites/dc1/config", json={"set": {"port": 8080}}, headers=admin)
    assert r.status_code == 200 and r.json()["_site"] == "dc1"
    await seed.foundation(op, "f1")
    s = await seed.structure(op, "web1", "f1", config_values={"greeting": "hi {{ _hostname }}"})
    r = await client.get(f"/api/v1/structures/{s['id']}/config", headers=op)
    assert r.status_code == 200, r.text
    cfg = r.json()
    assert cfg["role"] == "web" and cfg["port"] == 8080  # the site overrides the blueprint
    assert cfg["greeting"] == "hi web1" and cfg["_fqdn"] == "web1.dc1.example.com"
    assert cfg["_foundation_type"] == "Manual" and cfg["_structure_id"] == s["id"]
    raw = (await client.get(f"/api/v1/structures/{s['id']}/config?render=false", headers=op)).json()
    assert raw["greeting"] == "hi {{ _hostname }}"
    r = await client.get("/api/v1/foundations/f1/config", headers=op)
    assert r.status_code == 200 and r.json()["_structure_id"] == s["id"]
    assert r.json()["_blueprint"] == "fbp"
    changed = await seed.events(admin, "config.changed")
    assert [e["data"]["target"] for e in changed] == [
        {"kind": "blueprint", "key": "sbp"},
        {"kind": "site", "key": "dc1"},
    ]
    assert changed[1]["data"]["keys"] == ["port"] and changed[1]["data"]["dns_zones"] == [
        "dc1.example.com"
    ]


async def test_structure_config_edit_rules(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    op = as_role("operator")
    await seed.foundation(op, "f1")
    s = await seed.structure(op, "web1", "f1", config_values={"a": 1, "db_password": "pw"})
    path = f"/api/v1/structures/{s['id']}/config"
    r = await client.patch(path, json={"set": {"b": 2}, "remove": ["a"]}, headers=op)
    assert r.status_code == 200, r.text
    assert "a" not in r.json() and r.json()["b"] == 2 and r.json()["db_password"] == "***"
    assert (await client.get(path, headers=as_role("admin"))).json()["db_password"] == "pw"
    r = await client.patch(path, json={"set": {"_bad": 1}}, headers=op)
    assert r.status_code == 422 and r.json()["type"].endswith("invalid-config")
    r = await client.patch(path, json={"set": {"x": "{{ nope.attr }}"}}, headers=op)
    assert r.status_code == 422 and r.json()["type"].endswith("config-render-error")
    stored = (await client.get(f"/api/v1/structures/{s['id']}", headers=as_role("admin"))).json()
    assert stored["config_values"] == {"db_password": "pw", "b": 2}
    assert (
        await client.patch(path, json={"set": {"c": 1}}, headers=as_role("viewer"))
    ).status_code == 403
    r = await client.patch(path, json={"put": {}}, headers=op)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "put"]


async def test_resource_patch_of_config_values_emits_config_changed(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    admin = as_role("admin")
    r = await client.patch("/api/v1/sites/dc1", json={"config_values": {"x": 1}}, headers=admin)
    assert r.status_code == 200
    changed = await seed.events(admin, "config.changed")
    assert changed[0]["data"]["keys"] == ["x"] and "1" not in str(changed[0]["data"]["keys"][1:])


async def test_interface_map_and_addresses_in_config(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    admin, op = as_role("admin"), as_role("operator")
    net = (
        await client.post(
            "/api/v1/networks", json={"site": "dc1", "name": "prov", "mtu": 9000}, headers=admin
        )
    ).json()["id"]
    blk = (
        await client.post(
            "/api/v1/address-blocks",
            json={
                "site": "dc1",
                "name": "a",
                "subnet": "10.0.0.0",
                "prefix": 24,
                "gateway_offset": 1,
            },
            headers=admin,
        )
    ).json()
    await client.put(
        f"/api/v1/networks/{net}/address-blocks/{blk['id']}", json={"vlan": 20}, headers=admin
    )
    port = {
        "physical_location": "eno1",
        "name": "eth0",
        "network": net,
        "mac": "02:00:00:00:00:09",
        "is_provisioning": True,
    }
    await seed.foundation(op, "f1", interfaces=[port])
    s = await seed.structure(op, "web1", "f1")
    r = await client.post(
        f"/api/v1/address-blocks/{blk['id']}/addresses",
        json={"structure": s["id"], "interface_name": "eth0", "offset": 10, "is_primary": True},
        headers=op,
    )
    assert r.status_code == 201, r.text
    cfg = (await client.get(f"/api/v1/structures/{s['id']}/config", headers=op)).json()
    assert (
        cfg["_provisioning_interface"] == "eth0"
        and cfg["_provisioning_interface_mac"] == "02:00:00:00:00:09"
    )
    assert cfg["_primary_interface"] == "eth0"
    assert cfg["_primary_address"] == {
        "address": "10.0.0.10",
        "netmask": "255.255.255.0",
        "prefix": 24,
        "subnet": "10.0.0.0",
        "gateway": "10.0.0.1",
        "auto": True,
        "alias_index": None,
        "primary": True,
        "vlan": 20,
    }
    eth0 = cfg["_interface_map"]["eth0"]
    assert eth0["network"] == "prov" and eth0["mtu"] == 9000 and eth0["physical_location"] == "eno1"
    assert [a["address"] for a in eth0["address_list"]] == ["10.0.0.10"]
    fcfg = (await client.get("/api/v1/foundations/f1/config", headers=op)).json()
    assert fcfg["_provisioning_interface"] == "eno1"
    snap = (
        await client.get(f"/api/v1/structures/{s['id']}/snapshot", headers=as_role("service"))
    ).json()
    assert (
        snap["structure"]["primary_ip"] == "10.0.0.10"
        and snap["structure"]["provisioning_ip"] == "10.0.0.10"
    )


async def test_chains_load_only_ancestors_in_order_diamonds_once(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    # The structure config and a foundation's create-time resources read a site chain and a
    # blueprint chain in one query (a recursive CTE each): the chains must come root first,
    # a diamond's shared ancestor once, and nothing from outside them.
    admin, op = as_role("admin"), as_role("operator")

    async def post(path: str, body: dict[str, Any]) -> None:
        r = await client.post(f"/api/v1{path}", json=body, headers=admin)
        assert r.status_code == 201, r.text

    await post("/sites", {"name": "room", "description": "r", "parent": "dc1"})
    await post(
        "/sites",
        {
            "name": "rack",
            "description": "r",
            "parent": "room",
            "config_values": {">trail": ["rack"]},
        },
    )
    r = await client.patch(
        "/api/v1/sites/room/config",
        json={"set": {">trail": ["room"], "memory_size": 2048}},
        headers=admin,
    )
    assert r.status_code == 200, r.text
    for name, parents, values in (
        ("f-root", [], {"cpu_count": 2}),
        ("f-mid", ["f-root"], {"cpu_count": 6}),
        ("f-other", [], {"cpu_count": 99, "memory_size": 1}),
    ):
        body = {"name": name, "description": name, "parents": parents, "config_values": values}
        await post("/blueprints/foundation", {**body, "foundation_types": ["sim", "manual"]})
    for name, parents, values in (
        ("s-root", [], {"trail": ["s-root"], "who": "s-root"}),
        ("s-a", ["s-root"], {">trail": ["s-a"], "who": "s-a"}),
        ("s-b", ["s-root"], {">trail": ["s-b"]}),
        ("s-leaf", ["s-a", "s-b"], {">trail": ["s-leaf"]}),
        ("s-other", [], {">trail": ["s-other"], "who": "s-other"}),
    ):
        body = {"name": name, "description": name, "parents": parents, "config_values": values}
        await post("/blueprints/structure", {**body, "foundation_blueprints": ["f-mid", "fbp"]})
    made = await seed.foundation(op, "vm1", site="rack", blueprint="f-mid", type="sim")
    assert made["resources"] == {"cpu_count": 6, "memory_mb": 2048, "disk_gb": 10}
    s = await seed.structure(
        op, "web1", "vm1", site="rack", blueprint="s-leaf", config_values={">trail": ["own"]}
    )
    cfg = (await client.get(f"/api/v1/structures/{s['id']}/config", headers=op)).json()
    assert cfg["trail"] == ["s-root", "s-a", "s-b", "s-leaf", "room", "rack", "own"]
    assert cfg["who"] == "s-a" and cfg["_blueprint"] == "s-leaf" and cfg["_site"] == "rack"
    r = await client.get("/api/v1/structures/0/config", headers=op)
    assert r.status_code == 404
