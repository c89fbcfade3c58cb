from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

Headers = Callable[[str], dict[str, str]]


async def test_pxe_crud_and_references(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    admin, op = as_role("admin"), as_role("operator")
    body = {
        "name": "bootstrap",
        "description": "discovery",
        "boot_script": "kernel {{ __boot_base }}/k",
    }
    r = await client.post("/api/v1/pxes", json=body, headers=admin)
    assert r.status_code == 201 and r.json()["template"] == ""
    assert (await client.post("/api/v1/pxes", json=body, headers=admin)).status_code == 409
    assert (
        await client.post("/api/v1/pxes", json={**body, "name": "x"}, headers=op)
    ).status_code == 403
    r = await client.patch("/api/v1/pxes/bootstrap", json={"template": "d-i foo"}, headers=admin)
    assert r.status_code == 200 and r.json()["version"] == 2
    net = (
        await client.post("/api/v1/networks", json={"site": "dc1", "name": "n"}, headers=admin)
    ).json()["id"]
    port = {"physical_location": "eth0", "name": "eth0", "network": net, "pxe": "nope"}
    r = await client.post(
        "/api/v1/foundations",
        json={
            "locator": "f1",
            "site": "dc1",
            "blueprint": "fbp",
            "type": "manual",
            "interfaces": [port],
        },
        headers=op,
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "interfaces", 0, "pxe"]
    await seed.foundation(op, "f1", interfaces=[{**port, "pxe": "bootstrap"}])
    r = await client.delete("/api/v1/pxes/bootstrap", headers=admin)
    assert r.status_code == 409 and r.json()["references"]["interfaces"] == 1
    await client.patch("/api/v1/foundations/f1/interfaces/eth0", json={"pxe": None}, headers=op)
    assert (await client.delete("/api/v1/pxes/bootstrap", headers=admin)).status_code == 204
    types = [e["type"] for e in await seed.events(admin, "pxe.*")]
    assert types == ["pxe.created", "pxe.updated", "pxe.deleted"]
