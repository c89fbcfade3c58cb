"""Cross-replica wake-ups (spec §3.3): ``LISTEN`` on foreman's channels (PostgreSQL only).

Writers ``NOTIFY`` in the transaction that makes a job runnable or a task available
(:meth:`Runtime.announce`); this loop turns notifications from any replica into in-process
signals. Lost notifications are covered by the loops' short re-check intervals.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

from contractor.foreman.runtime import Runtime, Signal
from sqlalchemy.ext.asyncio import AsyncEngine

logger = logging.getLogger(__name__)


def _callback(signal: Signal, replica: str) -> Callable[..., None]:
    def on_notify(_connection: Any, _pid: int, _channel: str, payload: str) -> None:
        if payload != replica:  # this replica's own commits woke it in-process already
            signal.notify()

    return on_notify


async def run(engine: AsyncEngine, rt: Runtime, stop: asyncio.Event) -> None:
    """Listen until ``stop`` is set; reconnect after a lost connection."""
    if engine.dialect.name != "postgresql":
        return  # SQLite: exactly one foreman process, in-process signals suffice
    while not stop.is_set():
        try:
            async with engine.connect() as connection:
                raw = await connection.get_raw_connection()
                driver: Any = raw.driver_connection
                callbacks = [(s.channel, _callback(s, rt.replica)) for s in rt.signals]
                for channel, callback in callbacks:
                    await driver.add_listener(channel, callback)
                try:
                    await stop.wait()
                finally:
                    for channel, callback in callbacks:
                        await driver.remove_listener(channel, callback)
        except Exception:
            logger.exception("LISTEN connection failed; reconnecting")
            try:
                await asyncio.wait_for(stop.wait(), rt.settings.sweep_s)
            except TimeoutError:
                continue
