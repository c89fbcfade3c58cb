from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from contractor.foreman import migrate, orm
from contractor.foreman.main import create_app
from contractor.servicekit import testing
from fastapi import FastAPI
from foreman_fake_inventory import FakeInventory, Served
from foreman_testkit import ShiftedClock, auth, make_settings
from pytest_asyncio import is_async_test

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # Engines, servers and apps are built in fixtures; tests and fixtures share the session loop.
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
    async with testing.throwaway_database(admin, "foreman_test") as url:
        await migrate.upgrade(url)
        yield url


@pytest.fixture(scope="session")
async def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('foreman') / 'foreman.sqlite3'}"
    await migrate.upgrade(url)
    return url


@pytest.fixture(params=["postgresql", "sqlite"])
def database_url(request: pytest.FixtureRequest) -> str:
    name = "pg_url" if request.param == "postgresql" else "sqlite_url"
    url: str = request.getfixturevalue(name)
    return url


@pytest.fixture(scope="session")
async def served_inventory() -> AsyncIterator[Served]:
    served = Served()
    await served.start()
    yield served
    await served.stop()


@pytest.fixture
def inventory(served_inventory: Served) -> FakeInventory:
    served_inventory.fake.reset()
    return served_inventory.fake


@pytest.fixture
def clock() -> ShiftedClock:
    return ShiftedClock()


@pytest.fixture
async def app(
    database_url: str, inventory: FakeInventory, clock: ShiftedClock
) -> AsyncIterator[FastAPI]:
    await testing.wipe_tables(database_url, orm.Base.metadata)
    application = create_app(make_settings(database_url, inventory.url), clock=clock)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(
        transport=transport, base_url="http://foreman", headers=auth("operator-token")
    ) as c:
        yield c
