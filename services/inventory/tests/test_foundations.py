from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from contractor.inventory import orm, store
from fastapi import FastAPI
from sqlalchemy import event, select

Headers = Callable[[str], dict[str, str]]


async def store_events(client: httpx.AsyncClient, headers: dict[str, str]) -> list[Any]:
    r = await client.get(
        "/api/v1/events?after=0&limit=100&types=foundation.created", headers=headers
    )
    assert r.status_code == 200, r.text
    found: list[Any] = r.json()["events"]
    return found


IPMI = {"ipmi_ip_address": "10.0.0.5", "ipmi_username": "admin", "ipmi_password": "bmc-s3cret"}


class TestCrud:
    async def test_create_read_update_delete(
        self, client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
    ) -> None:
        op = as_role("operator")
        created = await seed.foundation(op, "rack1-u20")
        assert created["state"] == "planned" and created["structure"] is None
        assert created["class_list"] == ["Metal", "VM", "Container", "Switch", "Manual"]
        r = await client.get("/api/v1/foundations/rack1-u20", headers=as_role("viewer"))
        assert r.status_code == 200 and r.headers["etag"] == '"1"'
        r = await client.patch(
            "/api/v1/foundations/rack1-u20",
            json={"serial": "SN1"},
            headers={**op, "If-Match": '"1"'},
        )
        assert r.status_code == 200 and r.json()["serial"] == "SN1" and r.json()["version"] == 2
        assert (await client.delete("/api/v1/foundations/rack1-u20", headers=op)).status_code == 204
        types = [e["type"] for e in await seed.events(op, "foundation.*")]
        assert types == ["foundation.created", "foundation.updated", "foundation.deleted"]
        updated = (await seed.events(op, "foundation.updated"))[0]["data"]
        assert updated["changed"] == ["serial"] and updated["type"] == "manual"

    async def test_duplicate_locator_and_serial_are_409(
        self, client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
    ) -> None:
        op = as_role("operator")
        await seed.foundation(op, "a", serial="SN1")
        body = {"locator": "a", "site": "dc1", "blueprint": "fbp", "type": "manual"}
        assert (await client.post("/api/v1/foundations", json=body, headers=op)).status_code == 409
        body = {**body, "locator": "b", "serial": "SN1"}
        assert (await client.post("/api/v1/foundations", json=body, headers=op)).status_code == 409

    async def test_create_checks_come_in_order_whatever_one_read_found(
        self, client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
    ) -> None:
        # One read brings the site chain, the blueprints and the locator's existence; with no
        # such site it has no row to say "taken" on, and the order of answers must not change.
        op = as_role("operator")
        await seed.foundation(op, "a")
        body = {"locator": "a", "site": "nowhere", "blueprint": "fbp", "type": "manual"}
        r = await client.post("/api/v1/foundations", json=body, headers=op)
        assert r.status_code == 409, r.text
        r = await client.post("/api/v1/foundations", json={**body, "locator": "b"}, headers=op)
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "site"]
        body = {**body, "locator": "b", "site": "dc1", "blueprint": "nope"}
        r = await client.post("/api/v1/foundations", json=body, headers=op)
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "blueprint"]
        r = await client.post("/api/v1/foundations", json={**body, "type": "nope"}, headers=op)
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "type"]
        names = [
            f["locator"]
            for f in (await client.get("/api/v1/foundations", headers=op)).json()["items"]
        ]
        assert names == ["a"]

    async def test_located_on_create_types(
        self, client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
    ) -> None:
        made = await seed.foundation(as_role("operator"), "ec2-1", type="aws")
        assert made["state"] == "located" and made["located_at"] is not None
        located = (await seed.events(as_role("admin"), "foundation.located"))[0]
        assert located["data"]["reason"] == "created" and located["actor"]["kind"] == "system"


class TestCreateStatements:
    async def test_a_create_is_one_read_one_insert_and_its_event(
        self, app: FastAPI, client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any]
    ) -> None:
        # The read brings every check; the row goes in by one INSERT (no unit of work); the
        # event rides with the outbox lock (PostgreSQL) or alone (SQLite).
        op = as_role("operator")
        body = {"locator": "f1", "site": "dc1", "blueprint": "fbp", "type": "manual"}
        engine = app.state.sessions.kw["bind"].sync_engine
        statements: list[str] = []

        def record(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
            # Not SQLite's BEGIN IMMEDIATE, nor the token check (its own short transactions).
            if not statement.startswith("BEGIN") and "tokens" not in statement:
                statements.append(statement)

        event.listen(engine, "before_cursor_execute", record)
        try:
            r = await client.post("/api/v1/foundations", json=body, headers=op)
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert r.status_code == 201, r.text
        assert len(statements) == 3, statements
        assert statements[0].startswith("WITH RECURSIVE")
        assert statements[1].startswith("INSERT INTO foundations")
        assert "INSERT INTO events" in statements[2]
        if engine.dialect.name == "postgresql":
            assert "pg_advisory_xact_lock" in statements[2]

    async def test_a_create_on_known_chains_is_one_guarded_insert_and_its_event(
        self, app: FastAPI, client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any]
    ) -> None:
        # PostgreSQL: once a create has read a site and blueprint, the next one on them skips
        # the read; its INSERT holds only if the chains still have the fingerprint then read.
        op = as_role("operator")
        engine = app.state.sessions.kw["bind"].sync_engine
        statements: list[str] = []

        def record(_conn: object, _cursor: object, statement: str, *_rest: object) -> None:
            if not statement.startswith("BEGIN") and "tokens" not in statement:
                statements.append(statement)

        body = {"locator": "f1", "site": "dc1", "blueprint": "fbp", "type": "sim"}
        event.listen(engine, "before_cursor_execute", record)
        try:
            first = await client.post("/api/v1/foundations", json=body, headers=op)
            assert first.status_code == 201, first.text
            statements.clear()
            second = await client.post(
                "/api/v1/foundations", json={**body, "locator": "f2"}, headers=op
            )
        finally:
            event.remove(engine, "before_cursor_execute", record)
        assert second.status_code == 201, second.text
        if engine.dialect.name != "postgresql":
            assert statements[0].startswith("WITH RECURSIVE")  # SQLite: always the read
            return
        assert len(statements) == 2, statements
        assert "INSERT INTO foundations" in statements[0] and "sha256" in statements[0]
        assert "pg_advisory_xact_lock" in statements[1]
        # The same row, event and answer as by the read.
        one, two = first.json(), second.json()
        for key in ("created_at", "updated_at"):
            del one[key], two[key]
        assert {**one, "locator": "f2"} == two
        created = await store_events(client, op)
        assert [e["subject"]["key"] for e in created] == ["f1", "f2"]
        assert {**created[0]["data"], "locator": "f2"} == created[1]["data"]

    async def test_known_chains_that_changed_are_read_again(
        self, app: FastAPI, client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any]
    ) -> None:
        op, admin = as_role("operator"), as_role("admin")
        body = {"locator": "f1", "site": "dc1", "blueprint": "fbp", "type": "sim"}
        r = await client.post("/api/v1/foundations", json=body, headers=op)
        assert r.status_code == 201 and r.json()["resources"]["cpu_count"] == 1, r.text
        # The site's values change the sizing: the next create is sized from them.
        r = await client.patch(
            "/api/v1/sites/dc1", json={"config_values": {"cpu_count": 6}}, headers=admin
        )
        assert r.status_code == 200, r.text
        r = await client.post("/api/v1/foundations", json={**body, "locator": "f2"}, headers=op)
        assert r.status_code == 201 and r.json()["resources"]["cpu_count"] == 6, r.text
        # Changed behind the app's back (no version bump): still seen.
        async with app.state.sessions() as session, session.begin():
            blueprint = await session.get(orm.Blueprint, "fbp")
            assert blueprint is not None
            blueprint.config_values = {"cpu_count": 3}
        r = await client.post("/api/v1/foundations", json={**body, "locator": "f3"}, headers=op)
        assert r.status_code == 201 and r.json()["resources"]["cpu_count"] == 6, r.text
        r = await client.patch("/api/v1/sites/dc1", json={"config_values": {}}, headers=admin)
        assert r.status_code == 200, r.text
        r = await client.post("/api/v1/foundations", json={**body, "locator": "f4"}, headers=op)
        assert r.status_code == 201 and r.json()["resources"]["cpu_count"] == 3, r.text
        # A type the blueprint no longer allows, a taken locator, a bad attribute: the usual
        # answers, in the usual order, and nothing inserted.
        async with app.state.sessions() as session, session.begin():
            blueprint = await session.get(orm.Blueprint, "fbp")
            assert blueprint is not None
            blueprint.foundation_types = ["manual"]
        r = await client.post("/api/v1/foundations", json={**body, "locator": "f5"}, headers=op)
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "blueprint"]
        r = await client.post("/api/v1/foundations", json={**body, "type": "manual"}, headers=op)
        assert r.status_code == 409, r.text
        r = await client.post(
            "/api/v1/foundations",
            json={**body, "type": "manual", "attributes": {"nope": 1}},
            headers=op,
        )
        assert r.status_code == 409, r.text
        r = await client.post(
            "/api/v1/foundations",
            json={**body, "locator": "f5", "type": "manual", "attributes": {"nope": 1}},
            headers=op,
        )
        assert r.status_code == 422 and r.json()["errors"][0]["loc"][:2] == ["body", "attributes"]
        listed = (await client.get("/api/v1/foundations", headers=op)).json()["items"]
        assert [f["locator"] for f in listed] == ["f1", "f2", "f3", "f4"]

    async def test_a_new_foundation_changed_in_its_transaction_is_updated(
        self, app: FastAPI, world: dict[str, Any]
    ) -> None:
        flushes: list[object] = []
        async with app.state.sessions() as session, session.begin():
            event.listen(session.sync_session, "after_flush", lambda *args: flushes.append(args))
            made = await store.foundations.create(
                session,
                {"locator": "f2", "site": "dc1", "blueprint": "fbp", "type": "manual"},
                app.state.box,
            )
            assert flushes == []  # inserted by a plain INSERT, not through the unit of work
            assert made in session and not session.dirty
            assert await session.get(orm.Foundation, "f2") is made  # no query: in the session
            made.serial = "SN-2"
            await session.flush()
            assert len(flushes) == 1
        async with app.state.sessions() as session:
            row = await session.get(orm.Foundation, "f2")
            assert row is not None and row.serial == "SN-2" and row.state == "planned"
            assert row.job_id is None and row.version == 1


class TestSecrets:
    async def test_secrets_are_write_only_and_encrypted_at_rest(
        self,
        app: FastAPI,
        client: httpx.AsyncClient,
        as_role: Headers,
        world: dict[str, Any],
        seed: Any,
    ) -> None:
        made = await seed.foundation(as_role("operator"), "bmc1", type="ipmi", attributes=IPMI)
        assert made["secrets_set"] == ["ipmi_password"]
        assert "ipmi_password" not in made["attributes"]
        for role in ("viewer", "operator", "admin", "service"):
            r = await client.get("/api/v1/foundations/bmc1", headers=as_role(role))
            assert "bmc-s3cret" not in r.text, role
        assert "bmc-s3cret" not in str(await seed.events(as_role("admin")))
        async with app.state.sessions() as session:
            row = await session.scalar(
                select(orm.Foundation).where(orm.Foundation.locator == "bmc1")
            )
            assert row is not None and row.sealed_secrets is not None
            assert "bmc-s3cret" not in row.sealed_secrets and "bmc-s3cret" not in str(
                row.attributes
            )
            assert app.state.box.open(row.sealed_secrets) == {"ipmi_password": "bmc-s3cret"}

    async def test_patching_attributes_keeps_secrets(
        self, client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
    ) -> None:
        await seed.foundation(as_role("operator"), "bmc1", type="ipmi", attributes=IPMI)
        r = await client.patch(
            "/api/v1/foundations/bmc1",
            json={"attributes": {"ipmi_port": 624}},
            headers=as_role("operator"),
        )
        assert r.status_code == 200, r.text
        assert r.json()["attributes"]["ipmi_port"] == 624
        assert r.json()["secrets_set"] == ["ipmi_password"]


class TestValidation:
    async def test_bad_foundations_are_422_naming_field(
        self, client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
    ) -> None:
        op = as_role("operator")
        base = {"locator": "f1", "site": "dc1", "blueprint": "fbp", "type": "manual"}
        cases = [
            ({**base, "type": "warp-drive"}, ["body", "type"], "validation-error"),
            ({**base, "type": "redfish"}, ["body", "blueprint"], "type-not-allowed"),
            ({**base, "site": "nowhere"}, ["body", "site"], "validation-error"),
            ({**base, "state": "built"}, ["body", "state"], "read-only"),
            ({**base, "locator": "bad locator"}, ["body", "locator"], "string_pattern_mismatch"),
            (
                {**base, "type": "ipmi", "attributes": {"ipmi_username": "u"}},
                ["body", "attributes", "ipmi_ip_address"],
                "missing",
            ),
            (
                {**base, "type": "sim", "attributes": {"sim_id": "x"}},
                ["body", "attributes", "sim_id"],
                "read-only",
            ),
            ({**base, "complex": "cluster1"}, ["body", "complex"], "validation-error"),
        ]
        for body, loc, kind in cases:
            r = await client.post("/api/v1/foundations", json=body, headers=op)
            assert r.status_code == 422, (body, r.text)
            assert r.json()["errors"][0]["loc"] == loc, body
            assert r.json()["errors"][0]["type"] == kind, body
        assert (await client.get("/api/v1/foundations", headers=op)).json()["items"] == []
        assert await seed.events(op, "foundation.*") == []

    async def test_immutable_fields_are_read_only(
        self, client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
    ) -> None:
        await seed.foundation(as_role("operator"), "f1")
        r = await client.patch(
            "/api/v1/foundations/f1", json={"type": "ipmi"}, headers=as_role("operator")
        )
        assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "type"]


class TestPermissionsAndListing:
    async def test_viewer_cannot_write(
        self, client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
    ) -> None:
        body = {"locator": "f1", "site": "dc1", "blueprint": "fbp", "type": "manual"}
        for role in ("viewer", "service"):
            assert (
                await client.post("/api/v1/foundations", json=body, headers=as_role(role))
            ).status_code == 403
        await seed.foundation(as_role("admin"), "f1")
        r = await client.delete("/api/v1/foundations/f1", headers=as_role("viewer"))
        assert r.status_code == 403

    async def test_filters_and_pages(
        self, client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
    ) -> None:
        op = as_role("operator")
        for locator in ("f1", "f2", "f3"):
            await seed.foundation(op, locator)
        await seed.foundation(op, "e1", type="aws")
        await seed.structure(op, "web1", "f2")
        r = await client.get("/api/v1/foundations?type=manual&limit=2", headers=op)
        assert [f["locator"] for f in r.json()["items"]] == ["f1", "f2"]
        r = await client.get(
            f"/api/v1/foundations?type=manual&limit=2&cursor={r.json()['next_cursor']}", headers=op
        )
        assert [f["locator"] for f in r.json()["items"]] == ["f3"] and r.json()[
            "next_cursor"
        ] is None
        r = await client.get("/api/v1/foundations?has_structure=true", headers=op)
        assert [(f["locator"], f["structure"] is not None) for f in r.json()["items"]] == [
            ("f2", True)
        ]
        r = await client.get("/api/v1/foundations?state=located", headers=op)
        assert [f["locator"] for f in r.json()["items"]] == ["e1"]
        r = await client.get(
            "/api/v1/foundations?site=dc1&site_tree=true&has_structure=false", headers=op
        )
        assert [f["locator"] for f in r.json()["items"]] == ["e1", "f1", "f3"]

    async def test_delete_refused_with_structure(
        self, client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any
    ) -> None:
        op = as_role("operator")
        await seed.foundation(op, "f1")
        await seed.structure(op, "web1", "f1")
        r = await client.delete("/api/v1/foundations/f1", headers=op)
        assert r.status_code == 409 and r.json()["type"].endswith("not-deletable")

    async def test_foundation_types_published(
        self, client: httpx.AsyncClient, as_role: Headers
    ) -> None:
        r = await client.get("/api/v1/foundation-types/ipmi", headers=as_role("viewer"))
        assert r.status_code == 200 and r.json()["display_name"] == "IPMI"
        assert "ipmi_password" in r.json()["attributes"]["properties"]
        assert (
            await client.get("/api/v1/foundation-types/nope", headers=as_role("viewer"))
        ).status_code == 404
