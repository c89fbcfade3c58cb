"""Blocking plugin functions in worker threads (foreman.md §8.4 step 3).

A cancelled or timed-out call cannot stop its thread: the thread is abandoned, but it keeps
its plugin slot until it returns, so the agent never asks for more work than its plugins can
take. When an abandoned thread ends, the agent is woken to poll for the freed slot.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel

from subcontractor.plugin import TaskContext
from subcontractor.wire import JsonObject


@dataclass
class _Call:
    done: bool = False
    abandoned: bool = False


class WorkerThreads:
    """Runs blocking handlers and counts abandoned threads per module."""

    def __init__(self, on_slot_freed: Callable[[], None]) -> None:
        self._lock = threading.Lock()
        self._abandoned: Counter[str] = Counter()
        self._on_slot_freed = on_slot_freed

    def abandoned(self, module: str) -> int:
        """Threads of ``module`` still running after their task was given up."""
        with self._lock:
            return self._abandoned[module]

    async def run(
        self,
        module: str,
        handler: Callable[[Any, TaskContext], JsonObject],
        params: Any,
        ctx: TaskContext,
        limiter: anyio.CapacityLimiter,
    ) -> JsonObject:
        """Run ``handler`` in a worker thread; on cancellation, abandon it but keep its slot."""
        call = _Call()
        token = anyio.lowlevel.current_token()

        def body() -> JsonObject:
            try:
                return handler(params, ctx)
            finally:
                self._finish(module, call, token)

        try:
            return await anyio.to_thread.run_sync(body, limiter=limiter, abandon_on_cancel=True)
        except BaseException:
            with self._lock:
                if not call.done:
                    call.abandoned = True
                    self._abandoned[module] += 1
            raise

    def _finish(self, module: str, call: _Call, token: anyio.lowlevel.EventLoopToken) -> None:
        with self._lock:
            call.done = True
            if not call.abandoned:
                return
            self._abandoned[module] -= 1
        with contextlib.suppress(RuntimeError):  # the agent has stopped: nobody needs waking
            anyio.from_thread.run_sync(self._on_slot_freed, token=token)
