from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

Headers = Callable[[str], dict[str, str]]


async def _site(
    client: httpx.AsyncClient, admin: dict[str, str], name: str, **extra: object
) -> httpx.Response:
    return await client.post(
        "/api/v1/sites", json={"name": name, "description": f"site {name}", **extra}, headers=admin
    )


class TestCrud:
    async def test_create_read_update_delete(
        self, client: httpx.AsyncClient, as_role: Headers, seed: Any
    ) -> None:
        admin = as_role("admin")
        r = await _site(client, admin, "dc1", zone="dc1.example.com")
        assert r.status_code == 201, r.text
        assert r.headers["location"] == "/api/v1/sites/dc1"
        assert r.headers["etag"] == '"1"'
        assert r.json()["created_at"].endswith("Z") and r.json()["version"] == 1
        r = await client.get("/api/v1/sites/dc1", headers=as_role("viewer"))
        assert r.status_code == 200 and r.json()["zone"] == "dc1.example.com"
        r = await client.patch(
            "/api/v1/sites/dc1",
            json={"description": "changed"},
            headers={**admin, "If-Match": '"1"'},
        )
        assert r.status_code == 200, r.text
        assert r.json()["version"] == 2 and r.headers["etag"] == '"2"'
        r = await client.delete("/api/v1/sites/dc1", headers=admin)
        assert r.status_code == 204
        assert (await client.get("/api/v1/sites/dc1", headers=admin)).status_code == 404
        types = [e["type"] for e in await seed.events(admin, "site.*")]
        assert types == ["site.created", "site.updated", "site.deleted"]

    async def test_events_carry_zones_and_changes(
        self, client: httpx.AsyncClient, as_role: Headers, seed: Any
    ) -> None:
        admin = as_role("admin")
        await _site(client, admin, "dc1", zone="a.example.com")
        await client.patch("/api/v1/sites/dc1", json={"zone": "b.example.com"}, headers=admin)
        updated = (await seed.events(admin, "site.updated"))[0]
        assert updated["data"]["changed"] == ["zone"]
        assert updated["data"]["dns_zones"] == ["a.example.com", "b.example.com"]
        assert updated["subject"] == {"kind": "site", "key": "dc1"}
        assert updated["actor"]["role"] == "admin"

    async def test_duplicate_is_409(self, client: httpx.AsyncClient, as_role: Headers) -> None:
        await _site(client, as_role("admin"), "dc1")
        r = await _site(client, as_role("admin"), "dc1")
        assert r.status_code == 409 and r.json()["type"] == "urn:contractor:problem:conflict"

    async def test_if_match_mismatch_is_412_and_changes_nothing(
        self, client: httpx.AsyncClient, as_role: Headers
    ) -> None:
        admin = as_role("admin")
        await _site(client, admin, "dc1")
        r = await client.patch(
            "/api/v1/sites/dc1", json={"description": "x"}, headers={**admin, "If-Match": '"7"'}
        )
        assert r.status_code == 412 and r.json()["type"].endswith("version-mismatch")
        r = await client.delete("/api/v1/sites/dc1", headers={**admin, "If-Match": '"7"'})
        assert r.status_code == 412
        assert (await client.get("/api/v1/sites/dc1", headers=admin)).json()["version"] == 1


class TestValidation:
    @pytest.mark.parametrize(
        ("body", "loc", "kind"),
        [
            (
                {"name": "dc1", "description": "d", "colour": "red"},
                ["body", "colour"],
                "extra_forbidden",
            ),
            ({"name": "dc1", "description": "d", "version": 3}, ["body", "version"], "read-only"),
            ({"name": " dc1", "description": "d"}, ["body", "name"], "string_pattern_mismatch"),
            ({"name": "dc1"}, ["body", "description"], "missing"),
            (
                {"name": "dc1", "description": "d", "zone": "Upper.example"},
                ["body", "zone"],
                "validation-error",
            ),
            (
                {"name": "dc1", "description": "d", "config_values": {"_x": 1}},
                ["body", "config_values", "_x"],
                "invalid-config",
            ),
            (
                {"name": "dc1", "description": "d", "config_values": {"dns_servers": "1.1.1.1"}},
                ["body", "config_values", "dns_servers"],
                "invalid-config",
            ),
        ],
    )
    async def test_bad_body_is_422_naming_field_and_writes_nothing(
        self,
        client: httpx.AsyncClient,
        as_role: Headers,
        seed: Any,
        body: dict[str, object],
        loc: list[str],
        kind: str,
    ) -> None:
        r = await client.post("/api/v1/sites", json=body, headers=as_role("admin"))
        assert r.status_code == 422, r.text
        assert r.headers["content-type"] == "application/problem+json"
        problem = r.json()
        assert problem["errors"][0]["loc"] == loc
        assert problem["errors"][0]["type"] == kind
        assert (await client.get("/api/v1/sites", headers=as_role("admin"))).json()["items"] == []
        assert await seed.events(as_role("admin")) == []

    async def test_parent_must_exist_and_not_cycle(
        self, client: httpx.AsyncClient, as_role: Headers
    ) -> None:
        admin = as_role("admin")
        r = await _site(client, admin, "a", parent="nowhere")
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "parent"]
        await _site(client, admin, "a")
        await _site(client, admin, "b", parent="a")
        r = await client.patch("/api/v1/sites/a", json={"parent": "b"}, headers=admin)
        assert r.status_code == 422 and r.json()["type"].endswith(":cycle")
        assert (await client.get("/api/v1/sites/a", headers=admin)).json()["parent"] is None

    async def test_delete_in_use_is_409(self, client: httpx.AsyncClient, as_role: Headers) -> None:
        admin = as_role("admin")
        await _site(client, admin, "a")
        await _site(client, admin, "b", parent="a")
        r = await client.delete("/api/v1/sites/a", headers=admin)
        assert r.status_code == 409 and r.json()["type"].endswith("in-use")
        assert r.json()["references"]["sites"] == 1


class TestPermissionsAndSecrets:
    async def test_viewer_and_operator_cannot_write_sites(
        self, client: httpx.AsyncClient, as_role: Headers
    ) -> None:
        for role in ("viewer", "operator", "service"):
            r = await _site(client, as_role(role), "dc1")
            assert r.status_code == 403, role

    async def test_secret_config_masked_below_admin(
        self, client: httpx.AsyncClient, as_role: Headers
    ) -> None:
        await _site(
            client,
            as_role("admin"),
            "dc1",
            config_values={"db_password": "hunter2", "n": {"api_token": "t"}},
        )
        for role in ("viewer", "operator"):
            values = (await client.get("/api/v1/sites/dc1", headers=as_role(role))).json()[
                "config_values"
            ]
            assert values == {"db_password": "***", "n": {"api_token": "***"}}
        values = (await client.get("/api/v1/sites/dc1", headers=as_role("admin"))).json()[
            "config_values"
        ]
        assert values["db_password"] == "hunter2"

    async def test_discovery_password_is_write_only(
        self, client: httpx.AsyncClient, as_role: Headers, seed: Any
    ) -> None:
        r = await _site(
            client,
            as_role("admin"),
            "dc1",
            discovery={"policy": "enroll", "bmc_username": "root", "bmc_password": "s3cret"},
        )
        assert r.status_code == 201, r.text
        assert "s3cret" not in r.text
        assert r.json()["discovery"]["bmc_password_set"] is True
        events = await seed.events(as_role("admin"))
        assert "s3cret" not in str(events)


class TestListing:
    async def test_pagination_and_parent_filter(
        self, client: httpx.AsyncClient, as_role: Headers
    ) -> None:
        admin = as_role("admin")
        await _site(client, admin, "root")
        for name in ("c1", "c2", "c3"):
            await _site(client, admin, name, parent="root")
        r = await client.get("/api/v1/sites?limit=2", headers=admin)
        page = r.json()
        assert [s["name"] for s in page["items"]] == ["c1", "c2"]
        r = await client.get(f"/api/v1/sites?limit=2&cursor={page['next_cursor']}", headers=admin)
        assert [s["name"] for s in r.json()["items"]] == ["c3", "root"]
        assert r.json()["next_cursor"] is None
        r = await client.get("/api/v1/sites?parent=root", headers=admin)
        assert [s["name"] for s in r.json()["items"]] == ["c1", "c2", "c3"]
        r = await client.get("/api/v1/sites?limit=0", headers=admin)
        assert r.status_code == 422
        r = await client.get("/api/v1/sites?cursor=!!!", headers=admin)
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["query", "cursor"]
