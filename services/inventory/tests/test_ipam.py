from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest
from contractor.inventory import addressing, orm
from contractor.servicekit.db import utcnow
from fastapi import FastAPI
from sqlalchemy import insert, select

Headers = Callable[[str], dict[str, str]]


async def _block(
    client: httpx.AsyncClient,
    admin: dict[str, str],
    name: str,
    subnet: str,
    prefix: int,
    **extra: Any,
) -> httpx.Response:
    body = {"site": "dc1", "name": name, "subnet": subnet, "prefix": prefix, **extra}
    return await client.post("/api/v1/address-blocks", json=body, headers=admin)


@pytest.mark.parametrize(
    ("subnet", "prefix", "stored", "bounds", "first", "twentieth"),
    [
        ("10.0.0.0", 21, "10.0.0.0", [1, 2046], "10.0.0.1", "10.0.0.20"),
        ("169.254.57.127", 23, "169.254.56.0", [1, 510], "169.254.56.1", "169.254.56.20"),
        ("2001:db8::", 96, "2001:db8::", [1, 4294967294], "2001:db8::1", "2001:db8::14"),
        ("2001::1000", 120, "2001::1000", [1, 254], "2001::1001", "2001::1014"),
        ("10.0.0.0", 31, "10.0.0.0", [0, 1], "10.0.0.1", None),
        (
            "2001:db8:0:1::",
            64,
            "2001:db8:0:1::",
            [1, 18446744073709551614],
            "2001:db8:0:1::1",
            "2001:db8:0:1::14",
        ),
    ],
)
async def test_worked_block_examples(
    client: httpx.AsyncClient,
    as_role: Headers,
    world: dict[str, Any],
    seed: Any,
    subnet: str,
    prefix: int,
    stored: str,
    bounds: list[int],
    first: str,
    twentieth: str | None,
) -> None:
    admin = as_role("admin")
    r = await _block(client, admin, "b", subnet, prefix)
    assert r.status_code == 201, r.text
    block = r.json()
    assert block["subnet"] == stored and block["offset_bounds"] == bounds
    path = f"/api/v1/address-blocks/{block['id']}/addresses"
    r = await client.post(
        path, json={"kind": "reserved", "offset": 1, "reason": "r"}, headers=admin
    )
    assert r.status_code == 201 and r.json()["ip_address"] == first
    r = await client.post(
        path, json={"kind": "reserved", "offset": 20, "reason": "r"}, headers=admin
    )
    if twentieth is None:
        assert r.status_code == 422 and r.json()["type"].endswith("offset-out-of-range")
    else:
        assert r.status_code == 201 and r.json()["ip_address"] == twentieth


async def test_static_reserved_gateway_and_usage(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    admin, op = as_role("admin"), as_role("operator")
    await seed.foundation(op, "f1")
    web = await seed.structure(op, "web01", "f1")
    a = (await _block(client, admin, "a", "10.0.0.0", 24)).json()
    c = (await _block(client, admin, "c", "10.0.2.0", 24, gateway_offset=1)).json()
    pa, pc = (
        f"/api/v1/address-blocks/{a['id']}/addresses",
        f"/api/v1/address-blocks/{c['id']}/addresses",
    )
    static = {"structure": web["id"], "interface_name": "eth0"}
    for offset in (0, 255):
        r = await client.post(pa, json={**static, "offset": offset}, headers=op)
        assert r.status_code == 422 and "between 1 and 254" in r.json()["detail"]
    r = await client.post(pa, json={**static, "offset": 1, "is_primary": True}, headers=op)
    assert r.status_code == 201, r.text
    assert {k: r.json()[k] for k in ("ip_address", "netmask", "prefix", "subnet", "gateway")} == {
        "ip_address": "10.0.0.1",
        "netmask": "255.255.255.0",
        "prefix": 24,
        "subnet": "10.0.0.0",
        "gateway": None,
    }
    r = await client.post(pa, json={"kind": "reserved", "offset": 1, "reason": "x"}, headers=admin)
    assert r.status_code == 409 and r.json()["holder_kind"] == "address"
    r = await client.post(pc, json={**static, "offset": 1}, headers=op)
    assert r.status_code == 409 and r.json()["type"].endswith("gateway-conflict")
    r = await client.post(pc, json={**static, "offset": 2, "is_primary": True}, headers=op)
    assert r.status_code == 409 and r.json()["type"].endswith("primary-exists")
    r = await client.post(pc, json={**static, "ip_address": "10.0.2.2"}, headers=op)
    assert r.status_code == 201 and r.json()["gateway"] == "10.0.2.1" and r.json()["offset"] == 2
    r = await client.post(pa, json={"kind": "reserved", "offset": 9, "reason": "x"}, headers=op)
    assert r.status_code == 403
    r = await client.get("/api/v1/addresses/lookup?ip=10.0.2.2&site=dc1", headers=op)
    assert r.status_code == 200 and r.json()["structure"] == web["id"]
    r = await client.get(f"/api/v1/structures/{web['id']}/addresses", headers=op)
    assert [x["ip_address"] for x in r.json()] == ["10.0.0.1", "10.0.2.2"]
    r = await client.get(f"/api/v1/address-blocks/{c['id']}", headers=op)
    assert r.json()["usage"] == {"size": 254, "static": 1, "reserved": 1, "dynamic": 0, "free": 252}
    created = await seed.events(admin, "address.created")
    assert created[0]["data"]["ip_address"] == "10.0.0.1"
    assert created[0]["data"]["dns_zones"] == ["dc1.example.com", "0.0.10.in-addr.arpa"]


async def test_block_rules(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any]
) -> None:
    admin = as_role("admin")
    assert (await _block(client, admin, "big", "10.0.0.0", 8)).status_code == 201
    r = await _block(client, admin, "inner", "10.1.0.0", 24)
    assert r.status_code == 409 and r.json()["type"].endswith("overlap")
    await client.post("/api/v1/sites", json={"name": "dc2", "description": "d"}, headers=admin)
    body = {"site": "dc2", "name": "inner", "subnet": "10.1.0.0", "prefix": 24}
    assert (
        await client.post("/api/v1/address-blocks", json=body, headers=admin)
    ).status_code == 201
    r = await _block(client, admin, "x", "192.168.0.0", 33)
    assert r.status_code == 422 and r.json()["type"].endswith("invalid-prefix")
    r = await _block(client, admin, "x", "10.200.3.7", 32, gateway_offset=0)
    assert r.status_code == 422 and r.json()["type"].endswith("invalid-gateway")
    r = await _block(client, admin, "x", "not-an-ip", 24)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "subnet"]
    blk = (await _block(client, admin, "small", "192.168.4.0", 25)).json()
    path = f"/api/v1/address-blocks/{blk['id']}"
    await client.post(
        f"{path}/addresses", json={"kind": "reserved", "offset": 124, "reason": "x"}, headers=admin
    )
    r = await client.patch(path, json={"prefix": 26}, headers=admin)
    assert r.status_code == 409 and r.json()["offsets"] == [124]
    r = await client.delete(path, headers=admin)
    assert r.status_code == 409 and r.json()["type"].endswith("in-use")
    r = await client.post(
        "/api/v1/address-blocks",
        json={**body, "site": "dc1", "name": "y", "subnet": "172.16.0.0", "usage": {}},
        headers=admin,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["type"] == "read-only"


async def test_next_free_allocation(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    admin, op = as_role("admin"), as_role("operator")
    await seed.foundation(op, "f1")
    web = await seed.structure(op, "web01", "f1")
    blk = (await _block(client, admin, "a", "10.0.0.0", 24, gateway_offset=1)).json()
    path = f"/api/v1/address-blocks/{blk['id']}"
    for offset in range(2, 10):
        await client.post(
            f"{path}/addresses",
            json={"kind": "reserved", "offset": offset, "reason": "r"},
            headers=admin,
        )
    for offset in range(200, 220):
        await client.post(
            f"{path}/addresses", json={"kind": "dynamic", "offset": offset}, headers=admin
        )
    for offset in (10, 12):
        r = await client.post(
            f"{path}/addresses",
            json={
                "structure": web["id"],
                "interface_name": "eth0",
                "offset": offset,
                "alias_index": offset,
            },
            headers=op,
        )
        assert r.status_code == 201, r.text
    usage = (await client.get(path, headers=op)).json()["usage"]
    assert usage == {"size": 254, "static": 2, "reserved": 9, "dynamic": 20, "free": 223}
    assert (await client.get(f"{path}/next-free", headers=op)).json() == {
        "offset": 11,
        "ip_address": "10.0.0.11",
    }
    want = {"structure": web["id"], "interface_name": "eth1"}
    r = await client.post(f"{path}/next-free", json=want, headers=op)
    assert r.status_code == 201 and r.json()["offset"] == 11
    r = await client.post(f"{path}/next-free", json={**want, "alias_index": 1}, headers=op)
    assert r.json()["offset"] == 13
    tiny = (await _block(client, admin, "tiny", "10.9.9.0", 31)).json()
    for expected in (0, 1):
        r = await client.post(
            f"/api/v1/address-blocks/{tiny['id']}/next-free",
            json={**want, "alias_index": 5 + expected},
            headers=op,
        )
        assert r.json()["offset"] == expected
    r = await client.post(
        f"/api/v1/address-blocks/{tiny['id']}/next-free",
        json={**want, "alias_index": 9},
        headers=op,
    )
    assert r.status_code == 409 and r.json()["type"].endswith("no-free-address")
    eleven = (await client.get("/api/v1/addresses?ip=10.0.0.11", headers=op)).json()["items"][0]
    assert (await client.delete(f"/api/v1/addresses/{eleven['id']}", headers=op)).status_code == 204
    assert (await client.get(f"{path}/next-free", headers=op)).json()["offset"] == 11


async def _import(app: FastAPI, block: int, offsets: list[int]) -> None:
    """Addresses written behind the API's back (a bulk import): ``free_hint`` is not kept."""
    now = utcnow()
    rows = [
        {
            "kind": "reserved",
            "address_block": block,
            "offset": addressing.pack(n),
            "is_primary": False,
            "reason": "bulk",
            "created_at": now,
            "updated_at": now,
            "version": 1,
        }
        for n in offsets
    ]
    async with app.state.sessions() as session, session.begin():
        await session.execute(insert(orm.Address.__table__), rows)


async def _hint(app: FastAPI, block: int) -> int | None:
    async with app.state.sessions() as session:
        raw = await session.scalar(
            select(orm.AddressBlock.free_hint).where(orm.AddressBlock.id == block)
        )
    return None if raw is None else addressing.unpack(raw)


@pytest.mark.parametrize(
    ("taken", "gateway", "first"),
    [
        (range(2, 3001), None, 1),  # a gap at the start
        ([*range(1, 1500), *range(1501, 3001)], None, 1500),  # in the middle
        (range(1, 3001), None, 3001),  # none: the offset after the run
        (range(1, 3001), 3001, 3002),  # none, and the gateway right after the run
        ([*range(1, 1500), *range(1501, 3001)], 1500, 3001),  # the gap is the gateway
        (range(1, 4094), None, 4094),  # the block's last offset
        (range(1, 4095), None, None),  # full
    ],
)
async def test_next_free_after_a_bulk_import(
    app: FastAPI,
    client: httpx.AsyncClient,
    as_role: Headers,
    world: dict[str, Any],
    seed: Any,
    taken: Any,
    gateway: int | None,
    first: int | None,
) -> None:
    admin, op = as_role("admin"), as_role("operator")
    await seed.foundation(op, "f1")
    web = {"structure": (await seed.structure(op, "web01", "f1"))["id"], "interface_name": "eth0"}
    extra = {} if gateway is None else {"gateway_offset": gateway}
    blk = (await _block(client, admin, "big", "10.16.0.0", 20, **extra)).json()
    path = f"/api/v1/address-blocks/{blk['id']}"
    await _import(app, blk["id"], [n for n in taken if n != gateway])
    for _ in range(2):  # the first walks and keeps the hint, the second reads it
        r = await client.get(f"{path}/next-free", headers=op)
        assert r.status_code == 200 and r.json()["offset"] == first, r.text
    assert await _hint(app, blk["id"]) in (None if first == 1 else first, 4095)
    r = await client.post(f"{path}/next-free", json=web, headers=op)
    if first is None:
        assert r.status_code == 409, r.text
    else:
        assert r.status_code == 201 and r.json()["offset"] == first, r.text


async def test_a_kept_hint_follows_deletes_and_later_imports(
    app: FastAPI, client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    admin, op = as_role("admin"), as_role("operator")
    await seed.foundation(op, "f1")
    web = {"structure": (await seed.structure(op, "web01", "f1"))["id"], "interface_name": "eth0"}
    blk = (await _block(client, admin, "big", "10.16.0.0", 20)).json()
    path = f"/api/v1/address-blocks/{blk['id']}"
    await _import(app, blk["id"], [*range(1, 1500), *range(1501, 2001)])
    assert (await client.get(f"{path}/next-free", headers=op)).json()["offset"] == 1500
    assert await _hint(app, blk["id"]) == 1500
    # A delete below the kept hint frees its offset: the hint comes down to it.
    seven = (await client.get("/api/v1/addresses?ip=10.16.0.7", headers=op)).json()["items"][0]
    assert (
        await client.delete(f"/api/v1/addresses/{seven['id']}", headers=admin)
    ).status_code == 204
    assert (await client.get(f"{path}/next-free", headers=op)).json()["offset"] == 7
    r = await client.post(f"{path}/next-free", json=web, headers=op)
    assert r.status_code == 201 and r.json()["offset"] == 7
    # More imported at and past the hint make it stale again: the next preview walks on.
    await _import(app, blk["id"], [1500, *range(2001, 2500)])
    assert (await client.get(f"{path}/next-free", headers=op)).json()["offset"] == 2500
    assert await _hint(app, blk["id"]) == 2500


async def test_deleting_a_structure_frees_its_offsets_for_the_next_allocation(
    app: FastAPI, client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    admin, op = as_role("admin"), as_role("operator")
    await seed.foundation(op, "f1")
    await seed.foundation(op, "f2")
    web = (await seed.structure(op, "web01", "f1"))["id"]
    db = (await seed.structure(op, "db01", "f2"))["id"]
    blk = (await _block(client, admin, "small", "10.20.0.0", 24)).json()
    path = f"/api/v1/address-blocks/{blk['id']}"
    taken = []
    for owner in (web, web, db):
        body = {"structure": owner, "interface_name": "eth0"}
        r = await client.post(f"{path}/next-free", json=body, headers=op)
        assert r.status_code == 201, r.text
        taken.append(r.json()["offset"])
    assert taken == [1, 2, 3] and await _hint(app, blk["id"]) == 4
    assert (await client.delete(f"/api/v1/structures/{web}", headers=admin)).status_code == 204
    assert await _hint(app, blk["id"]) == 1  # web01's offsets are free again
    assert (await client.get(f"{path}/next-free", headers=op)).json()["offset"] == 1


async def test_networks_and_links(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any]
) -> None:
    admin = as_role("admin")
    r = await client.post(
        "/api/v1/networks", json={"site": "dc1", "name": "prov.10", "mtu": 9000}, headers=admin
    )
    assert r.status_code == 201, r.text
    net = r.json()
    blk = (await _block(client, admin, "a", "10.0.0.0", 24)).json()
    r = await client.put(
        f"/api/v1/networks/{net['id']}/address-blocks/{blk['id']}", json={"vlan": 0}, headers=admin
    )
    assert r.status_code == 200 and r.json()["address_blocks"] == [
        {"address_block": blk["id"], "vlan": None}
    ]
    r = await client.put(
        f"/api/v1/networks/{net['id']}/address-blocks/{blk['id']}", json={"vlan": 12}, headers=admin
    )
    assert r.json()["address_blocks"][0]["vlan"] == 12
    await client.post("/api/v1/sites", json={"name": "dc2", "description": "d"}, headers=admin)
    other = (
        await client.post(
            "/api/v1/address-blocks",
            json={"site": "dc2", "name": "b", "subnet": "10.0.0.0", "prefix": 24},
            headers=admin,
        )
    ).json()
    r = await client.put(
        f"/api/v1/networks/{net['id']}/address-blocks/{other['id']}", json={}, headers=admin
    )
    assert r.status_code == 422 and r.json()["type"].endswith("site-mismatch")
    assert (
        await client.delete(f"/api/v1/address-blocks/{blk['id']}", headers=admin)
    ).status_code == 409
    r = await client.post(
        "/api/v1/networks", json={"site": "dc1", "name": "prov.10"}, headers=admin
    )
    assert r.status_code == 409
    r = await client.post(
        "/api/v1/networks", json={"site": "dc1", "name": "x", "mtu": 100}, headers=admin
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "mtu"]
    assert (
        await client.post(
            "/api/v1/networks", json={"site": "dc1", "name": "y"}, headers=as_role("operator")
        )
    ).status_code == 403
    assert (
        await client.delete(
            f"/api/v1/networks/{net['id']}/address-blocks/{blk['id']}", headers=admin
        )
    ).status_code == 204
    assert (
        await client.delete(f"/api/v1/address-blocks/{blk['id']}", headers=admin)
    ).status_code == 204
    types = [
        e["type"]
        for e in (
            await client.get("/api/v1/events?types=network.*,address-block.*", headers=admin)
        ).json()["events"]
    ]
    assert types[:3] == ["network.created", "address-block.created", "network.updated"]


async def test_held_slot_freezes_addresses(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    admin, op, svc = as_role("admin"), as_role("operator"), as_role("service")
    await seed.foundation(op, "f1")
    web = await seed.structure(op, "web01", "f1")
    blk = (await _block(client, admin, "a", "10.0.0.0", 24)).json()
    path = f"/api/v1/address-blocks/{blk['id']}/addresses"
    made = (
        await client.post(
            path, json={"structure": web["id"], "interface_name": "eth0", "offset": 5}, headers=op
        )
    ).json()
    await client.post(
        "/api/v1/foundations/f1/state", json={"from": "planned", "to": "built"}, headers=op
    )
    r = await client.put(
        f"/api/v1/structures/{web['id']}/job", json={"job_id": 3, "script": "create"}, headers=svc
    )
    assert r.status_code == 201, r.text
    r = await client.post(
        path, json={"structure": web["id"], "interface_name": "eth1", "offset": 6}, headers=op
    )
    assert r.status_code == 409 and r.json()["type"].endswith("job-active")
    r = await client.delete(f"/api/v1/addresses/{made['id']}", headers=op)
    assert r.status_code == 409 and r.json()["type"].endswith("job-active")
