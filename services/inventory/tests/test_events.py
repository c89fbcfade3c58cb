from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
from contractor.inventory import orm
from contractor.inventory.main import create_app
from contractor.inventory.settings import Settings
from contractor.servicekit import testing
from contractor.servicekit.auth import Role

Headers = Callable[[str], dict[str, str]]


async def _sites(client: httpx.AsyncClient, admin: dict[str, str], *names: str) -> None:
    for name in names:
        r = await client.post(
            "/api/v1/sites", json={"name": name, "description": "d"}, headers=admin
        )
        assert r.status_code == 201


async def test_feed_pages_in_cursor_order(client: httpx.AsyncClient, as_role: Headers) -> None:
    admin = as_role("admin")
    await _sites(client, admin, "a", "b", "c")
    r = await client.get("/api/v1/events?after=0&limit=2", headers=as_role("viewer"))
    page = r.json()
    assert [e["subject"]["key"] for e in page["events"]] == ["a", "b"]
    cursors = [int(e["cursor"]) for e in page["events"]]
    assert cursors == sorted(cursors) and page["next_cursor"] == str(cursors[-1])
    r = await client.get(f"/api/v1/events?after={page['next_cursor']}", headers=admin)
    assert [e["subject"]["key"] for e in r.json()["events"]] == ["c"]
    head = (await client.get("/api/v1/events/head", headers=admin)).json()["cursor"]
    assert head == r.json()["events"][-1]["cursor"] == r.json()["next_cursor"]
    event = r.json()["events"][0]
    assert event["occurred_at"].endswith("Z") and len(event["id"]) == 36
    assert event["type"] == "site.created" and event["site"] == "c"


async def test_type_filter_and_scanned_cursor(client: httpx.AsyncClient, as_role: Headers) -> None:
    admin = as_role("admin")
    await _sites(client, admin, "a")
    await client.post(
        "/api/v1/scripts", json={"name": "s", "description": "d", "body": ""}, headers=admin
    )
    r = await client.get("/api/v1/events?types=site.*", headers=admin)
    assert [e["type"] for e in r.json()["events"]] == ["site.created"]
    head = (await client.get("/api/v1/events/head", headers=admin)).json()["cursor"]
    assert r.json()["next_cursor"] == head  # the filtered-out script event was scanned
    r = await client.get("/api/v1/events?types=script.created,token.revoked", headers=admin)
    assert [e["type"] for e in r.json()["events"]] == ["script.created"]
    r = await client.get("/api/v1/events?site=a", headers=admin)
    assert [e["type"] for e in r.json()["events"]] == ["site.created"]


async def test_long_poll_wakes_on_commit(client: httpx.AsyncClient, as_role: Headers) -> None:
    admin = as_role("admin")
    head = (await client.get("/api/v1/events/head", headers=admin)).json()["cursor"]
    waiter = asyncio.create_task(client.get(f"/api/v1/events?after={head}&wait=10", headers=admin))
    await asyncio.sleep(0.2)
    assert not waiter.done()
    await _sites(client, admin, "late")
    r = await asyncio.wait_for(waiter, 5)
    assert [e["subject"]["key"] for e in r.json()["events"]] == ["late"]


async def test_long_poll_times_out_empty(client: httpx.AsyncClient, as_role: Headers) -> None:
    r = await client.get("/api/v1/events?after=0&wait=0.2", headers=as_role("admin"))
    assert r.status_code == 200 and r.json() == {"events": [], "next_cursor": "0"}


async def test_bad_feed_parameters(client: httpx.AsyncClient, as_role: Headers) -> None:
    admin = as_role("admin")
    assert (await client.get("/api/v1/events?after=abc", headers=admin)).status_code == 422
    assert (await client.get("/api/v1/events?wait=61", headers=admin)).status_code == 422
    assert (await client.get("/api/v1/events", headers=as_role("service"))).status_code == 200


async def test_feed_carries_no_config_values(
    client: httpx.AsyncClient, as_role: Headers, seed: Any
) -> None:
    r = await client.post(
        "/api/v1/sites",
        json={"name": "a", "description": "d", "config_values": {"marker_value": "zzz-unique"}},
        headers=as_role("admin"),
    )
    assert r.status_code == 201
    assert "zzz-unique" not in str(await seed.events(as_role("admin")))


async def test_expired_events_are_purged_and_old_cursors_get_410(
    app: Any, client: httpx.AsyncClient, as_role: Headers
) -> None:
    from datetime import timedelta

    from contractor.inventory import orm, retention
    from contractor.servicekit.db import utcnow
    from sqlalchemy import update

    admin = as_role("admin")
    await _sites(client, admin, "a", "b", "c", "d")
    cursors = [
        int(e["cursor"])
        for e in (await client.get("/api/v1/events", headers=admin)).json()["events"]
    ]
    async with app.state.sessions() as session, session.begin():
        await session.execute(
            update(orm.events)
            .where(orm.events.c.cursor <= cursors[2])
            .values(occurred_at=utcnow() - timedelta(days=30))
        )
    assert await retention.purge_once(app.state.sessions, 14) == 3
    r = await client.get(f"/api/v1/events?after={cursors[0]}", headers=admin)
    assert r.status_code == 410 and r.json()["type"].endswith("cursor-expired")
    assert r.json()["oldest_cursor"] == str(cursors[3])
    r = await client.get(f"/api/v1/events?after={cursors[2]}", headers=admin)
    assert r.status_code == 200 and [e["subject"]["key"] for e in r.json()["events"]] == ["d"]
    r = await client.get("/api/v1/events?after=0", headers=admin)
    assert [e["subject"]["key"] for e in r.json()["events"]] == ["d"]
    async with app.state.sessions() as session, session.begin():
        await session.execute(update(orm.events).values(occurred_at=utcnow() - timedelta(days=30)))
    assert await retention.purge_once(app.state.sessions, 14) == 0  # the newest always stays


async def test_a_write_on_one_replica_wakes_a_reader_on_another(
    pg_url: str, settings_for: Callable[..., Settings], token_for: Callable[..., Any]
) -> None:
    # Two inventory replicas on one PostgreSQL database. The reader's replica re-checks the
    # database only every 5 s, so an answer well within that comes from its LISTEN connection
    # hearing the writer's NOTIFY.
    await testing.wipe_tables(pg_url, orm.Base.metadata)
    writer_app = create_app(settings_for(pg_url))
    reader_app = create_app(settings_for(pg_url, feed_poll_interval_s=5))
    async with (
        writer_app.router.lifespan_context(writer_app),
        reader_app.router.lifespan_context(reader_app),
    ):
        admin = {"Authorization": f"Bearer {await token_for(writer_app, Role.ADMIN)}"}
        writer = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=writer_app), base_url="http://a"
        )
        reader = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=reader_app), base_url="http://b"
        )
        async with writer, reader:
            head = (await reader.get("/api/v1/events/head", headers=admin)).json()["cursor"]
            await asyncio.sleep(0.5)  # the reader's LISTEN connection is up

            async def read() -> tuple[float, dict[str, Any]]:
                started = asyncio.get_running_loop().time()
                r = await reader.get(f"/api/v1/events?after={head}&wait=4", headers=admin)
                return asyncio.get_running_loop().time() - started, r.json()

            waiting = asyncio.create_task(read())
            await asyncio.sleep(0.3)
            r = await writer.post(
                "/api/v1/sites", json={"name": "far", "description": "d"}, headers=admin
            )
            assert r.status_code == 201
            elapsed, page = await waiting
    assert [e["subject"]["key"] for e in page["events"]] == ["far"]
    assert elapsed < 2.0, f"the reader heard of the write only after {elapsed:.2f} s"
