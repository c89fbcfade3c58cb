"""Cross-replica wake-ups (spec §3.3): ``LISTEN`` on foreman's channels (PostgreSQL only).

Writers ``NOTIFY`` in the transaction that makes a job runnable or a task available
(:meth:`Runtime.announce`); this loop turns notifications from other replicas into in-process
signals (a replica's own commits woke it in-process already: their payload names it). The
connection is checked every few seconds and opened again when lost; every signal fires then,
for what was committed while no one listened, and the loops' re-check intervals cover the rest.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

from contractor.foreman.runtime import Runtime, Signal
from contractor.servicekit.outbox import FeedSignal, listen
from sqlalchemy.ext.asyncio import AsyncEngine

CHECK_S = 5.0


def _handler(signal: Signal, replica: str) -> Callable[[str], None]:
    def on_notify(payload: str) -> None:
        if payload != replica:
            signal.notify()

    return on_notify


async def run(
    engine: AsyncEngine,
    rt: Runtime,
    stop: asyncio.Event,
    *,
    feed: tuple[str, FeedSignal] | None = None,
) -> None:
    """Listen until ``stop`` is set (returns at once on SQLite: one process, in-process signals).

    ``feed``: the events feed's channel and signal, heard on the same connection, so that a
    replica holds one listening connection in all.
    """
    handlers = {s.channel: _handler(s, rt.replica) for s in rt.signals}
    if feed is not None:
        channel, feed_signal = feed
        handlers[channel] = lambda _payload: feed_signal.notify()

    def everyone() -> None:
        for signal in rt.signals:
            signal.notify()
        if feed is not None:
            feed[1].notify()

    listening = asyncio.create_task(listen(engine, handlers, everyone, check_s=CHECK_S))
    try:
        await stop.wait()
    finally:
        listening.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listening
