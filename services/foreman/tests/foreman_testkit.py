"""Helpers shared by foreman's tests."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from contractor.foreman.settings import Settings
from cryptography.fernet import Fernet
from pydantic import SecretStr


class ShiftedClock:
    """The wall clock plus an offset tests move forward (lease expiry without waiting)."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def eventually(
    probe: Callable[[], Awaitable[Any]], *, timeout: float = 10.0, interval: float = 0.02
) -> Any:
    """Re-run ``probe`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        value = await probe()
        if value:
            return value
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"condition not met within {timeout} s (last: {value!r})")
        await asyncio.sleep(interval)


async def job_in(client: httpx.AsyncClient, job_id: int, *states: str) -> dict[str, Any]:
    """Wait until the job is in one of ``states``; return its JSON."""

    async def probe() -> dict[str, Any] | None:
        job: dict[str, Any] = (await client.get(f"/api/v1/jobs/{job_id}")).json()
        return job if job["state"] in states else None

    found: dict[str, Any] = await eventually(probe)
    return found


SECRET_KEY = Fernet.generate_key().decode()


def make_settings(database_url: str, inventory_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "inventory_url": inventory_url,
        "service_token": SecretStr("service-token"),
        "secret_keys": SecretStr(SECRET_KEY),
        "feed_poll_interval_s": 0.05,
        "poll_recheck_s": 0.05,
        "sweep_s": 0.2,
        "reaper_grace_s": 3600,  # tests call the reaper themselves
        # ... and the agent status sweep: the loop's own sweep could run first, between a
        # test's clock shift and its call, and leave the call nothing to change.
        "agent_status_interval_s": 3600,
    }
    values.update(overrides)
    return Settings(**values)
