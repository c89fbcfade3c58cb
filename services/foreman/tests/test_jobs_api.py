from __future__ import annotations

import httpx
from contractor.foreman import orm
from fastapi import FastAPI
from foreman_fake_inventory import FakeInventory
from foreman_testkit import auth, job_in
from sqlalchemy import func, select

ECHO = "sim.echo(value=1)\n"


async def counts(app: FastAPI) -> tuple[int, int, int]:
    async with app.state.sessions() as session:
        jobs = await session.scalar(select(func.count()).select_from(orm.Job))
        logs = await session.scalar(select(func.count()).select_from(orm.JobLog))
        events = await session.scalar(select(func.count()).select_from(orm.events))
    return int(jobs or 0), int(logs or 0), int(events or 0)


class TestCreateJob:
    async def test_granted_job_is_running(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        inventory.add("foundation", "sim1", state="located", scripts={"create": ECHO})
        r = await client.post(
            "/api/v1/jobs",
            json={"target": {"kind": "foundation", "key": "sim1"}, "script": "create"},
        )
        assert r.status_code == 201, r.text
        job = r.json()
        assert job["state"] in ("running", "waiting_task")
        assert job["target"] == {"kind": "foundation", "key": "sim1", "site": "dc1"}
        assert job["kind"] == "create"
        assert job["program"].startswith("sha256:")
        assert job["created_by"] == "user:alice"
        assert r.headers["location"] == f"/api/v1/jobs/{job['id']}"
        assert ("reserve", "sim1", {"job_id": job["id"], "script": "create", "wait": False}) in (
            inventory.calls
        )

    async def test_per_target_route(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        inventory.add("structure", "42", state="planned", scripts={"create": ECHO})
        r = await client.post("/api/v1/structures/42/jobs", json={"script": "create"})
        assert r.status_code == 201, r.text
        listed = (await client.get("/api/v1/structures/42/jobs")).json()
        assert [j["id"] for j in listed["items"]] == [r.json()["id"]]

    async def test_bad_script_name_is_422_naming_the_field(
        self, client: httpx.AsyncClient, app: FastAPI, inventory: FakeInventory
    ) -> None:
        inventory.add("foundation", "sim1")
        r = await client.post(
            "/api/v1/jobs", json={"target": {"kind": "foundation", "key": "sim1"}, "script": "-x"}
        )
        assert r.status_code == 422
        problem = r.json()
        assert problem["type"] == "urn:contractor:problem:invalid-script"
        assert problem["errors"][0]["loc"] == ["body", "script"]
        assert await counts(app) == (0, 0, 0)
        assert inventory.calls == []

    async def test_unknown_field_is_422(self, client: httpx.AsyncClient) -> None:
        r = await client.post(
            "/api/v1/jobs",
            json={"target": {"kind": "foundation", "key": "a"}, "script": "create", "extra": 1},
        )
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "extra"]

    async def test_bad_target_kind_is_422(self, client: httpx.AsyncClient) -> None:
        r = await client.post(
            "/api/v1/jobs", json={"target": {"kind": "site", "key": "a"}, "script": "create"}
        )
        assert r.status_code == 422
        assert r.json()["errors"][0]["loc"] == ["body", "target", "kind"]

    async def test_second_job_is_409_job_exists(
        self, client: httpx.AsyncClient, app: FastAPI, inventory: FakeInventory
    ) -> None:
        inventory.add("foundation", "sim1", state="located", scripts={"create": "pause(msg='x')\n"})
        body = {"target": {"kind": "foundation", "key": "sim1"}, "script": "create"}
        first = (await client.post("/api/v1/jobs", json=body)).json()
        before = await counts(app)
        r = await client.post("/api/v1/jobs", json=body)
        assert r.status_code == 409
        problem = r.json()
        assert problem["type"] == "urn:contractor:problem:job-exists"
        assert problem["job_id"] == first["id"]
        assert problem["state"] in ("running", "paused")
        assert (await counts(app))[0] == before[0]

    async def test_inventory_refusal_passes_through_and_writes_nothing(
        self, client: httpx.AsyncClient, app: FastAPI, inventory: FakeInventory
    ) -> None:
        inventory.add("foundation", "sim1", state="built")
        body = {"target": {"kind": "foundation", "key": "sim1"}, "script": "create"}
        r = await client.post("/api/v1/jobs", json=body)
        assert r.status_code == 409
        assert r.json()["type"] == "urn:contractor:problem:already-built"
        assert await counts(app) == (0, 0, 0)

    async def test_prerequisite_not_ready_keeps_waiting_on(
        self, client: httpx.AsyncClient, app: FastAPI, inventory: FakeInventory
    ) -> None:
        waiting_on = [{"kind": "foundation", "key": "f1", "state": "located", "required": "built"}]
        inventory.add("structure", "7", blocked_on=waiting_on)
        r = await client.post("/api/v1/structures/7/jobs", json={"script": "create"})
        assert r.status_code == 409
        assert r.json()["type"] == "urn:contractor:problem:prerequisite-not-ready"
        assert r.json()["waiting_on"] == waiting_on
        assert await counts(app) == (0, 0, 0)

    async def test_blocked_with_wait_is_queued(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        waiting_on = [{"kind": "foundation", "key": "f1", "state": "located", "required": "built"}]
        inventory.add("structure", "7", blocked_on=waiting_on)
        r = await client.post(
            "/api/v1/structures/7/jobs", json={"script": "create", "wait_for_prerequisites": True}
        )
        assert r.status_code == 201, r.text
        job = r.json()
        assert job["state"] == "queued"
        assert job["wait"] == {"kind": "prerequisite", "waiting_on": waiting_on}

    async def test_unknown_target_is_404(self, client: httpx.AsyncClient, app: FastAPI) -> None:
        r = await client.post("/api/v1/foundations/nope/jobs", json={"script": "create"})
        assert r.status_code == 404
        assert await counts(app) == (0, 0, 0)

    async def test_script_parse_error_is_422_with_position(
        self, client: httpx.AsyncClient, app: FastAPI, inventory: FakeInventory
    ) -> None:
        inventory.add("foundation", "sim1", state="located", scripts={"create": "if (\n"})
        r = await client.post("/api/v1/foundations/sim1/jobs", json={"script": "create"})
        assert r.status_code == 422
        assert r.json()["type"] == "urn:contractor:problem:script-invalid"
        assert r.json()["errors"][0]["line"] >= 1
        assert await counts(app) == (0, 0, 0)


class TestAuth:
    async def test_viewer_cannot_create(self, client: httpx.AsyncClient) -> None:
        r = await client.post(
            "/api/v1/foundations/x/jobs", json={"script": "create"}, headers=auth("viewer-token")
        )
        assert r.status_code == 403

    async def test_no_token_is_401(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/api/v1/jobs", headers={"Authorization": ""})
        assert r.status_code == 401

    async def test_unknown_token_is_401(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/api/v1/jobs", headers=auth("nope"))
        assert r.status_code == 401


class TestReadJobs:
    async def test_empty_script_runs_to_done_and_logs(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        target = inventory.add("foundation", "sim1", state="located")
        job = (await client.post("/api/v1/foundations/sim1/jobs", json={"script": "create"})).json()
        done = await job_in(client, job["id"], "done", "error")
        assert done["state"] == "done", done
        assert target.state == "built"
        assert target.slot is None
        log = (await client.get(f"/api/v1/jobs/{job['id']}/log")).json()["items"]
        moves = [(e["from"], e["to"]) for e in log if e["to"]]
        assert moves[0] == (None, "queued")
        assert (moves[1], moves[-1]) == (("queued", "running"), ("running", "done"))
        assert any(e["message"] == "empty script" for e in log)

    async def test_list_filters_and_pages(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        for key in ("a", "b", "c"):
            inventory.add(
                "foundation", key, state="located", scripts={"create": "pause(msg='p')\n"}
            )
            r = await client.post(f"/api/v1/foundations/{key}/jobs", json={"script": "create"})
            assert r.status_code == 201
        page = (await client.get("/api/v1/jobs", params={"limit": 2})).json()
        assert len(page["items"]) == 2 and page["next_cursor"]
        rest = (await client.get("/api/v1/jobs", params={"cursor": page["next_cursor"]})).json()
        assert len(rest["items"]) == 1 and rest["next_cursor"] is None
        only = (await client.get("/api/v1/jobs", params={"target": "b"})).json()
        assert [j["target"]["key"] for j in only["items"]] == ["b"]

    async def test_missing_job_is_404(self, client: httpx.AsyncClient) -> None:
        r = await client.get("/api/v1/jobs/999999")
        assert r.status_code == 404
        assert r.headers["content-type"] == "application/problem+json"

    async def test_events_feed_has_job_events(
        self, client: httpx.AsyncClient, inventory: FakeInventory
    ) -> None:
        inventory.add("foundation", "sim1", state="located")
        job = (await client.post("/api/v1/foundations/sim1/jobs", json={"script": "create"})).json()
        await job_in(client, job["id"], "done")
        feed = (await client.get("/api/v1/events", params={"after": "0"})).json()
        types = [e["type"] for e in feed["events"]]
        assert types[0] == "job.created"
        assert "job.state_changed" in types and types[-1] == "job.done"
        changed = [e["data"] for e in feed["events"] if e["type"] == "job.state_changed"]
        assert changed[-1]["from"] == "running" and changed[-1]["to"] == "done"
        assert changed[-1]["target"] == {"kind": "foundation", "key": "sim1"}
