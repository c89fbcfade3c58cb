"""Several claimers on one PostgreSQL never get the same task (spec §3.2)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from contractor.foreman import orm
from contractor.foreman.main import create_app
from contractor.foreman.store import jobs, tasks
from contractor.servicekit import testing
from contractor.servicekit.db import create_engine, create_session_factory
from fastapi import FastAPI
from foreman_agentkit import TestAgent
from foreman_fake_inventory import FakeInventory
from foreman_testkit import auth, eventually, make_settings
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

N = 20


@pytest.fixture
async def pg_sessions(pg_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    await testing.wipe_tables(pg_url, orm.Base.metadata)
    engine = create_engine(pg_url)
    yield create_session_factory(engine)
    await engine.dispose()


async def make_tasks(sessions: async_sessionmaker[AsyncSession]) -> set[str]:
    now = datetime.now(UTC)
    made: set[str] = set()
    async with sessions() as session, session.begin():
        for n in range(N):
            job = await jobs.create(
                session,
                target_kind="foundation",
                target_key=f"f{n}",
                script="create",
                wait_for_prerequisites=False,
                created_by="test",
                now=now,
            )
            job.site = "dc1"
            task = await tasks.create(
                session,
                task_id=f"00000000-0000-4000-8000-{n:012d}",
                job=job,
                module="sim",
                function="echo",
                parameters={},
                idempotent=True,
                purpose="call",
                now=now,
            )
            made.add(task.id)
    return made


async def test_two_claimers_skip_each_others_rows(
    pg_sessions: async_sessionmaker[AsyncSession],
) -> None:
    made = await make_tasks(pg_sessions)
    first_claimed = asyncio.Event()
    second_done = asyncio.Event()

    async def claimer(limit: int, first: bool) -> list[str]:
        async with pg_sessions() as session, session.begin():
            if not first:
                await first_claimed.wait()
            got = await tasks.claim(
                session,
                sites=["dc1"],
                module="sim",
                limit=limit,
                agent_id=None,
                incarnation=None,
                now=datetime.now(UTC),
                lease_s=60,
            )
            if first:
                first_claimed.set()
                await second_done.wait()  # hold the row locks while the other claims
            else:
                second_done.set()
            return [t.id for t in got]

    a, b = await asyncio.wait_for(asyncio.gather(claimer(N // 2, True), claimer(N, False)), 20)
    assert len(a) == N // 2 and len(b) == N - N // 2
    assert not set(a) & set(b)
    assert set(a) | set(b) == made


@pytest.fixture
async def replicas(pg_url: str, inventory: FakeInventory) -> AsyncIterator[tuple[FastAPI, FastAPI]]:
    await testing.wipe_tables(pg_url, orm.Base.metadata)
    one = create_app(make_settings(pg_url, inventory.url))
    two = create_app(make_settings(pg_url, inventory.url))
    async with one.router.lifespan_context(one), two.router.lifespan_context(two):
        yield one, two


def client_of(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://foreman",
        headers=auth("operator-token"),
    )


async def test_two_replicas_hand_each_task_out_once(
    replicas: tuple[FastAPI, FastAPI], inventory: FakeInventory
) -> None:
    one, two = replicas
    async with client_of(one) as c1, client_of(two) as c2:
        agents = [TestAgent(c1), TestAgent(c2, "agent2-token")]
        await agents[0].register("a1")
        await agents[1].register("a2")
        for n in range(N):
            inventory.add(
                "foundation",
                f"f{n}",
                state="located",
                scripts={"create": "x1 = sim.echo(value=1)\n"},
            )
            client = c1 if n % 2 else c2
            r = await client.post(f"/api/v1/foundations/f{n}/jobs", json={"script": "create"})
            assert r.status_code == 201, r.text
        delivered: list[tuple[str, str]] = []

        async def drain(agent: TestAgent) -> None:
            async def more() -> bool:
                answer = await agent.poll(wait_s=0.2, capacity=3)
                for task in answer["tasks"]:
                    delivered.append((agent.agent_id, task["id"]))
                    r = await agent.result(task, {"value": 1})
                    assert r.json()["status"] == "recorded"
                return len({t for _, t in delivered}) >= N

            await eventually(more, timeout=30)

        await asyncio.wait_for(asyncio.gather(*(drain(a) for a in agents)), 60)
        ids = [task_id for _, task_id in delivered]
        assert len(ids) == len(set(ids)) == N

        async def all_done() -> bool:
            page = (await c1.get("/api/v1/jobs", params={"state": "done", "limit": 100})).json()
            return len(page["items"]) == N

        await eventually(all_done, timeout=30)


async def test_notify_reaches_the_other_replica(
    replicas: tuple[FastAPI, FastAPI], inventory: FakeInventory
) -> None:
    one, two = replicas
    # Replica two's task signal is set only by its LISTEN connection: no local writer here.
    woken = asyncio.create_task(two.state.runtime.tasks.wait(120))
    async with client_of(one) as c1:
        for n in range(20):  # bounded; repeated in case LISTEN was not up for the first one
            key = f"n{n}"
            script = {"create": "x1 = sim.echo(value=1)\n"}
            inventory.add("foundation", key, state="located", scripts=script)
            r = await c1.post(f"/api/v1/foundations/{key}/jobs", json={"script": "create"})
            assert r.status_code == 201
            done, _ = await asyncio.wait({woken}, timeout=1)
            if done:
                break
    finished = woken.done()
    woken.cancel()
    assert finished
