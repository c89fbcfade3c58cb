from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
from contractor.inventory import orm
from fastapi import FastAPI
from sqlalchemy import update

Headers = Callable[[str], dict[str, str]]


async def hold(app: FastAPI, table: Any, where: Any, job_id: int, script: str = "create") -> None:
    async with app.state.sessions() as session, session.begin():
        await session.execute(
            update(table).where(where).values(job_id=job_id, job_script=script, job_kind=script)
        )


async def move(
    client: httpx.AsyncClient, path: str, headers: dict[str, str], **body: Any
) -> httpx.Response:
    body = {"from": body.pop("frm"), **body}
    return await client.post(f"/api/v1/{path}/state", json=body, headers=headers)


class TestFoundationStates:
    async def test_locate_then_build_then_destroy(
        self, client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
    ) -> None:
        op = as_role("operator")
        await seed.foundation(op, "f1")
        r = await move(client, "foundations/f1", op, frm="planned", to="located")
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "located" and r.json()["located_at"] and not r.json()["repeat"]
        r = await move(client, "foundations/f1", op, frm="located", to="built")
        assert r.json()["state"] == "built" and r.json()["built_at"]
        r = await move(client, "foundations/f1", op, frm="built", to="planned")
        assert r.json()["state"] == "planned" and r.json()["located_at"] is None
        evs = await seed.events(op, "foundation.*")
        assert [e["type"] for e in evs][-3:] == [
            "foundation.located",
            "foundation.built",
            "foundation.destroyed",
        ]
        assert evs[-1]["data"]["reason"] == "operator" and evs[-1]["data"]["from"] == "built"

    async def test_wrong_from_is_409_with_current_state(
        self, client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
    ) -> None:
        await seed.foundation(as_role("operator"), "f1")
        r = await move(client, "foundations/f1", as_role("operator"), frm="located", to="built")
        assert r.status_code == 409
        assert r.json()["type"] == "urn:contractor:problem:state-conflict"
        assert r.json()["current_state"] == "planned"

    async def test_roles(
        self, client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
    ) -> None:
        await seed.foundation(as_role("operator"), "f1")
        r = await move(client, "foundations/f1", as_role("viewer"), frm="planned", to="located")
        assert r.status_code == 403
        r = await move(
            client, "foundations/f1", as_role("service"), frm="planned", to="located", job_id=5
        )
        assert r.status_code == 409 and r.json()["type"].endswith("job-mismatch")
        r = await move(client, "foundations/f1", as_role("admin"), frm="planned", to="located")
        assert r.status_code == 200

    async def test_slot_holder_moves_releases_and_repeats(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        as_role: Headers,
        world: dict[str, Any],
        seed: Any,
    ) -> None:
        await seed.foundation(as_role("operator"), "f1")
        await hold(app, orm.Foundation, orm.Foundation.locator == "f1", 4711)
        r = await move(client, "foundations/f1", as_role("operator"), frm="planned", to="built")
        assert r.status_code == 409 and r.json()["type"].endswith("job-mismatch")
        svc = as_role("service")
        r = await move(client, "foundations/f1", svc, frm="planned", to="built", job_id=9)
        assert r.status_code == 409 and r.json()["job_id"] == 4711
        r = await move(
            client, "foundations/f1", svc, frm="planned", to="built", job_id=4711, release_job=True
        )
        assert r.status_code == 200, r.text
        assert r.json()["state"] == "built" and r.json()["job"] is None
        r = await move(
            client, "foundations/f1", svc, frm="planned", to="built", job_id=4711, release_job=True
        )
        assert r.status_code == 200 and r.json()["repeat"] is True
        # A retry that read the state it caused (from = to = built) is the same job's repeat.
        r = await move(
            client, "foundations/f1", svc, frm="built", to="built", job_id=4711, release_job=True
        )
        assert r.status_code == 200 and r.json()["repeat"] is True
        # Another job's built → built is still no move at all.
        r = await move(client, "foundations/f1", svc, frm="built", to="built", job_id=9)
        assert r.status_code == 409 and r.json()["type"].endswith("transition-not-allowed")
        built = await seed.events(svc, "foundation.built")
        assert (
            len(built) == 1
            and built[0]["data"]["job_id"] == 4711
            and built[0]["data"]["reason"] == "job"
        )

    async def test_hardware_rules_require_a_report(
        self, client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
    ) -> None:
        r = await client.patch(
            "/api/v1/blueprints/foundation/fbp",
            json={"hardware_rules": [{"path": "hardware.cpu.count", "min": 2}]},
            headers=as_role("admin"),
        )
        assert r.status_code == 200, r.text
        await seed.foundation(as_role("operator"), "f1")
        for to in ("located", "built"):
            r = await move(client, "foundations/f1", as_role("operator"), frm="planned", to=to)
            assert r.status_code == 409 and r.json()["type"].endswith("hardware-required")

    async def test_destroy_cascades_to_structure(
        self, client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
    ) -> None:
        op = as_role("operator")
        await seed.foundation(op, "f1")
        s = await seed.structure(op, "web1", "f1")
        await move(client, "foundations/f1", op, frm="planned", to="built")
        await move(client, f"structures/{s['id']}", op, frm="planned", to="built")
        r = await move(client, "foundations/f1", op, frm="built", to="located")
        assert r.status_code == 409 and r.json()["type"].endswith("transition-not-allowed")
        r = await move(client, "foundations/f1", op, frm="built", to="planned")
        assert r.status_code == 200, r.text
        after = (await client.get(f"/api/v1/structures/{s['id']}", headers=op)).json()
        assert after["state"] == "planned" and after["config_uuid"] != s["config_uuid"]
        destroyed = await seed.events(op, "structure.destroyed")
        assert destroyed[0]["data"]["cascade_of"] == {"kind": "foundation", "key": "f1"}

    async def test_cascade_blocked_by_other_job_changes_nothing(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        as_role: Headers,
        world: dict[str, Any],
        seed: Any,
    ) -> None:
        op = as_role("operator")
        await seed.foundation(op, "f1")
        s = await seed.structure(op, "web1", "f1")
        await move(client, "foundations/f1", op, frm="planned", to="built")
        await move(client, f"structures/{s['id']}", op, frm="planned", to="built")
        await hold(app, orm.Foundation, orm.Foundation.locator == "f1", 1, "destroy")
        await hold(app, orm.Structure, orm.Structure.id == s["id"], 2, "utility")
        before = await seed.events(op)
        r = await move(
            client, "foundations/f1", as_role("service"), frm="built", to="planned", job_id=1
        )
        assert r.status_code == 409 and r.json()["type"].endswith("cascade-blocked")
        assert r.json()["blocking"][0]["kind"] == "structure"
        assert (await client.get("/api/v1/foundations/f1", headers=op)).json()["state"] == "built"
        assert await seed.events(op) == before

    async def test_free_foundation_does_not_move_while_structure_holds_job(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        as_role: Headers,
        world: dict[str, Any],
        seed: Any,
    ) -> None:
        op = as_role("operator")
        await seed.foundation(op, "f1")
        s = await seed.structure(op, "web1", "f1")
        await hold(app, orm.Structure, orm.Structure.id == s["id"], 3)
        r = await move(client, "foundations/f1", op, frm="planned", to="located")
        assert r.status_code == 409 and r.json()["type"].endswith("job-exists")


class TestStructureStates:
    async def test_build_and_destroy(
        self, client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
    ) -> None:
        op = as_role("operator")
        await seed.foundation(op, "f1")
        s = await seed.structure(op, "web1", "f1")
        r = await move(client, f"structures/{s['id']}", op, frm="planned", to="built")
        assert r.status_code == 200 and r.json()["state"] == "built"
        r = await client.patch(
            f"/api/v1/structures/{s['id']}", json={"hostname": "web9"}, headers=op
        )
        assert r.status_code == 409
        r = await client.delete(f"/api/v1/structures/{s['id']}", headers=op)
        assert r.status_code == 409 and r.json()["type"].endswith("not-deletable")
        r = await move(client, f"structures/{s['id']}", op, frm="built", to="planned")
        assert r.status_code == 200 and r.json()["config_uuid"] != s["config_uuid"]
        r = await move(client, f"structures/{s['id']}", op, frm="planned", to="located")
        assert r.status_code == 409 and r.json()["type"].endswith("transition-not-allowed")
        built = (await seed.events(op, "structure.built"))[0]["data"]
        assert built["fqdn"] == "web1.dc1.example.com" and built["to"] == "built"

    async def test_racing_transitions_one_wins(
        self, client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
    ) -> None:
        op = as_role("operator")
        await seed.foundation(op, "f1")
        s = await seed.structure(op, "web1", "f1")
        results = await asyncio.gather(
            *(
                move(client, f"structures/{s['id']}", op, frm="planned", to="built")
                for _ in range(2)
            )
        )
        assert sorted(r.status_code for r in results) == [200, 409]
        loser = next(r for r in results if r.status_code == 409)
        assert loser.json()["current_state"] == "built"
        assert len(await seed.events(op, "structure.built")) == 1
