"""Races under load: allocation (§7.5), state transitions (§5.1–5.2) and reservations (§5.4).

Every race is run from two *replicas* (two apps, each with its own engine and pool, on the same
database) as well as from several clients of each, so that only the database's locks
(`SELECT … FOR UPDATE` on PostgreSQL, `BEGIN IMMEDIATE` on SQLite) can keep the racers apart.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from contractor.inventory.main import create_app
from fastapi import FastAPI

Headers = Callable[[str], dict[str, str]]
ROUNDS = 8
RACERS = 6  # per round, split over both replicas


@pytest.fixture
async def replica(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """A second app on the same database, as a second replica of the service would be."""
    other = create_app(app.state.settings)
    async with other.router.lifespan_context(other):
        transport = httpx.ASGITransport(app=other)
        async with httpx.AsyncClient(transport=transport, base_url="http://replica") as c:
            yield c


@pytest.fixture
def clients(client: httpx.AsyncClient, replica: httpx.AsyncClient) -> list[httpx.AsyncClient]:
    return [client, replica]


def _problem(r: httpx.Response) -> str:
    assert r.headers["content-type"] == "application/problem+json", r.text
    slug: str = r.json()["type"].removeprefix("urn:contractor:problem:")
    return slug


async def _events(
    client: httpx.AsyncClient, headers: dict[str, str], types: str
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = "0"
    while True:
        r = await client.get(
            "/api/v1/events",
            params={"after": after, "limit": 1000, "types": types},
            headers=headers,
        )
        assert r.status_code == 200, r.text
        page = r.json()
        found.extend(page["events"])
        if not page["events"]:
            return found
        after = page["next_cursor"]


async def _block(
    client: httpx.AsyncClient, admin: dict[str, str], name: str, subnet: str, prefix: int
) -> dict[str, Any]:
    body = {"site": "dc1", "name": name, "subnet": subnet, "prefix": prefix}
    r = await client.post("/api/v1/address-blocks", json=body, headers=admin)
    assert r.status_code == 201, r.text
    block: dict[str, Any] = r.json()
    return block


async def _race(
    clients: list[httpx.AsyncClient], n: int, call: Callable[[httpx.AsyncClient, int], Any]
) -> list[httpx.Response]:
    """Start ``n`` calls at once, alternating replicas; return their answers in order."""
    pick = itertools.cycle(clients)
    results: list[httpx.Response] = await asyncio.gather(*(call(next(pick), i) for i in range(n)))
    return results


class TestNextFree:
    async def test_racing_allocations_never_share_an_address(
        self,
        clients: list[httpx.AsyncClient],
        as_role: Headers,
        world: dict[str, Any],
        seed: Any,
    ) -> None:
        admin, op = as_role("admin"), as_role("operator")
        await seed.foundation(op, "f1")
        web = await seed.structure(op, "web1", "f1")
        block = await _block(clients[0], admin, "pool", "10.20.0.0", 24)
        path = f"/api/v1/address-blocks/{block['id']}/next-free"
        names = itertools.count()

        async def allocate(c: httpx.AsyncClient, _: int) -> httpx.Response:
            body = {"structure": web["id"], "interface_name": f"eth{next(names)}"}
            return await c.post(path, json=body, headers=op)

        offsets: list[int] = []
        ips: list[str] = []
        for _ in range(ROUNDS):
            results = await _race(clients, RACERS, allocate)
            assert [r.status_code for r in results] == [201] * RACERS, [r.text for r in results]
            offsets += [r.json()["offset"] for r in results]
            ips += [r.json()["ip_address"] for r in results]
        assert len(set(offsets)) == len(offsets), sorted(offsets)
        assert len(set(ips)) == len(ips)
        # Lowest free offset every time, so the allocations fill 1..N without a gap.
        assert sorted(offsets) == list(range(1, ROUNDS * RACERS + 1))
        listed = await clients[1].get(
            f"/api/v1/address-blocks/{block['id']}/addresses?limit=1000", headers=op
        )
        assert sorted(a["offset"] for a in listed.json()["items"]) == sorted(offsets)
        usage = (await clients[0].get(f"/api/v1/address-blocks/{block['id']}", headers=op)).json()
        assert usage["usage"]["static"] == ROUNDS * RACERS
        created = await _events(clients[0], op, "address.created")
        assert sorted(e["data"]["offset"] for e in created) == sorted(offsets)

    async def test_racing_for_the_last_addresses_is_all_or_nothing(
        self,
        clients: list[httpx.AsyncClient],
        as_role: Headers,
        world: dict[str, Any],
        seed: Any,
    ) -> None:
        admin, op = as_role("admin"), as_role("operator")
        await seed.foundation(op, "f1")
        web = await seed.structure(op, "web1", "f1")
        names = itertools.count()
        for round_no in range(ROUNDS):
            # A /29 has offsets 1..6; ten racers for them: six win, four get no-free-address.
            block = await _block(clients[0], admin, f"tiny{round_no}", f"10.30.{round_no}.0", 29)
            path = f"/api/v1/address-blocks/{block['id']}/next-free"

            async def allocate(c: httpx.AsyncClient, _: int, path: str = path) -> httpx.Response:
                body = {"structure": web["id"], "interface_name": f"eth{next(names)}"}
                return await c.post(path, json=body, headers=op)

            results = await _race(clients, 10, allocate)
            won = [r for r in results if r.status_code == 201]
            lost = [r for r in results if r.status_code != 201]
            assert sorted(r.json()["offset"] for r in won) == [1, 2, 3, 4, 5, 6]
            assert [(r.status_code, _problem(r)) for r in lost] == [(409, "no-free-address")] * 4
            r = await clients[1].get(f"/api/v1/address-blocks/{block['id']}", headers=op)
            assert r.json()["usage"]["free"] == 0 and r.json()["usage"]["static"] == 6
        created = await _events(clients[0], op, "address.created")
        assert len(created) == ROUNDS * 6


async def _move(
    c: httpx.AsyncClient, path: str, headers: dict[str, str], frm: str, to: str, **extra: Any
) -> httpx.Response:
    return await c.post(
        f"/api/v1/{path}/state", json={"from": frm, "to": to, **extra}, headers=headers
    )


def _one_winner(results: list[httpx.Response], current_state: str) -> dict[str, Any]:
    """Exactly one 200; every other racer a 409 ``state-conflict`` naming the new state."""
    codes = sorted(r.status_code for r in results)
    assert codes == [200] + [409] * (len(results) - 1), [r.text for r in results]
    for r in results:
        if r.status_code == 409:
            assert _problem(r) == "state-conflict", r.text
            assert r.json()["current_state"] == current_state
    winner: dict[str, Any] = next(r for r in results if r.status_code == 200).json()
    return winner


class TestTransitions:
    async def test_racing_foundation_transitions_one_wins(
        self,
        clients: list[httpx.AsyncClient],
        as_role: Headers,
        world: dict[str, Any],
        seed: Any,
    ) -> None:
        op, admin = as_role("operator"), as_role("admin")
        for round_no in range(ROUNDS):
            locator = f"race{round_no}"
            await seed.foundation(op, locator)
            path = f"foundations/{locator}"
            for frm, to in (("planned", "located"), ("located", "built"), ("built", "planned")):
                results = await _race(
                    clients,
                    4,
                    lambda c, i, p=path, frm=frm, to=to: _move(c, p, (op, admin)[i % 2], frm, to),
                )
                assert _one_winner(results, to)["state"] == to
            r = await clients[1].get(f"/api/v1/{path}", headers=op)
            assert r.json()["state"] == "planned"
            assert r.json()["version"] == 4  # created + exactly three transitions
        events = await _events(clients[0], op, "foundation.*")
        for round_no in range(ROUNDS):
            mine = [e["type"] for e in events if e["subject"]["key"] == f"race{round_no}"]
            assert mine == [
                "foundation.created",
                "foundation.located",
                "foundation.built",
                "foundation.destroyed",
            ]

    async def test_racing_structure_transitions_one_wins(
        self,
        clients: list[httpx.AsyncClient],
        as_role: Headers,
        world: dict[str, Any],
        seed: Any,
    ) -> None:
        op = as_role("operator")
        ids = []
        for round_no in range(ROUNDS):
            await seed.foundation(op, f"f{round_no}")
            s = await seed.structure(op, f"web{round_no}", f"f{round_no}")
            path = f"structures/{s['id']}"
            built = _one_winner(
                await _race(clients, 4, lambda c, _, p=path: _move(c, p, op, "planned", "built")),
                "built",
            )
            assert built["config_uuid"] == s["config_uuid"]
            planned = _one_winner(
                await _race(clients, 4, lambda c, _, p=path: _move(c, p, op, "built", "planned")),
                "planned",
            )
            assert planned["config_uuid"] != s["config_uuid"]  # renewed exactly once
            r = await clients[1].get(f"/api/v1/{path}", headers=op)
            assert r.json()["config_uuid"] == planned["config_uuid"]
            ids.append(str(s["id"]))
        events = await _events(clients[0], op, "structure.*")
        for key in ids:
            mine = [e["type"] for e in events if e["subject"]["key"] == key]
            assert mine == ["structure.created", "structure.built", "structure.destroyed"]

    async def test_racing_reservations_one_job_holds_the_slot(
        self,
        clients: list[httpx.AsyncClient],
        as_role: Headers,
        world: dict[str, Any],
        seed: Any,
    ) -> None:
        op, svc = as_role("operator"), as_role("service")
        for round_no in range(ROUNDS):
            locator = f"job{round_no}"
            await seed.foundation(op, locator)
            path = f"/api/v1/foundations/{locator}/job"
            jobs = [1000 * (round_no + 1) + i for i in range(4)]

            async def reserve(
                c: httpx.AsyncClient, i: int, path: str = path, jobs: list[int] = jobs
            ) -> httpx.Response:
                body = {"job_id": jobs[i], "script": "create", "wait": True}
                return await c.put(path, json=body, headers=svc)

            results = await _race(clients, len(jobs), reserve)
            won = [r for r in results if r.status_code in (200, 201)]
            assert len(won) == 1, [r.text for r in results]
            holder = won[0].json()["slot"]["job_id"]
            for r in results:
                if r is not won[0]:
                    assert r.status_code == 409 and _problem(r) == "job-exists", r.text
                    assert r.json()["job_id"] == holder
            r = await clients[1].get(path, headers=svc)
            assert r.status_code == 200 and r.json()["slot"]["job_id"] == holder


class TestWrites:
    async def test_racing_patches_with_one_if_match_one_wins(
        self, clients: list[httpx.AsyncClient], as_role: Headers, world: dict[str, Any]
    ) -> None:
        admin = as_role("admin")
        for round_no in range(ROUNDS):
            version = (await clients[0].get("/api/v1/sites/dc1", headers=admin)).json()["version"]
            assert version == round_no + 1

            async def patch(
                c: httpx.AsyncClient, i: int, version: int = version, n: int = round_no
            ) -> httpx.Response:
                return await c.patch(
                    "/api/v1/sites/dc1",
                    json={"description": f"round {n} racer {i}"},
                    headers={**admin, "If-Match": f'"{version}"'},
                )

            results = await _race(clients, 4, patch)
            assert sorted(r.status_code for r in results) == [200, 412, 412, 412], [
                r.text for r in results
            ]
            assert all(_problem(r) == "version-mismatch" for r in results if r.status_code == 412)
            winner = next(r for r in results if r.status_code == 200)
            assert winner.json()["version"] == version + 1
        updated = await _events(clients[0], admin, "site.updated")
        assert len([e for e in updated if e["subject"]["key"] == "dc1"]) == ROUNDS

    async def test_deleting_a_block_while_allocating_from_it(
        self,
        clients: list[httpx.AsyncClient],
        as_role: Headers,
        world: dict[str, Any],
        seed: Any,
    ) -> None:
        admin, op = as_role("admin"), as_role("operator")
        await seed.foundation(op, "f1")
        web = await seed.structure(op, "web1", "f1")
        for round_no in range(ROUNDS):
            block = await _block(clients[0], admin, f"gone{round_no}", f"10.40.{round_no}.0", 24)
            path = f"/api/v1/address-blocks/{block['id']}"

            async def either(
                c: httpx.AsyncClient, i: int, path: str = path, n: int = round_no
            ) -> httpx.Response:
                if i % 2:
                    return await c.delete(path, headers=admin)
                body = {"structure": web["id"], "interface_name": f"r{n}x{i}"}
                return await c.post(f"{path}/next-free", json=body, headers=op)

            results = await _race(clients, 4, either)
            allocated = [r for r in results[0::2] if r.status_code == 201]
            deleted = [r for r in results[1::2] if r.status_code == 204]
            assert all(r.status_code < 500 for r in results), [r.text for r in results]
            assert len(deleted) <= 1
            # Never both: a block that was deleted had no address allocated in it.
            assert not (allocated and deleted), [r.text for r in results]
            r = await clients[1].get(path, headers=op)
            if deleted:
                assert r.status_code == 404
                assert all(_problem(x) == "not-found" for x in results[0::2])
            else:
                assert r.status_code == 200
                assert r.json()["usage"]["static"] == len(allocated) > 0
