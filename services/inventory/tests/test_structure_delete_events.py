from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

Headers = Callable[[str], dict[str, str]]

ADDRESS_KEYS = {
    "id",
    "kind",
    "address_block",
    "offset",
    "ip_address",
    "structure",
    "interface_name",
    "alias_index",
    "is_primary",
    "dns_zones",
}
INTERFACE_KEYS = {"owner", "name", "physical_location", "network", "mac", "changed", "dns_zones"}


async def _structure_with_children(
    client: httpx.AsyncClient, as_role: Headers, seed: Any
) -> dict[str, Any]:
    """``web1`` with addresses 10.0.0.5 (primary), .6 (eth0 alias 1), .7 (bond0) and two
    abstract interfaces."""
    admin, op = as_role("admin"), as_role("operator")
    net = (
        await client.post("/api/v1/networks", json={"site": "dc1", "name": "n"}, headers=admin)
    ).json()["id"]
    block = (
        await client.post(
            "/api/v1/address-blocks",
            json={"site": "dc1", "name": "a", "subnet": "10.0.0.0", "prefix": 24},
            headers=admin,
        )
    ).json()["id"]
    await seed.foundation(op, "f1")
    s = await seed.structure(op, "web1", "f1")
    ids = []
    for offset, name, extra in (
        (5, "eth0", {"is_primary": True}),
        (6, "eth0", {"alias_index": 1}),
        (7, "bond0", {}),
    ):
        r = await client.post(
            f"/api/v1/address-blocks/{block}/addresses",
            json={
                "kind": "address",
                "offset": offset,
                "structure": s["id"],
                "interface_name": name,
                **extra,
            },
            headers=op,
        )
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    ifaces = []
    for name in ("vlan9", "bond0"):
        r = await client.post(
            f"/api/v1/structures/{s['id']}/interfaces",
            json={"name": name, "network": net},
            headers=op,
        )
        assert r.status_code == 201, r.text
        ifaces.append(r.json()["id"])
    return {"structure": s, "addresses": ids, "interfaces": ifaces, "network": net, "block": block}


async def test_delete_emits_address_and_interface_events_before_the_structure(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    ctx = await _structure_with_children(client, as_role, seed)
    op, sid = as_role("operator"), ctx["structure"]["id"]
    head = (await client.get("/api/v1/events/head", headers=op)).json()["cursor"]
    r = await client.delete(f"/api/v1/structures/{sid}", headers=op)
    assert r.status_code == 204, r.text
    r = await client.get(f"/api/v1/events?after={head}&limit=100", headers=op)
    found = r.json()["events"]
    assert [(e["type"], e["subject"]) for e in found] == [
        *[("address.deleted", {"kind": "address", "key": str(i)}) for i in ctx["addresses"]],
        ("interface.deleted", {"kind": "interface", "key": str(ctx["interfaces"][1])}),  # bond0
        ("interface.deleted", {"kind": "interface", "key": str(ctx["interfaces"][0])}),  # vlan9
        ("structure.deleted", {"kind": "structure", "key": str(sid)}),
    ]
    cursors = [int(e["cursor"]) for e in found]
    assert cursors == sorted(cursors)
    assert all(e["site"] == "dc1" for e in found)
    addresses = [e["data"] for e in found[:3]]
    assert all(set(a) == ADDRESS_KEYS for a in addresses)
    assert [
        (a["ip_address"], a["offset"], a["interface_name"], a["alias_index"], a["is_primary"])
        for a in addresses
    ] == [
        ("10.0.0.5", 5, "eth0", None, True),
        ("10.0.0.6", 6, "eth0", 1, False),
        ("10.0.0.7", 7, "bond0", None, False),
    ]
    assert all(a["structure"] == sid and a["address_block"] == ctx["block"] for a in addresses)
    assert all(a["kind"] == "address" for a in addresses)
    # The forward zone of the site and the reverse zone of the block both change.
    assert addresses[0]["dns_zones"] == ["dc1.example.com", "0.0.10.in-addr.arpa"]
    interfaces = [e["data"] for e in found[3:5]]
    assert all(set(i) == INTERFACE_KEYS for i in interfaces)
    assert [i["name"] for i in interfaces] == ["bond0", "vlan9"]
    assert all(i["owner"] == {"kind": "structure", "key": str(sid)} for i in interfaces)
    assert all(i["network"] == ctx["network"] and i["mac"] is None for i in interfaces)
    assert all(i["dns_zones"] == ["dc1.example.com"] for i in interfaces)
    assert found[-1]["data"]["hostname"] == "web1"
    assert (await client.get(f"/api/v1/structures/{sid}/addresses", headers=op)).status_code == 404
    r = await client.get(f"/api/v1/addresses/{ctx['addresses'][0]}", headers=op)
    assert r.status_code == 404


async def test_refused_delete_emits_nothing_and_keeps_children(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    ctx = await _structure_with_children(client, as_role, seed)
    op, sid = as_role("operator"), ctx["structure"]["id"]
    await client.post(
        "/api/v1/foundations/f1/state", json={"from": "planned", "to": "built"}, headers=op
    )
    r = await client.post(
        f"/api/v1/structures/{sid}/state", json={"from": "planned", "to": "built"}, headers=op
    )
    assert r.status_code == 200, r.text
    head = (await client.get("/api/v1/events/head", headers=op)).json()["cursor"]
    r = await client.delete(f"/api/v1/structures/{sid}", headers=op)
    assert r.status_code == 409 and r.json()["type"].endswith("not-deletable")
    r = await client.delete(f"/api/v1/structures/{sid}", headers={**op, "If-Match": '"999"'})
    assert r.status_code == 412
    after = (await client.get(f"/api/v1/events?after={head}", headers=op)).json()["events"]
    assert after == []
    kept = (await client.get(f"/api/v1/structures/{sid}/addresses", headers=op)).json()
    assert [a["id"] for a in kept] == ctx["addresses"]
    r = await client.get(f"/api/v1/structures/{sid}/interfaces", headers=op)
    assert [i["name"] for i in r.json()["items"]] == ["bond0", "vlan9"]


async def test_delete_without_children_emits_only_the_structure_event(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    op = as_role("operator")
    await seed.foundation(op, "f1")
    s = await seed.structure(op, "bare", "f1")
    head = (await client.get("/api/v1/events/head", headers=op)).json()["cursor"]
    assert (await client.delete(f"/api/v1/structures/{s['id']}", headers=op)).status_code == 204
    after = (await client.get(f"/api/v1/events?after={head}", headers=op)).json()["events"]
    assert [e["type"] for e in after] == ["structure.deleted"]
