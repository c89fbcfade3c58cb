from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

Headers = Callable[[str], dict[str, str]]


async def _move(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], frm: str, to: str
) -> httpx.Response:
    return await client.post(f"/api/v1/{path}/state", json={"from": frm, "to": to}, headers=headers)


async def _dep(client: httpx.AsyncClient, headers: dict[str, str], **body: Any) -> httpx.Response:
    return await client.post("/api/v1/dependencies", json=body, headers=headers)


async def test_automatic_dependency_follows_and_hard_link_cascades(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    op = as_role("operator")
    await seed.foundation(op, "f1")
    await seed.foundation(op, "f2")
    sid = (await seed.structure(op, "dns1", "f1"))["id"]
    r = await _dep(client, op, structure=sid, foundation="f2", link="hard")
    assert r.status_code == 201, r.text
    dep = r.json()
    child = (await _dep(client, op, dependency=dep["id"])).json()
    assert dep["state"] == "planned"
    assert (await _move(client, f"structures/{sid}", op, "planned", "built")).status_code == 200
    for d in (dep, child):
        assert (await client.get(f"/api/v1/dependencies/{d['id']}", headers=op)).json()[
            "state"
        ] == "built"
    built = await seed.events(op, "dependency.built")
    assert [e["data"]["id"] for e in built] == [dep["id"], child["id"]]
    assert built[0]["data"]["cascade_of"] == {"kind": "structure", "key": str(sid)}
    assert (await _move(client, "foundations/f2", op, "planned", "built")).status_code == 200
    assert (await _move(client, f"structures/{sid}", op, "built", "planned")).status_code == 200
    assert (await client.get(f"/api/v1/dependencies/{dep['id']}", headers=op)).json()[
        "state"
    ] == "planned"
    assert (await client.get("/api/v1/foundations/f2", headers=op)).json()["state"] == "planned"
    destroyed = await seed.events(op, "*.destroyed".replace("*", "foundation"))
    assert destroyed[-1]["data"]["cascade_of"] == {"kind": "structure", "key": str(sid)}
    r = await client.delete(f"/api/v1/structures/{sid}", headers=op)
    assert r.status_code == 409
    r = await client.delete(f"/api/v1/dependencies/{dep['id']}", headers=op)
    assert r.status_code == 409 and "child" in r.json()["detail"]
    assert (
        await client.delete(f"/api/v1/dependencies/{child['id']}", headers=op)
    ).status_code == 204
    assert (await client.delete(f"/api/v1/dependencies/{dep['id']}", headers=op)).status_code == 204


async def test_scripted_dependency_is_moved_explicitly(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    op = as_role("operator")
    await seed.foundation(op, "f1")
    sid = (await seed.structure(op, "dns1", "f1"))["id"]
    dep = (await _dep(client, op, structure=sid, create_script_name="join")).json()
    await _move(client, f"structures/{sid}", op, "planned", "built")
    assert (await client.get(f"/api/v1/dependencies/{dep['id']}", headers=op)).json()[
        "state"
    ] == "planned"
    r = await _move(client, f"dependencies/{dep['id']}", op, "planned", "built")
    assert r.status_code == 200 and r.json()["state"] == "built" and r.json()["built_at"]
    r = await _move(client, f"dependencies/{dep['id']}", op, "planned", "built")
    assert r.status_code == 409 and r.json()["current_state"] == "built"
    r = await client.patch(f"/api/v1/dependencies/{dep['id']}", json={"link": "hard"}, headers=op)
    assert r.status_code == 200 and r.json()["link"] == "hard"
    r = await client.patch(
        f"/api/v1/dependencies/{dep['id']}", json={"create_script_name": "x"}, headers=op
    )
    assert r.status_code == 409


async def test_dependency_validation(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
) -> None:
    op = as_role("operator")
    await seed.foundation(op, "f1")
    await seed.foundation(op, "f2")
    sid = (await seed.structure(op, "dns1", "f1"))["id"]
    r = await _dep(client, op)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "structure"]
    first = (await _dep(client, op, structure=sid, foundation="f2")).json()
    r = await _dep(client, op, structure=sid, dependency=first["id"])
    assert r.status_code == 422
    r = await _dep(client, op, structure=sid, foundation="f2")
    assert r.status_code == 409
    r = await _dep(client, op, structure=sid, create_script_name="a", destroy_script_name="a")
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "destroy_script_name"]
    r = await _dep(client, op, structure=sid, state="built")
    assert r.status_code == 422 and r.json()["errors"][0]["type"] == "read-only"
    r = await client.delete("/api/v1/foundations/f2", headers=op)
    assert r.status_code == 409
    assert (await _dep(client, as_role("viewer"), structure=sid)).status_code == 403
    r = await client.get("/api/v1/dependencies?foundation=f2", headers=as_role("viewer"))
    assert [d["id"] for d in r.json()["items"]] == [first["id"]]
