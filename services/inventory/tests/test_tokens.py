from __future__ import annotations

import re
from collections.abc import Callable

import httpx

Headers = Callable[[str], dict[str, str]]
PROBLEM = "application/problem+json"


async def test_no_token_is_401_problem(client: httpx.AsyncClient) -> None:
    r = await client.get("/api/v1/sites")
    assert r.status_code == 401
    assert r.headers["content-type"] == PROBLEM
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.json()["type"] == "urn:contractor:problem:unauthorized"
    assert r.json()["instance"] == "/api/v1/sites"


async def test_unknown_and_malformed_tokens_are_401(client: httpx.AsyncClient) -> None:
    for token in ("nonsense", "ctr_999_" + "a" * 43, "Basic abc"):
        r = await client.get("/api/v1/sites", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401, token


async def test_health_needs_no_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).status_code == 200
    assert (await client.get("/readyz")).status_code == 200


async def test_issue_use_and_revoke_token(client: httpx.AsyncClient, as_role: Headers) -> None:
    r = await client.post(
        "/api/v1/tokens", json={"name": "ops", "role": "operator"}, headers=as_role("admin")
    )
    assert r.status_code == 201, r.text
    issued = r.json()
    assert re.fullmatch(rf"ctr_{issued['id']}_[A-Za-z0-9_-]{{43}}", issued["token"])
    assert r.headers["location"] == f"/api/v1/tokens/{issued['id']}"
    mine = {"Authorization": f"Bearer {issued['token']}"}
    r = await client.get("/api/v1/tokens/self", headers=mine)
    assert r.status_code == 200 and r.json()["role"] == "operator"
    assert "token" not in r.json() and "secret_hash" not in r.json()
    r = await client.get("/api/v1/tokens", headers=as_role("admin"))
    assert all("token" not in item for item in r.json()["items"])
    r = await client.delete(f"/api/v1/tokens/{issued['id']}", headers=as_role("admin"))
    assert r.status_code == 204
    assert (await client.get("/api/v1/sites", headers=mine)).status_code == 401
    r = await client.get("/api/v1/events?types=token.*", headers=as_role("admin"))
    assert [e["type"] for e in r.json()["events"]] == ["token.created", "token.revoked"]
    assert "token" not in r.json()["events"][0]["data"]


async def test_only_admin_manages_tokens(client: httpx.AsyncClient, as_role: Headers) -> None:
    for role in ("operator", "viewer", "service"):
        r = await client.post(
            "/api/v1/tokens", json={"name": "x", "role": "viewer"}, headers=as_role(role)
        )
        assert r.status_code == 403, role
        assert r.json()["type"] == "urn:contractor:problem:forbidden"
        assert (await client.get("/api/v1/tokens", headers=as_role(role))).status_code == 403


async def test_agent_token_needs_sites_and_others_take_none(
    client: httpx.AsyncClient, as_role: Headers
) -> None:
    r = await client.post(
        "/api/v1/tokens", json={"name": "a", "role": "agent"}, headers=as_role("admin")
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["loc"] == ["body", "sites"]
    r = await client.post(
        "/api/v1/tokens",
        json={"name": "a", "role": "viewer", "sites": ["x"]},
        headers=as_role("admin"),
    )
    assert r.status_code == 422
    r = await client.get("/api/v1/tokens", headers=as_role("admin"))
    assert len(r.json()["items"]) == 4  # only the fixture's tokens: nothing was written


async def test_agent_cannot_use_admin_api(client: httpx.AsyncClient, agent_token: str) -> None:
    agent = {"Authorization": f"Bearer {agent_token}"}
    assert (await client.get("/api/v1/sites", headers=agent)).status_code == 403
    assert (await client.get("/api/v1/events", headers=agent)).status_code == 403
    r = await client.post("/api/v1/sites", json={"name": "x", "description": "x"}, headers=agent)
    assert r.status_code == 403
    r = await client.get("/api/v1/tokens/self", headers=agent)
    assert r.status_code == 200 and r.json()["sites"] == ["agent-site"]


async def test_introspection_is_for_services(
    client: httpx.AsyncClient, as_role: Headers, tokens: dict[str, str]
) -> None:
    r = await client.post(
        "/api/v1/tokens/introspect", json={"token": tokens["viewer"]}, headers=as_role("service")
    )
    assert r.status_code == 200
    assert r.json()["active"] is True and r.json()["role"] == "viewer"
    r = await client.post(
        "/api/v1/tokens/introspect", json={"token": "ctr_1_" + "b" * 43}, headers=as_role("service")
    )
    assert r.json() == {"active": False, "id": None, "name": None, "role": None, "sites": None}
    r = await client.post(
        "/api/v1/tokens/introspect", json={"token": tokens["viewer"]}, headers=as_role("admin")
    )
    assert r.status_code == 403


async def test_expired_token_is_401(client: httpx.AsyncClient, as_role: Headers) -> None:
    r = await client.post(
        "/api/v1/tokens",
        json={"name": "old", "role": "viewer", "expires_at": "2000-01-01T00:00:00Z"},
        headers=as_role("admin"),
    )
    assert r.status_code == 201, r.text
    old = {"Authorization": f"Bearer {r.json()['token']}"}
    assert (await client.get("/api/v1/sites", headers=old)).status_code == 401
    r = await client.get("/api/v1/tokens/self", headers=as_role("viewer"))
    assert r.json()["last_used_at"] is not None
