from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

Headers = Callable[[str], dict[str, str]]


async def test_impact_follows_the_spec_example(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    op = as_role("operator")
    ids: dict[str, int] = {}
    for host in ("kvm01", "kvm02", "dhcp01"):
        await seed.foundation(op, f"m-{host}")
        ids[host] = (await seed.structure(op, host, f"m-{host}"))["id"]
    r = await client.post(
        "/api/v1/complexes",
        json={
            "name": "kvm-a",
            "site": "dc1",
            "description": "kvm",
            "type": "manual",
            "members": [ids["kvm01"], ids["kvm02"]],
        },
        headers=op,
    )
    assert r.status_code == 201, r.text
    for app in ("app01", "app02"):
        await seed.foundation(op, f"vm-{app}", complex="kvm-a")
        ids[app] = (await seed.structure(op, app, f"vm-{app}"))["id"]
    await seed.foundation(op, "rack3-u01")
    ids["db01"] = (await seed.structure(op, "db01", "rack3-u01"))["id"]
    dep = (
        await client.post(
            "/api/v1/dependencies",
            json={"structure": ids["dhcp01"], "foundation": "rack3-u01"},
            headers=op,
        )
    ).json()
    r = await client.get(f"/api/v1/impact/structure/{ids['kvm01']}", headers=as_role("viewer"))
    assert r.status_code == 200, r.text
    got = [(i["kind"], i["key"], i["depth"]) for i in r.json()["items"]]
    assert got == [
        ("complex", "kvm-a", 1),
        ("foundation", "vm-app01", 2),
        ("foundation", "vm-app02", 2),
        ("structure", str(ids["app01"]), 3),
        ("structure", str(ids["app02"]), 3),
    ]
    assert r.json()["counts"] == {"structure": 2, "foundation": 2, "complex": 1, "dependency": 0}
    assert r.json()["items"][1]["via"] == "complex:kvm-a"
    r = await client.get(f"/api/v1/impact/structure/{ids['dhcp01']}", headers=op)
    got = [(i["kind"], i["key"], i["depth"]) for i in r.json()["items"]]
    assert got == [
        ("dependency", str(dep["id"]), 1),
        ("foundation", "rack3-u01", 2),
        ("structure", str(ids["db01"]), 3),
    ]
    assert r.json()["items"][2]["description"] == "db01"
    r = await client.get(
        f"/api/v1/impact/structure/{ids['kvm01']}?kinds=structure&limit=1", headers=op
    )
    assert [i["key"] for i in r.json()["items"]] == [str(ids["app01"])] and r.json()[
        "truncated"
    ] is True
    r = await client.get("/api/v1/impact/site/dc1?max_depth=1", headers=op)
    assert r.json()["counts"]["structure"] == 6 and all(
        i["via"] == "site:dc1" for i in r.json()["items"]
    )
    assert (await client.get("/api/v1/impact/structure/999", headers=op)).status_code == 404
    assert (await client.get("/api/v1/impact/planet/x", headers=op)).status_code == 422


async def test_blueprint_stats(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    admin, op = as_role("admin"), as_role("operator")
    r = await client.post(
        "/api/v1/blueprints/structure",
        json={"name": "lb", "description": "lb", "parents": ["sbp"]},
        headers=admin,
    )
    assert r.status_code == 201
    for n, bp in ((1, "sbp"), (2, "lb"), (3, "lb")):
        await seed.foundation(op, f"f{n}")
        s = await seed.structure(op, f"h{n}", f"f{n}", blueprint=bp)
        if n == 3:
            await client.post(
                f"/api/v1/structures/{s['id']}/state",
                json={"from": "planned", "to": "built"},
                headers=op,
            )
    r = await client.get(
        "/api/v1/stats/blueprints?kind=structure&ancestor=sbp", headers=as_role("viewer")
    )
    assert r.status_code == 200
    assert r.json() == [
        {
            "blueprint": "lb",
            "kind": "structure",
            "total": 2,
            "planned": 1,
            "located": 0,
            "built": 1,
        },
        {
            "blueprint": "sbp",
            "kind": "structure",
            "total": 1,
            "planned": 1,
            "located": 0,
            "built": 0,
        },
        {
            "blueprint": "total",
            "kind": "structure",
            "total": 3,
            "planned": 2,
            "located": 0,
            "built": 1,
        },
    ]
    r = await client.get("/api/v1/stats/blueprints?kind=foundation&site=dc1", headers=op)
    assert r.json() == [
        {
            "blueprint": "fbp",
            "kind": "foundation",
            "total": 3,
            "planned": 3,
            "located": 0,
            "built": 0,
        }
    ]
