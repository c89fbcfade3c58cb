"""The tasks an agent holds, from delivery until foreman acknowledges their outcome."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Literal

import anyio

from subcontractor.agent.threads import WorkerThreads
from subcontractor.plugin import TaskContext
from subcontractor.wire import RunningTask, TaskOffer

Phase = Literal["received", "started", "finished"]
CancelReason = Literal["", "foreman", "stale", "shutdown"]


@dataclass
class HeldTask:
    """One task this agent holds.

    ``received``: delivered, not yet invoked (maybe waiting for its start acknowledgement);
    ``started``: the plugin is running it; ``finished``: its outcome awaits acknowledgement.
    """

    offer: TaskOffer
    phase: Phase = "received"
    cancel_reason: CancelReason = ""
    scope: anyio.CancelScope = field(default_factory=anyio.CancelScope)
    ctx: TaskContext | None = None
    last_renewed: float = field(default_factory=time.monotonic)

    @property
    def id(self) -> str:
        """The task id."""
        return self.offer.id


class TaskBook:
    """Held tasks, free slots per module, and a signal whenever either changes."""

    def __init__(self, concurrency: dict[str, int]) -> None:
        self.concurrency = concurrency
        self.held: dict[str, HeldTask] = {}
        # Unfinished tasks per module, kept as tasks move on: capacity() is asked after every
        # change, and walking every held task (outcomes awaiting acknowledgement included)
        # made each change cost more the further foreman's acknowledgements lagged.
        self._busy: Counter[str] = Counter()
        self._changed: anyio.Event | None = None  # made when someone waits, set on a change
        self.threads = WorkerThreads(self._notify)

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None

    async def wait_changed(self) -> None:
        """Wait until a task is added, finishes or is forgotten."""
        if self._changed is None:
            self._changed = anyio.Event()
        await self._changed.wait()

    def capacity(self) -> dict[str, int]:
        """Free slots per module: concurrency minus unfinished tasks and abandoned threads."""
        return {
            name: max(0, limit - self._busy[name] - self.threads.abandoned(name))
            for name, limit in self.concurrency.items()
        }

    def running(self) -> list[RunningTask]:
        """Every held task, as the poll lists them."""
        return [RunningTask(id=h.id, attempt=h.offer.attempt) for h in self.held.values()]

    def add(self, offer: TaskOffer) -> HeldTask | None:
        """Hold a delivered task; ``None`` if it is already held (a redelivery)."""
        if offer.id in self.held:
            return None
        held = self.held[offer.id] = HeldTask(offer)
        self._busy[offer.module] += 1
        self._notify()
        return held

    def set_phase(self, held: HeldTask, phase: Phase) -> None:
        """Move a task on; finishing frees its slot."""
        if phase == "finished" and held.phase != "finished" and self.held.get(held.id) is held:
            self._busy[held.offer.module] -= 1
        held.phase = phase
        self._notify()

    def forget(self, task_id: str) -> None:
        """Drop a task (outcome acknowledged, dropped, or task released)."""
        held = self.held.pop(task_id, None)
        if held is not None:
            if held.phase != "finished":
                self._busy[held.offer.module] -= 1
            self._notify()

    def renewed(self, task_ids: list[str], at: float) -> None:
        """Note that foreman renewed these leases (a poll listed them)."""
        for task_id in task_ids:
            held = self.held.get(task_id)
            if held is not None:
                held.last_renewed = at

    def cancel(self, task_id: str, reason: CancelReason) -> None:
        """Stop a task that has not finished, remembering why."""
        held = self.held.get(task_id)
        if held is None or held.phase == "finished" or held.cancel_reason:
            return
        held.cancel_reason = reason
        held.scope.cancel()
        if held.ctx is not None:
            held.ctx.cancel()

    def executing(self) -> list[HeldTask]:
        """Tasks not yet finished."""
        return [held for held in self.held.values() if held.phase != "finished"]
