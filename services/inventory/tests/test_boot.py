from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

Headers = Callable[[str], dict[str, str]]
BOOT = "kernel {{ __boot_base }}/vmlinuz host={{ _hostname }}"


async def _setup(client: httpx.AsyncClient, as_role: Headers, seed: Any) -> dict[str, Any]:
    admin, op = as_role("admin"), as_role("operator")
    await client.patch(
        "/api/v1/sites/dc1/config",
        json={"set": {"dns_servers": ["10.0.0.2"], "domain_search": ["dc1.example.com"]}},
        headers=admin,
    )
    await client.post(
        "/api/v1/pxes",
        json={
            "name": "install",
            "boot_script": BOOT,
            "template": "d-i {{ __connection_parameters.ip_address }} {{ _hostname }}",
        },
        headers=admin,
    )
    await client.post(
        "/api/v1/pxes", json={"name": "bootstrap", "boot_script": "kernel discovery"}, headers=admin
    )
    net = (
        await client.post(
            "/api/v1/networks", json={"site": "dc1", "name": "prov", "mtu": 1500}, headers=admin
        )
    ).json()["id"]
    blk = (
        await client.post(
            "/api/v1/address-blocks",
            json={
                "site": "dc1",
                "name": "prov",
                "subnet": "10.0.0.0",
                "prefix": 24,
                "gateway_offset": 1,
            },
            headers=admin,
        )
    ).json()["id"]
    await client.put(
        f"/api/v1/networks/{net}/address-blocks/{blk}", json={"vlan": 0}, headers=admin
    )
    port = {
        "physical_location": "eth0",
        "name": "eth0",
        "network": net,
        "mac": "02:00:00:00:00:01",
        "is_provisioning": True,
        "pxe": "install",
    }
    ipmi = {"ipmi_ip_address": "10.9.9.9", "ipmi_username": "root", "ipmi_password": "pw-secret"}
    await seed.foundation(op, "f1", type="ipmi", attributes=ipmi, interfaces=[port])
    s = await seed.structure(op, "web1", "f1")
    await client.post(
        f"/api/v1/address-blocks/{blk}/addresses",
        json={"structure": s["id"], "interface_name": "eth0", "offset": 10, "is_primary": True},
        headers=op,
    )
    for offset in (100, 101, 102):
        await client.post(
            f"/api/v1/address-blocks/{blk}/addresses",
            json={"kind": "dynamic", "offset": offset, "pxe": "bootstrap"},
            headers=admin,
        )
    return {"structure": s, "block": blk}


async def test_render_resolve_and_dhcp(
    client: httpx.AsyncClient,
    as_role: Headers,
    world: dict[str, Any],
    seed: Any,
    agent_headers: Any,
) -> None:

    ctx = await _setup(client, as_role, seed)
    agent = await agent_headers(["dc1"])
    body = {
        "kind": "boot_script",
        "site": "dc1",
        "selector": {"mac": "02-00-00-00-00-01"},
        "variables": {"__boot_base": "http://agent:8080/boot"},
    }
    r = await client.post("/api/v1/boot/render", json=body, headers=agent)
    assert r.status_code == 200, r.text
    answer = r.json()
    assert answer["target"] == {"kind": "structure", "key": str(ctx["structure"]["id"])}
    assert answer["body"] == "#!ipxe\n\nkernel http://agent:8080/boot/vmlinuz host=web1"
    assert answer["pxe"] == "install"
    r = await client.post(
        "/api/v1/boot/render", json={**body, "kind": "pxe_template"}, headers=agent
    )
    assert r.json()["body"] == "d-i 10.9.9.9 web1" and "pw-secret" not in r.text
    r = await client.post(
        "/api/v1/boot/render", json={**body, "kind": "config"}, headers=as_role("service")
    )
    assert '"_hostname": "web1"' in r.json()["body"] and "pw-secret" not in r.text
    r = await client.post(
        "/api/v1/boot/render", json={**body, "selector": {"ip": "10.0.0.101"}}, headers=agent
    )
    assert (
        r.json()["target"]["kind"] == "address" and r.json()["body"] == "#!ipxe\n\nkernel discovery"
    )
    r = await client.post(
        "/api/v1/boot/render",
        json={**body, "selector": {"mac": "02:00:00:00:00:99"}},
        headers=agent,
    )
    assert r.json()["status"] == 404
    r = await client.get("/api/v1/resolve?site=dc1&mac=02:00:00:00:00:01", headers=agent)
    assert r.json()["interface"]["physical_location"] == "eth0"
    r = await client.get("/api/v1/resolve?site=dc1&ip=10.0.0.10", headers=agent)
    assert r.json()["target"]["kind"] == "structure"
    assert (await client.get("/api/v1/resolve?site=dc1&mac=nope", headers=agent)).status_code == 422
    r = await client.get("/api/v1/dhcp/dc1", headers=agent)
    assert r.status_code == 200, r.text
    dhcp = r.json()
    subnet = dhcp["subnets"][0]
    assert (
        subnet["network"] == "10.0.0.0/24"
        and subnet["gateway"] == "10.0.0.1"
        and subnet["mtu"] == 1500
    )
    assert subnet["dns_servers"] == ["10.0.0.2"] and subnet["domain_name"] == "dc1.example.com"
    assert subnet["dynamic"] == [{"first": "10.0.0.100", "last": "10.0.0.102", "pxe": "bootstrap"}]
    assert dhcp["static"] == [
        {
            "mac": "02:00:00:00:00:01",
            "ip": "10.0.0.10",
            "address_block": ctx["block"],
            "hostname": "web1",
            "fqdn": "web1.dc1.example.com",
            "config_uuid": ctx["structure"]["config_uuid"],
            "console": "ttyS1",
            "pxe": "install",
        }
    ]
    r2 = await client.get("/api/v1/dhcp/dc1", headers={**agent, "If-None-Match": r.headers["etag"]})
    assert r2.status_code == 304


async def test_agent_scope_and_roles(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], agent_headers: Any
) -> None:

    await client.post(
        "/api/v1/sites", json={"name": "dc2", "description": "d"}, headers=as_role("admin")
    )
    agent = await agent_headers(["dc2"])
    assert (await client.get("/api/v1/dhcp/dc1", headers=agent)).status_code == 403
    assert (await client.get("/api/v1/dhcp/dc2", headers=agent)).status_code == 200
    assert (await client.get("/api/v1/dhcp/dc1", headers=as_role("admin"))).status_code == 403


async def test_render_applies_the_overlay_without_keeping_it(
    client: httpx.AsyncClient,
    as_role: Headers,
    world: dict[str, Any],
    seed: Any,
    agent_headers: Any,
) -> None:
    await _setup(client, as_role, seed)
    agent, admin = await agent_headers(["dc1"]), as_role("admin")
    port = (await client.get("/api/v1/foundations/f1/interfaces/eth0", headers=admin)).json()
    before = len(await seed.events(admin))
    f1 = {"kind": "foundation", "key": "f1"}
    body = {
        "kind": "boot_script",
        "site": "dc1",
        "selector": {"mac": "02:00:00:00:00:01"},
        "overlay": [
            {"op": "set_pxe", "target": f1, "interface": port["id"], "pxe": "bootstrap"},
            # refused by inventory (no such interface): left out, the rest still applies
            {"op": "set_pxe", "target": f1, "interface": 999999, "pxe": "install"},
        ],
    }
    r = await client.post("/api/v1/boot/render", json=body, headers=agent)
    assert r.status_code == 200, r.text
    assert (r.json()["pxe"], r.json()["body"]) == ("bootstrap", "#!ipxe\n\nkernel discovery")
    # Nothing was kept: the port still boots install, and no event was written.
    again = (await client.get("/api/v1/foundations/f1/interfaces/eth0", headers=admin)).json()
    assert again["pxe"] == "install" and again["version"] == port["version"]
    assert len(await seed.events(admin)) == before
    r = await client.post("/api/v1/boot/render", json={**body, "overlay": []}, headers=agent)
    assert r.json()["pxe"] == "install"
    bad = {**body, "overlay": [{"op": "set_pxe", "target": f1, "interface": 0}]}
    r = await client.post("/api/v1/boot/render", json=bad, headers=agent)
    assert r.status_code == 422 and "overlay" in r.text
