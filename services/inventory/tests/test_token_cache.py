"""The per-replica token cache: what it may serve late (a revocation made elsewhere, for at most
``token_cache_s``) and what it never may (a wrong secret, an expired token, a revocation made
through this replica)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx
from contractor.inventory import orm, store
from contractor.inventory.main import create_app
from contractor.inventory.settings import Settings
from contractor.servicekit import testing
from contractor.servicekit.auth import Role, format_token, parse_token
from contractor.servicekit.db import utcnow
from fastapi import FastAPI
from sqlalchemy import update

SettingsFor = Callable[..., Settings]


@asynccontextmanager
async def replica(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://inventory") as client:
            yield app, client


async def _issue(app: FastAPI, **extra: Any) -> tuple[int, str]:
    async with app.state.sessions() as session, session.begin():
        token, presented = await store.tokens.issue(
            session,
            name="cached",
            role=Role.VIEWER,
            sites=None,
            expires_at=extra.get("expires_at"),
            created_by="tests",
        )
    return token.id, presented


async def _revoke_behind_the_back(app: FastAPI, token_id: int) -> None:
    """What a revocation through another replica does to this one: a committed row change."""
    async with app.state.sessions() as session, session.begin():
        await session.execute(
            update(orm.Token).where(orm.Token.id == token_id).values(revoked_at=utcnow())
        )


def _bearer(presented: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {presented}"}


async def test_revocation_elsewhere_takes_effect_within_the_ttl(
    database_url: str, settings_for: SettingsFor
) -> None:
    await testing.wipe_tables(database_url, orm.Base.metadata)
    async with replica(settings_for(database_url, token_cache_s=0.3)) as (app, client):
        token_id, presented = await _issue(app)
        assert (await client.get("/api/v1/sites", headers=_bearer(presented))).status_code == 200
        await _revoke_behind_the_back(app, token_id)
        # Served from the cache: this replica has not seen the revocation yet.
        assert (await client.get("/api/v1/sites", headers=_bearer(presented))).status_code == 200
        await asyncio.sleep(0.4)
        assert (await client.get("/api/v1/sites", headers=_bearer(presented))).status_code == 401


async def test_no_cache_sees_a_revocation_elsewhere_at_once(
    database_url: str, settings_for: SettingsFor
) -> None:
    await testing.wipe_tables(database_url, orm.Base.metadata)
    async with replica(settings_for(database_url, token_cache_s=0)) as (app, client):
        token_id, presented = await _issue(app)
        assert (await client.get("/api/v1/sites", headers=_bearer(presented))).status_code == 200
        await _revoke_behind_the_back(app, token_id)
        assert (await client.get("/api/v1/sites", headers=_bearer(presented))).status_code == 401


async def test_revocation_through_the_replica_is_seen_at_once_despite_a_long_ttl(
    database_url: str, settings_for: SettingsFor
) -> None:
    await testing.wipe_tables(database_url, orm.Base.metadata)
    async with replica(settings_for(database_url, token_cache_s=30)) as (app, client):
        _, admin = await _issue_admin(app)
        token_id, presented = await _issue(app)
        assert (await client.get("/api/v1/sites", headers=_bearer(presented))).status_code == 200
        r = await client.delete(f"/api/v1/tokens/{token_id}", headers=_bearer(admin))
        assert r.status_code == 204
        assert (await client.get("/api/v1/sites", headers=_bearer(presented))).status_code == 401


async def test_a_cached_token_id_with_a_wrong_secret_is_refused(
    database_url: str, settings_for: SettingsFor
) -> None:
    await testing.wipe_tables(database_url, orm.Base.metadata)
    async with replica(settings_for(database_url, token_cache_s=30)) as (app, client):
        token_id, presented = await _issue(app)
        assert (await client.get("/api/v1/sites", headers=_bearer(presented))).status_code == 200
        _, secret = parse_token(presented)
        forged = format_token(token_id, ("A" if secret[0] != "A" else "B") + secret[1:])
        assert (await client.get("/api/v1/sites", headers=_bearer(forged))).status_code == 401
        assert (await client.get("/api/v1/sites", headers=_bearer(presented))).status_code == 200


async def test_a_cached_token_is_refused_once_expired(
    database_url: str, settings_for: SettingsFor
) -> None:
    await testing.wipe_tables(database_url, orm.Base.metadata)
    async with replica(settings_for(database_url, token_cache_s=30)) as (app, client):
        expires_at = utcnow() + timedelta(seconds=0.5)
        _, presented = await _issue(app, expires_at=expires_at)
        assert (await client.get("/api/v1/sites", headers=_bearer(presented))).status_code == 200
        await asyncio.sleep(max(0.0, (expires_at - utcnow()).total_seconds()) + 0.1)
        assert (await client.get("/api/v1/sites", headers=_bearer(presented))).status_code == 401


async def test_last_use_is_still_written_through_the_cache(
    database_url: str, settings_for: SettingsFor
) -> None:
    await testing.wipe_tables(database_url, orm.Base.metadata)
    async with replica(settings_for(database_url, token_cache_s=30)) as (app, client):
        token_id, presented = await _issue(app)
        for _ in range(3):
            r = await client.get("/api/v1/tokens/self", headers=_bearer(presented))
            assert r.status_code == 200
        first = r.json()["last_used_at"]
        assert first is not None
        async with app.state.sessions() as session:
            row = await session.get(orm.Token, token_id)
            assert row is not None and row.last_used_at is not None
        # Once noted, the cached entry knows it: no second write within the minute.
        r = await client.get("/api/v1/tokens/self", headers=_bearer(presented))
        assert r.json()["last_used_at"] == first


async def _issue_admin(app: FastAPI) -> tuple[int, str]:
    async with app.state.sessions() as session, session.begin():
        token, presented = await store.tokens.issue(
            session, name="admin", role=Role.ADMIN, sites=None, expires_at=None, created_by="t"
        )
    return token.id, presented


async def test_revocation_on_one_replica_reaches_another_at_once(
    pg_url: str, settings_for: SettingsFor, token_for: Callable[..., Any]
) -> None:
    """Two replicas, one PostgreSQL: the revoking one NOTIFYs, the other's cache forgets."""
    await testing.wipe_tables(pg_url, orm.Base.metadata)
    long_ttl = settings_for(pg_url, token_cache_s=30)  # only the NOTIFY can make it forget
    async with replica(long_ttl) as (revoker, a), replica(long_ttl) as (_, b):
        admin = _bearer(await token_for(revoker, Role.ADMIN))
        token_id, presented = await _issue(revoker)
        await asyncio.sleep(0.5)  # both LISTEN connections are up
        assert (await b.get("/api/v1/sites", headers=_bearer(presented))).status_code == 200
        assert (await a.delete(f"/api/v1/tokens/{token_id}", headers=admin)).status_code == 204
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 2.0
        while (await b.get("/api/v1/sites", headers=_bearer(presented))).status_code == 200:
            assert loop.time() < deadline, "the other replica still accepts the revoked token"
            await asyncio.sleep(0.02)
