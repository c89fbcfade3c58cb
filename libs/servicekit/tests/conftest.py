from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from contractor.servicekit import testing
from pytest_asyncio import is_async_test

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    marker = pytest.mark.asyncio(loop_scope="session")
    for item in items:
        if is_async_test(item) and HERE in Path(str(item.path)).parents:
            item.add_marker(marker, append=False)


@pytest.fixture(scope="session")
async def kit_pg_url() -> AsyncIterator[str]:
    admin = testing.admin_url()
    if not await testing.postgres_available(admin):
        message = f"PostgreSQL is not reachable at {admin}"
        if testing.postgres_required():
            pytest.fail(message)
        pytest.skip(message)
    async with testing.throwaway_database(admin, "servicekit_test") as url:
        yield url


@pytest.fixture(params=["postgresql", "sqlite"])
def kit_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A database URL: the throwaway PostgreSQL database, then a fresh SQLite file."""
    if request.param == "postgresql":
        url: str = request.getfixturevalue("kit_pg_url")
        return url
    return f"sqlite+aiosqlite:///{tmp_path / 'kit.sqlite3'}"
