from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from contractor.inventory import migrate, orm, store
from contractor.inventory.main import create_app
from contractor.inventory.settings import Settings
from contractor.servicekit import testing
from contractor.servicekit.auth import Role
from cryptography.fernet import Fernet
from fastapi import FastAPI
from pydantic import SecretStr
from pytest_asyncio import is_async_test

HERE = Path(__file__).parent
SECRET_KEY = Fernet.generate_key().decode()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Engines and apps are built in fixtures; tests and fixtures share the session loop.
    marker = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if is_async_test(item) and HERE in Path(str(item.path)).parents:
            item.add_marker(marker, append=False)


@pytest.fixture(scope="session")
async def pg_url() -> AsyncIterator[str]:
    admin = testing.admin_url()
    if not await testing.postgres_available(admin):
        message = f"PostgreSQL is not reachable at {admin}"
        if testing.postgres_required():
            pytest.fail(message)
        pytest.skip(message)
    async with testing.throwaway_database(admin, "inventory_test") as url:
        await migrate.upgrade(url)
        yield url


@pytest.fixture(scope="session")
async def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('inventory') / 'inventory.sqlite3'}"
    await migrate.upgrade(url)
    return url


@pytest.fixture(params=["postgresql", "sqlite"])
def database_url(request: pytest.FixtureRequest) -> str:
    name = "pg_url" if request.param == "postgresql" else "sqlite_url"
    url: str = request.getfixturevalue(name)
    return url


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "secret_keys": SecretStr(SECRET_KEY),
        "feed_poll_interval_s": 0.05,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
async def app(database_url: str) -> AsyncIterator[FastAPI]:
    await testing.wipe_tables(database_url, orm.Base.metadata)
    application = create_app(make_settings(database_url))
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://inventory") as c:
        yield c


async def issue_token(app: FastAPI, role: Role, sites: list[str] | None = None) -> str:
    async with app.state.sessions() as session, session.begin():
        _, presented = await store.tokens.issue(
            session,
            name=f"test-{role.value}",
            role=role,
            sites=sites,
            expires_at=None,
            created_by="tests",
        )
    return presented


@pytest.fixture
async def tokens(app: FastAPI) -> dict[str, str]:
    roles = (Role.ADMIN, Role.OPERATOR, Role.VIEWER, Role.SERVICE)
    return {role.value: await issue_token(app, role) for role in roles}


@pytest.fixture
def as_role(tokens: dict[str, str]) -> Callable[[str], dict[str, str]]:
    def headers(role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {tokens[role]}"}

    return headers


@pytest.fixture
async def agent_token(
    app: FastAPI, client: httpx.AsyncClient, as_role: Callable[[str], dict[str, str]]
) -> str:
    r = await client.post(
        "/api/v1/sites",
        json={"name": "agent-site", "description": "agent scope"},
        headers=as_role("admin"),
    )
    assert r.status_code == 201, r.text
    return await issue_token(app, Role.AGENT, ["agent-site"])


@pytest.fixture
async def world(
    client: httpx.AsyncClient, as_role: Callable[[str], dict[str, str]]
) -> dict[str, Any]:
    """A site with a zone, a script, a foundation blueprint and a structure blueprint."""
    admin = as_role("admin")
    for path, body in (
        ("/api/v1/sites", {"name": "dc1", "description": "data centre", "zone": "dc1.example.com"}),
        ("/api/v1/scripts", {"name": "build-it", "description": "builds", "body": "x = 1\n"}),
        (
            "/api/v1/blueprints/foundation",
            {
                "name": "fbp",
                "description": "metal",
                "foundation_types": ["manual", "ipmi", "sim", "aws"],
                "scripts": {"create": "build-it"},
            },
        ),
        (
            "/api/v1/blueprints/structure",
            {"name": "sbp", "description": "web", "foundation_blueprints": ["fbp"]},
        ),
    ):
        r = await client.post(path, json=body, headers=admin)
        assert r.status_code == 201, r.text
    return {"site": "dc1", "zone": "dc1.example.com", "fbp": "fbp", "sbp": "sbp"}


class Seeder:
    """Request builders shared by the API tests (a fixture: test modules import nothing)."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    async def foundation(
        self, headers: dict[str, str], locator: str, **extra: Any
    ) -> dict[str, Any]:
        body = {"locator": locator, "site": "dc1", "blueprint": "fbp", "type": "manual", **extra}
        r = await self.client.post("/api/v1/foundations", json=body, headers=headers)
        assert r.status_code == 201, r.text
        result: dict[str, Any] = r.json()
        return result

    async def structure(
        self, headers: dict[str, str], hostname: str, foundation: str, **extra: Any
    ) -> dict[str, Any]:
        body = {
            "hostname": hostname,
            "site": "dc1",
            "blueprint": "sbp",
            "foundation": foundation,
            **extra,
        }
        r = await self.client.post("/api/v1/structures", json=body, headers=headers)
        assert r.status_code == 201, r.text
        result: dict[str, Any] = r.json()
        return result

    async def events(self, headers: dict[str, str], types: str = "") -> list[dict[str, Any]]:
        r = await self.client.get(
            f"/api/v1/events?after=0&limit=1000&types={types}", headers=headers
        )
        assert r.status_code == 200, r.text
        found: list[dict[str, Any]] = r.json()["events"]
        return found


@pytest.fixture
def seed(client: httpx.AsyncClient) -> Seeder:
    return Seeder(client)


@pytest.fixture
def agent_headers(app: FastAPI) -> Callable[[list[str]], Any]:
    async def make(sites: list[str]) -> dict[str, str]:
        return {"Authorization": f"Bearer {await issue_token(app, Role.AGENT, sites)}"}

    return make


@pytest.fixture
def settings_for() -> Callable[..., Settings]:
    """``make_settings`` for tests that build apps of their own (replicas)."""
    return make_settings


@pytest.fixture
def token_for() -> Callable[[FastAPI, Role], Any]:
    """``issue_token`` for tests that build apps of their own."""
    return issue_token
