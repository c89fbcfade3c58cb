from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

Headers = Callable[[str], dict[str, str]]

DNS_CONFIG = {
    "dns_ns": ["eth0.ns1.dc1.example.com."],
    "dns_soa_email": "hostmaster@example.com",
    "dns_mx": [{"priority": 10, "target": "mx1.example.net."}],
    "dns_records": [
        {
            "name": "_ldap._tcp",
            "type": "SRV",
            "priority": 10,
            "weight": 5,
            "port": 389,
            "target": "eth0.ns1.dc1.example.com.",
        },
        {"name": "info", "type": "TXT", "text": "hello world"},
        {"name": "www", "type": "CNAME", "target": "web01"},
    ],
}


async def _worked_example(client: httpx.AsyncClient, as_role: Headers, seed: Any) -> None:
    admin, op = as_role("admin"), as_role("operator")
    r = await client.patch("/api/v1/sites/dc1", json={"config_values": DNS_CONFIG}, headers=admin)
    assert r.status_code == 200, r.text
    nets = {}
    for name in ("main", "storage", "dmz"):
        nets[name] = (
            await client.post("/api/v1/networks", json={"site": "dc1", "name": name}, headers=admin)
        ).json()["id"]
    blocks = {}
    for name, subnet, prefix, net, vlan in (
        ("main4", "10.0.0.0", 24, "main", 0),
        ("main6", "2001:db8:0:1::", 64, "main", 0),
        ("stor", "10.1.0.0", 24, "storage", 20),
        ("dmz", "192.0.2.64", 29, "dmz", 0),
    ):
        blocks[name] = (
            await client.post(
                "/api/v1/address-blocks",
                json={"site": "dc1", "name": name, "subnet": subnet, "prefix": prefix},
                headers=admin,
            )
        ).json()["id"]
        await client.put(
            f"/api/v1/networks/{nets[net]}/address-blocks/{blocks[name]}",
            json={"vlan": vlan},
            headers=admin,
        )
    hosts = {
        "ns1": ("rack1-u10", {"eth0": "main"}),
        "web01": ("rack1-u20", {"eth0": "main", "eth1": "storage"}),
        "lb01": ("rack1-u30", {"eth0": "main", "eth2": "dmz"}),
    }
    ids = {}
    for host, (locator, ports) in hosts.items():
        interfaces = [
            {"physical_location": n, "name": n, "network": nets[net]} for n, net in ports.items()
        ]
        await seed.foundation(op, locator, interfaces=interfaces)
        ids[host] = (await seed.structure(op, host, locator))["id"]
    for host, iface, block, offset, extra in (
        ("ns1", "eth0", "main4", 10, {"is_primary": True}),
        ("web01", "eth0", "main4", 30, {"is_primary": True}),
        ("web01", "eth0", "main4", 31, {"alias_index": 1}),
        ("web01", "eth1", "stor", 30, {}),
        ("web01", "eth0", "main6", 30, {}),
        ("lb01", "eth0", "main4", 40, {"is_primary": True}),
        ("lb01", "eth2", "dmz", 6, {}),
    ):
        r = await client.post(
            f"/api/v1/address-blocks/{blocks[block]}/addresses",
            json={"structure": ids[host], "interface_name": iface, "offset": offset, **extra},
            headers=op,
        )
        assert r.status_code == 201, r.text


def _lines(zone: dict[str, Any]) -> list[str]:
    return [f"{r['name']} {r['type']} {r['data']}" for r in zone["records"]]


async def test_worked_example_zones(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    await _worked_example(client, as_role, seed)
    viewer = as_role("viewer")
    listing = (await client.get("/api/v1/dns/zones", headers=viewer)).json()
    assert [(z["zone"], z["kind"]) for z in listing] == [
        ("0.0.10.in-addr.arpa", "reverse"),
        ("0.1.10.in-addr.arpa", "reverse"),
        ("1.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", "reverse"),
        ("2.0.192.in-addr.arpa", "reverse"),
        ("64/29.2.0.192.in-addr.arpa", "reverse"),
        ("dc1.example.com", "forward"),
    ]
    assert all(z["problems"] == [] and len(z["sha256"]) == 64 for z in listing)
    forward = (await client.get("/api/v1/dns/zones/dc1.example.com", headers=viewer)).json()
    assert forward["soa"] == {
        "mname": "eth0.ns1.dc1.example.com.",
        "rname": "hostmaster.example.com.",
        "ttl": 3600,
        "refresh": 86400,
        "retry": 7200,
        "expire": 3600000,
        "minimum": 3600,
    }
    assert forward["ns"] == ["eth0.ns1.dc1.example.com."]
    assert _lines(forward) == [
        "@ MX 10 mx1.example.net.",
        "_ldap._tcp SRV 10 5 389 eth0.ns1.dc1.example.com.",
        'info TXT "hello world"',
        "lb01 CNAME eth0.lb01",
        "eth0.lb01 A 10.0.0.40",
        'eth0.lb01 TXT "rack1-u30"',
        "eth2.lb01 A 192.0.2.70",
        'eth2.lb01 TXT "rack1-u30"',
        "ns1 CNAME eth0.ns1",
        "eth0.ns1 A 10.0.0.10",
        'eth0.ns1 TXT "rack1-u10"',
        "web01 CNAME eth0.web01",
        "eth0.web01 A 10.0.0.30",
        "eth0.web01 AAAA 2001:db8:0:1::1e",
        'eth0.web01 TXT "rack1-u20"',
        "eth0-1.web01 A 10.0.0.31",
        'eth0-1.web01 TXT "rack1-u20"',
        "v20.eth1.web01 A 10.1.0.30",
        'v20.eth1.web01 TXT "rack1-u20"',
        "www CNAME web01",
    ]
    r = await client.get("/api/v1/dns/zones/0.0.10.in-addr.arpa", headers=viewer)
    assert _lines(r.json()) == [
        "10 PTR ns1.dc1.example.com.",
        '10 TXT "eth0.ns1.dc1.example.com"',
        "30 PTR web01.dc1.example.com.",
        '30 TXT "eth0.web01.dc1.example.com"',
        "31 PTR web01.dc1.example.com.",
        '31 TXT "eth0-1.web01.dc1.example.com"',
        "40 PTR lb01.dc1.example.com.",
        '40 TXT "eth0.lb01.dc1.example.com"',
    ]
    r = await client.get("/api/v1/dns/zones/0.1.10.in-addr.arpa", headers=viewer)
    assert _lines(r.json()) == [
        "30 PTR web01.dc1.example.com.",
        '30 TXT "v20.eth1.web01.dc1.example.com"',
    ]
    r = await client.get("/api/v1/dns/zones/2.0.192.in-addr.arpa", headers=viewer)
    assert _lines(r.json()) == [f"{n} CNAME {n}.64/29" for n in range(65, 71)] + [
        "64/29 NS eth0.ns1.dc1.example.com."
    ]
    r = await client.get("/api/v1/dns/zones/64%2F29.2.0.192.in-addr.arpa", headers=viewer)
    assert _lines(r.json()) == [
        "70 PTR lb01.dc1.example.com.",
        '70 TXT "eth2.lb01.dc1.example.com"',
    ]
    r = await client.get(
        "/api/v1/dns/zones/1.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", headers=viewer
    )
    assert _lines(r.json()) == [
        "e.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0 PTR web01.dc1.example.com.",
        'e.1.0.0.0.0.0.0.0.0.0.0.0.0.0.0 TXT "eth0.web01.dc1.example.com"',
    ]


async def test_zone_without_ns_is_listed_with_a_problem(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any]
) -> None:
    listing = (await client.get("/api/v1/dns/zones", headers=as_role("viewer"))).json()
    assert listing[0]["zone"] == "dc1.example.com" and listing[0]["problems"]
    assert (
        await client.get("/api/v1/dns/zones/dc1.example.com", headers=as_role("viewer"))
    ).status_code == 404
