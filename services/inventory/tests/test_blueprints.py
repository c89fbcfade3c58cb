from __future__ import annotations

from collections.abc import Callable

import httpx

Headers = Callable[[str], dict[str, str]]


async def _script(client: httpx.AsyncClient, admin: dict[str, str], name: str) -> None:
    r = await client.post(
        "/api/v1/scripts", json={"name": name, "description": "d", "body": "x = 1\n"}, headers=admin
    )
    assert r.status_code == 201, r.text


async def test_blueprint_parents_scripts_and_resolution(
    client: httpx.AsyncClient, as_role: Headers
) -> None:
    admin = as_role("admin")
    await _script(client, admin, "make-it")
    r = await client.post(
        "/api/v1/blueprints/foundation",
        json={
            "name": "fbase",
            "description": "base",
            "foundation_types": ["manual"],
            "scripts": {"create": "make-it"},
        },
        headers=admin,
    )
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "foundation" and r.json()["foundation_blueprints"] is None
    r = await client.post(
        "/api/v1/blueprints/foundation",
        json={"name": "fchild", "description": "child", "parents": ["fbase"]},
        headers=admin,
    )
    assert r.status_code == 201, r.text
    r = await client.get("/api/v1/blueprints/foundation/fchild/scripts/create", headers=admin)
    assert r.status_code == 200, r.text
    assert r.json()["from_blueprint"] == "fbase" and r.json()["body"] == "x = 1\n"
    r = await client.get("/api/v1/blueprints/foundation/fchild/scripts/destroy", headers=admin)
    assert r.json()["body"] == "" and r.json()["name"] is None
    r = await client.get("/api/v1/blueprints/foundation/fchild/scripts/other", headers=admin)
    assert r.status_code == 404 and r.json()["type"].endswith("script-not-found")
    r = await client.get("/api/v1/blueprints/foundation?ancestor=fbase", headers=admin)
    assert [b["name"] for b in r.json()["items"]] == ["fchild"]


async def test_blueprint_rules(client: httpx.AsyncClient, as_role: Headers) -> None:
    admin = as_role("admin")
    fb = "/api/v1/blueprints/foundation"
    sb = "/api/v1/blueprints/structure"
    assert (
        await client.post(fb, json={"name": "a", "description": "a"}, headers=admin)
    ).status_code == 201
    assert (
        await client.post(
            fb, json={"name": "b", "description": "b", "parents": ["a"]}, headers=admin
        )
    ).status_code == 201
    r = await client.post(sb, json={"name": "a", "description": "dup"}, headers=admin)
    assert r.status_code == 409, "names are shared across kinds"
    r = await client.post(
        sb, json={"name": "s", "description": "s", "parents": ["a"]}, headers=admin
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "parents", 0]
    r = await client.post(
        fb, json={"name": "c", "description": "c", "parents": ["a", "a"]}, headers=admin
    )
    assert r.status_code == 422
    r = await client.patch(f"{fb}/a", json={"parents": ["b"]}, headers=admin)
    assert r.status_code == 422 and r.json()["type"] == "urn:contractor:problem:cycle"
    assert (await client.get(f"{fb}/a", headers=admin)).json()["parents"] == []
    r = await client.post(
        fb, json={"name": "d", "description": "d", "foundation_types": ["warp"]}, headers=admin
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "foundation_types", 0]
    r = await client.post(
        fb, json={"name": "e", "description": "e", "scripts": {"create": "nope"}}, headers=admin
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "scripts", "create"]
    r = await client.post(
        sb, json={"name": "f", "description": "f", "foundation_types": []}, headers=admin
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "foundation_types"]
    r = await client.delete(f"{fb}/a", headers=admin)
    assert r.status_code == 409 and r.json()["references"]["children"] == 1
    assert (await client.get(f"{sb}/a", headers=admin)).status_code == 404
    assert (await client.delete(f"{fb}/b", headers=admin)).status_code == 204
    assert (await client.delete(f"{fb}/a", headers=admin)).status_code == 204
    r = await client.get("/api/v1/events?types=blueprint.*", headers=admin)
    assert [e["type"] for e in r.json()["events"]] == [
        "blueprint.created",
        "blueprint.created",
        "blueprint.deleted",
        "blueprint.deleted",
    ]
    assert r.json()["events"][0]["data"] == {
        "kind": "foundation",
        "name": "a",
        "changed": ["description", "name"],
    }


async def test_blueprint_permissions(client: httpx.AsyncClient, as_role: Headers) -> None:
    body = {"name": "a", "description": "a"}
    for role in ("operator", "viewer", "service"):
        r = await client.post("/api/v1/blueprints/foundation", json=body, headers=as_role(role))
        assert r.status_code == 403, role
    assert (
        await client.get("/api/v1/blueprints/foundation", headers=as_role("viewer"))
    ).status_code == 200


async def test_removing_a_used_type_is_in_use(
    client: httpx.AsyncClient, as_role: Headers, world: dict[str, object], seed: object
) -> None:
    r = await client.post(
        "/api/v1/foundations",
        json={"locator": "f1", "site": "dc1", "blueprint": "fbp", "type": "manual"},
        headers=as_role("operator"),
    )
    assert r.status_code == 201
    r = await client.patch(
        "/api/v1/blueprints/foundation/fbp",
        json={"foundation_types": ["ipmi"]},
        headers=as_role("admin"),
    )
    assert r.status_code == 409 and r.json()["type"].endswith("in-use")
    r = await client.delete("/api/v1/blueprints/foundation/fbp", headers=as_role("admin"))
    assert r.status_code == 409


class TestScripts:
    async def test_crud_and_in_use(self, client: httpx.AsyncClient, as_role: Headers) -> None:
        admin = as_role("admin")
        await _script(client, admin, "s1")
        r = await client.patch(
            "/api/v1/scripts/s1", json={"body": "y = 2\n"}, headers={**admin, "If-Match": '"1"'}
        )
        assert r.status_code == 200 and r.json()["version"] == 2
        await client.post(
            "/api/v1/blueprints/structure",
            json={"name": "sb", "description": "d", "scripts": {"create": "s1"}},
            headers=admin,
        )
        r = await client.delete("/api/v1/scripts/s1", headers=admin)
        assert r.status_code == 409 and r.json()["type"].endswith("in-use")
        r = await client.get("/api/v1/scripts?limit=1", headers=as_role("viewer"))
        assert [s["name"] for s in r.json()["items"]] == ["s1"]

    async def test_lint_findings_are_422_and_write_nothing(
        self, client: httpx.AsyncClient, as_role: Headers, monkeypatch: object
    ) -> None:
        from contractor.inventory.store import script_lint

        def fake_lint(body: str) -> list[dict[str, object]]:
            return [{"line": 2, "column": 5, "message": "unexpected end"}] if "bad" in body else []

        monkeypatch.setattr(script_lint, "lint", fake_lint)  # type: ignore[attr-defined]
        r = await client.post(
            "/api/v1/scripts",
            json={"name": "s1", "description": "d", "body": "bad"},
            headers=as_role("admin"),
        )
        assert r.status_code == 422
        assert r.json()["type"] == "urn:contractor:problem:script-invalid"
        assert r.json()["errors"] == [{"line": 2, "column": 5, "message": "unexpected end"}]
        assert (await client.get("/api/v1/scripts", headers=as_role("admin"))).json()["items"] == []
