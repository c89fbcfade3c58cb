"""Regression tests for reported defects, on both databases.

* Racing creates: two app instances (one database) pass the same "is it taken?" check; on
  PostgreSQL the loser used to answer 500 (IntegrityError), and two overlapping blocks of one
  site could both be created (§7.3).
* Integer ids beyond 64 bits in a path or query parameter used to answer 500 (§12.1).
* ``PATCH /sites/{name}`` with ``config_values`` (or ``description``) null used to answer 500.
* Without a token, a malformed JSON body used to answer 422 instead of 401.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from contractor.inventory import orm, problems
from contractor.inventory.main import create_app
from contractor.inventory.store import rows
from fastapi import FastAPI
from sqlalchemy.exc import IntegrityError

Headers = Callable[[str], dict[str, str]]
PROBLEM = "urn:contractor:problem:"
HUGE = [2**63, 2**64 + 5, 10**25]


def _slug(r: httpx.Response) -> str:
    kind: str = r.json()["type"]
    return kind.removeprefix(PROBLEM)


@pytest.fixture
async def replica(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A second app instance on the same database (another process, as far as races go)."""
    other = create_app(app.state.settings)
    async with other.router.lifespan_context(other):
        transport = httpx.ASGITransport(app=other, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://replica") as c:
            yield c


async def _race(
    clients: list[httpx.AsyncClient], path: str, bodies: list[dict[str, Any]], headers: Any
) -> list[httpx.Response]:
    calls = (
        clients[i % len(clients)].post(path, json=body, headers=headers)
        for i, body in enumerate(bodies)
    )
    return list(await asyncio.gather(*calls))


class TestRacingCreates:
    @pytest.mark.parametrize(
        ("path", "body", "role"),
        [
            ("/api/v1/sites", {"name": "dup", "description": "d"}, "admin"),
            ("/api/v1/scripts", {"name": "dup", "description": "d", "body": ""}, "admin"),
            (
                "/api/v1/blueprints/foundation",
                {"name": "dup", "description": "d", "foundation_types": ["manual"]},
                "admin",
            ),
            (
                "/api/v1/foundations",
                {"locator": "dup", "site": "dc1", "blueprint": "fbp", "type": "manual"},
                "operator",
            ),
            (
                "/api/v1/address-blocks",
                {"site": "dc1", "name": "dup", "subnet": "10.7.0.0", "prefix": 24},
                "admin",
            ),
            ("/api/v1/networks", {"site": "dc1", "name": "dup"}, "admin"),
        ],
    )
    async def test_one_wins_the_rest_are_conflicts(
        self,
        client: httpx.AsyncClient,
        replica: httpx.AsyncClient,
        as_role: Headers,
        world: dict[str, Any],
        path: str,
        body: dict[str, Any],
        role: str,
    ) -> None:
        results = await _race([client, replica], path, [body] * 6, as_role(role))
        assert sorted(r.status_code for r in results) == [201] + [409] * 5, [
            (r.status_code, r.text[:150]) for r in results
        ]
        assert {_slug(r) for r in results if r.status_code == 409} == {"conflict"}

    async def test_one_structure_per_foundation(
        self,
        client: httpx.AsyncClient,
        replica: httpx.AsyncClient,
        as_role: Headers,
        world: dict[str, Any],
        seed: Any,
    ) -> None:
        op = as_role("operator")
        await seed.foundation(op, "host0")
        bodies = [
            {"hostname": f"web{i}", "site": "dc1", "blueprint": "sbp", "foundation": "host0"}
            for i in range(4)
        ]
        results = await _race([client, replica], "/api/v1/structures", bodies, op)
        assert sorted(r.status_code for r in results) == [201, 409, 409, 409], [
            (r.status_code, r.text[:150]) for r in results
        ]
        assert {_slug(r) for r in results if r.status_code == 409} == {"conflict"}
        r = await client.get("/api/v1/structures?foundation=host0", headers=op)
        assert len(r.json()["items"]) == 1

    async def test_one_hostname_per_site(
        self,
        client: httpx.AsyncClient,
        replica: httpx.AsyncClient,
        as_role: Headers,
        world: dict[str, Any],
        seed: Any,
    ) -> None:
        op = as_role("operator")
        for n in range(6):
            await seed.foundation(op, f"a{n}")
            await seed.foundation(op, f"b{n}")
            bodies = [
                {"hostname": f"same{n}", "site": "dc1", "blueprint": "sbp", "foundation": f"{x}{n}"}
                for x in "ab"
            ]
            results = await _race([client, replica], "/api/v1/structures", bodies, op)
            assert sorted(r.status_code for r in results) == [201, 409], [
                (r.status_code, r.text[:150]) for r in results
            ]
            assert {_slug(r) for r in results if r.status_code == 409} == {"hostname-conflict"}
        r = await client.get("/api/v1/structures?limit=100", headers=op)
        assert len(r.json()["items"]) == 6

    async def test_overlapping_blocks_are_never_both_created(
        self,
        client: httpx.AsyncClient,
        replica: httpx.AsyncClient,
        as_role: Headers,
        world: dict[str, Any],
    ) -> None:
        admin = as_role("admin")
        for n in range(8):
            bodies = [
                {"site": "dc1", "name": f"wide{n}", "subnet": f"10.{100 + n}.0.0", "prefix": 16},
                {"site": "dc1", "name": f"narrow{n}", "subnet": f"10.{100 + n}.5.0", "prefix": 24},
            ]
            results = await _race([client, replica], "/api/v1/address-blocks", bodies, admin)
            assert sorted(r.status_code for r in results) == [201, 409], [
                (r.status_code, r.text[:150]) for r in results
            ]
            assert {_slug(r) for r in results if r.status_code == 409} == {"overlap"}
        r = await client.get("/api/v1/address-blocks?site=dc1&limit=100", headers=admin)
        assert len(r.json()["items"]) == 8

    async def test_overlapping_block_changes_are_never_both_applied(
        self,
        client: httpx.AsyncClient,
        replica: httpx.AsyncClient,
        as_role: Headers,
        world: dict[str, Any],
    ) -> None:
        admin = as_role("admin")
        ids = []
        for name, subnet in (("left", "10.50.0.0"), ("right", "10.50.2.0")):
            body = {"site": "dc1", "name": name, "subnet": subnet, "prefix": 24}
            r = await client.post("/api/v1/address-blocks", json=body, headers=admin)
            assert r.status_code == 201, r.text
            ids.append(r.json()["id"])
        # Each widening alone fits; both together would make the blocks share addresses.
        left, right = ids
        results = await asyncio.gather(
            client.patch(f"/api/v1/address-blocks/{left}", json={"prefix": 23}, headers=admin),
            replica.patch(
                f"/api/v1/address-blocks/{right}",
                json={"subnet": "10.50.1.0", "prefix": 24},
                headers=admin,
            ),
        )
        codes = sorted(r.status_code for r in results)
        assert codes == [200, 409], [(r.status_code, r.text[:150]) for r in results]


class TestUniqueViolations:
    """The mapping of a violated unique constraint, on each database's own error."""

    async def _violation(self, app: FastAPI, row: Any) -> IntegrityError:
        async with app.state.sessions() as session:
            with pytest.raises(IntegrityError) as caught:
                async with session.begin():
                    rows.stamp_new(row)
                    session.add(row)
                    await session.flush()
        return caught.value

    async def test_a_taken_name_is_a_conflict(self, app: FastAPI, world: dict[str, Any]) -> None:
        exc = await self._violation(app, orm.Site(name="dc1", description="again"))
        key = problems.unique_violation(exc)
        assert key is not None and "name" in key
        error = problems.conflict_for(key)
        assert (error.status, error.type_slug) == (409, "conflict")

    async def test_a_taken_hostname_is_a_hostname_conflict(
        self, app: FastAPI, as_role: Headers, world: dict[str, Any], seed: Any
    ) -> None:
        op = as_role("operator")
        await seed.foundation(op, "f1")
        await seed.foundation(op, "f2")
        await seed.structure(op, "web1", "f1")
        row = orm.Structure(
            hostname="web1",
            site="dc1",
            blueprint="sbp",
            foundation="f2",
            config_values={},
            config_uuid=str(uuid.uuid4()),
            state="planned",
        )
        key = problems.unique_violation(await self._violation(app, row))
        assert key is not None and {"site", "hostname"} <= set(key)
        error = problems.conflict_for(key)
        assert (error.status, error.type_slug) == (409, "hostname-conflict")

    async def test_other_integrity_errors_are_not_conflicts(
        self, app: FastAPI, world: dict[str, Any]
    ) -> None:
        exc = await self._violation(app, orm.Site(name="nodesc", description=None))
        assert problems.unique_violation(exc) is None


class TestHugeIds:
    @pytest.mark.parametrize("big", HUGE)
    @pytest.mark.parametrize(
        ("method", "path"),
        [
            ("GET", "/api/v1/address-blocks/{}"),
            ("GET", "/api/v1/address-blocks/{}/next-free"),
            ("GET", "/api/v1/structures/{}"),
            ("GET", "/api/v1/structures/-{}"),
            ("DELETE", "/api/v1/dependencies/{}"),
            ("GET", "/api/v1/addresses/{}"),
            ("GET", "/api/v1/networks/{}"),
            ("GET", "/api/v1/tokens/{}"),
            ("GET", "/api/v1/structures/{}/interfaces"),
            ("GET", "/api/v1/impact/structure/{}"),
        ],
    )
    async def test_a_huge_path_id_is_not_found(
        self, client: httpx.AsyncClient, as_role: Headers, method: str, path: str, big: int
    ) -> None:
        r = await client.request(method, path.format(big), headers=as_role("admin"))
        assert r.status_code == 404, r.text
        assert _slug(r) == "not-found"

    @pytest.mark.parametrize("big", [*HUGE, -(2**63) - 1, -(10**25)])
    @pytest.mark.parametrize("path", ["/api/v1/dependencies", "/api/v1/addresses"])
    async def test_a_huge_query_id_is_a_422_naming_it(
        self, client: httpx.AsyncClient, as_role: Headers, path: str, big: int
    ) -> None:
        r = await client.get(f"{path}?structure={big}", headers=as_role("admin"))
        assert r.status_code == 422, r.text
        assert [e["loc"] for e in r.json()["errors"]] == [["query", "structure"]]

    async def test_the_64_bit_bounds_are_still_ids(
        self, client: httpx.AsyncClient, as_role: Headers
    ) -> None:
        for big in (2**63 - 1, -(2**63)):
            r = await client.get(f"/api/v1/structures/{big}", headers=as_role("admin"))
            assert r.status_code == 404, r.text
            r = await client.get(f"/api/v1/dependencies?structure={big}", headers=as_role("admin"))
            assert r.status_code == 200, r.text

    async def test_a_non_numeric_path_id_is_still_a_422(
        self, client: httpx.AsyncClient, as_role: Headers
    ) -> None:
        r = await client.get("/api/v1/structures/abc", headers=as_role("admin"))
        assert r.status_code == 422, r.text


class TestNullInSitePatch:
    @pytest.mark.parametrize("field", ["config_values", "description"])
    async def test_null_changes_nothing(
        self, client: httpx.AsyncClient, as_role: Headers, field: str
    ) -> None:
        admin = as_role("admin")
        body = {"name": "a", "description": "d", "config_values": {"k": 1}}
        r = await client.post("/api/v1/sites", json=body, headers=admin)
        assert r.status_code == 201, r.text
        r = await client.patch("/api/v1/sites/a", json={field: None}, headers=admin)
        assert r.status_code == 200, r.text
        site = r.json()
        assert (site["version"], site["description"], site["config_values"]) == (1, "d", {"k": 1})

    async def test_like_blueprints_and_structures(
        self, client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
    ) -> None:
        admin = as_role("admin")
        await seed.foundation(admin, "f1")
        s = await seed.structure(admin, "web1", "f1")
        for path in (
            "/api/v1/blueprints/foundation/fbp",
            "/api/v1/blueprints/structure/sbp",
            f"/api/v1/structures/{s['id']}",
            "/api/v1/sites/dc1",
        ):
            r = await client.patch(path, json={"config_values": None}, headers=admin)
            assert r.status_code == 200, (path, r.text)
            assert r.json()["version"] == 1


class TestAuthenticationBeforeTheBody:
    @pytest.mark.parametrize("content", [b"{not json", b"", b'{"name": 1'])
    async def test_malformed_json_without_a_token_is_401(
        self, client: httpx.AsyncClient, content: bytes
    ) -> None:
        r = await client.post(
            "/api/v1/sites", content=content, headers={"content-type": "application/json"}
        )
        assert r.status_code == 401, r.text
        assert r.headers["WWW-Authenticate"] == "Bearer"

    async def test_malformed_json_with_a_bad_token_is_401(self, client: httpx.AsyncClient) -> None:
        headers = {"content-type": "application/json", "Authorization": "Bearer nope"}
        r = await client.post("/api/v1/sites", content=b"{not json", headers=headers)
        assert r.status_code == 401, r.text

    async def test_malformed_json_with_a_token_is_still_422(
        self, client: httpx.AsyncClient, as_role: Headers
    ) -> None:
        headers = {**as_role("admin"), "content-type": "application/json"}
        r = await client.post("/api/v1/sites", content=b"{not json", headers=headers)
        assert r.status_code == 422, r.text

    async def test_malformed_json_from_a_role_without_the_right_is_403(
        self, client: httpx.AsyncClient, as_role: Headers
    ) -> None:
        headers = {**as_role("viewer"), "content-type": "application/json"}
        r = await client.post("/api/v1/sites", content=b"{not json", headers=headers)
        assert r.status_code == 403, r.text
