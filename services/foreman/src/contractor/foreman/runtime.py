"""What every part of one replica shares: settings, clock and in-process wake-ups (§3.3)."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from contractor.foreman.clock import Clock
from contractor.foreman.encryption import SecretBox
from contractor.foreman.metrics import Metrics
from contractor.foreman.settings import Settings
from contractor.foreman.store import agents
from contractor.servicekit.outbox import call_after_commit, notify_on_commit
from sqlalchemy.ext.asyncio import AsyncSession

SERVES_TTL_S = 1.0
ANNOUNCED_INFO_KEY = "foreman.announced"


class Signal:
    """Wakes every current waiter; waiters also re-check on a timeout (other replicas).

    ``channel`` names the PostgreSQL ``NOTIFY`` channel that carries it to other replicas.
    """

    def __init__(self, channel: str) -> None:
        self.channel = channel
        self._event = asyncio.Event()

    def notify(self) -> None:
        """Wake all current waiters."""
        self._event.set()
        self._event = asyncio.Event()

    async def wait(self, timeout: float) -> None:
        """Sleep until the next :meth:`notify` or ``timeout`` seconds."""
        event = self._event
        try:
            await asyncio.wait_for(event.wait(), max(0.0, timeout))
        except TimeoutError:
            return

    def notify_all(self) -> None:
        """Wake every waiter (shutdown)."""
        self.notify()


class WakeOne(Signal):
    """Wakes one waiter per :meth:`notify`; a notify with nobody waiting is kept for the next.

    The steppers of a replica wait on this one: waking all of them for every runnable job
    would have each claim a sliver of the due jobs (or none) and pay a transaction for it.
    One stepper takes the whole batch; a stepper that claims a full batch wakes another.

    A claim sees every job made runnable before it began, so a wake-up older than the latest
    claim is spent: a stepper woken by it (or finding it kept) waits on instead of claiming
    nothing. Steppers call :meth:`claiming` as a claim begins.
    """

    def __init__(self, channel: str) -> None:
        super().__init__(channel)
        self._waiters: collections.deque[asyncio.Future[int]] = collections.deque()
        self._kept: int | None = None  # the kept wake-up's number
        self._count = 0  # wake-ups so far
        self._claimed = 0  # wake-ups that some claim began after

    def claiming(self) -> None:
        """A claim begins: every wake-up so far is answered by it."""
        self._claimed = self._count

    def notify(self) -> None:
        """Wake the longest waiting waiter, or keep the wake-up for the next :meth:`wait`."""
        self._count += 1
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(self._count)
                return
        self._kept = self._count

    def notify_all(self) -> None:
        """Wake every waiter (shutdown)."""
        self._count += 1
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(self._count)
        self._kept = self._count
        self._claimed = 0  # shutdown: nothing is spent

    async def wait(self, timeout: float) -> None:
        """Sleep until woken by a wake-up no claim has answered yet, or ``timeout`` seconds."""
        kept, self._kept = self._kept, None
        if kept is not None and kept > self._claimed:
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + max(0.0, timeout)
        while True:
            waiter: asyncio.Future[int] = loop.create_future()
            self._waiters.append(waiter)
            try:
                number = await asyncio.wait_for(waiter, max(0.0, deadline - loop.time()))
            except TimeoutError:
                return
            finally:
                with contextlib.suppress(ValueError):
                    self._waiters.remove(waiter)
            if number > self._claimed:
                return


@dataclass
class Runtime:
    """Settings, clock and signals of this replica."""

    settings: Settings
    clock: Clock
    jobs: Signal = field(default_factory=lambda: WakeOne("foreman_jobs"))
    tasks: Signal = field(default_factory=lambda: Signal("foreman_tasks"))
    server_tasks: Signal = field(default_factory=lambda: Signal("foreman_server_tasks"))
    prerequisites: Signal = field(default_factory=lambda: Signal("foreman_prerequisites"))
    polls: dict[str, int] = field(default_factory=dict)
    metrics: Metrics = field(default_factory=Metrics)
    box: SecretBox | None = None
    _serving: dict[tuple[str, str], tuple[float, bool]] = field(default_factory=dict)
    replica: str = field(default_factory=lambda: uuid.uuid4().hex)
    """This process's id in ``NOTIFY`` payloads."""
    transitions: int = 0
    """Job transitions counted in this process (read by the vacuum loop)."""

    async def serves(self, session: AsyncSession, site: str, module: str) -> bool:
        """Whether some agent serves ``module`` for ``site``, re-read at most once a second.

        Only the message of a waiting job depends on it, so a second-old answer is good enough
        and a step needs no agents query.
        """
        key = (site, module)
        now = time.monotonic()
        cached = self._serving.get(key)
        if cached is not None and now - cached[0] < SERVES_TTL_S:
            return cached[1]
        found = await agents.serves(session, site, module)
        self._serving[key] = (now, found)
        return found

    def seal(self, value: Any) -> Any:
        """Seal the secret values of a snapshot before it is stored."""
        return self.box.seal_tree(value) if self.box is not None else value

    def open(self, value: Any) -> Any:
        """Open sealed values (only for what goes to the agent running a task)."""
        return self.box.open_tree(value) if self.box is not None else value

    def observe_inventory(self, op: str, outcome: str, seconds: float) -> None:
        """Time one call to inventory (``ok``, ``refused``: a 4xx, ``unavailable``)."""
        self.metrics.inventory_seconds.labels(op, outcome).observe(seconds)

    def observe_phase(self, phase: str, seconds: float) -> None:
        """Feed one completed boot phase (spec §12.3) to its histogram."""
        self.metrics.boot_phase_seconds.labels(phase).observe(seconds)

    def count(self, before: str, after: str) -> None:
        """Count one job transition."""
        self.transitions += 1
        self.metrics.transitions.labels(before, after).inc()

    @property
    def signals(self) -> tuple[Signal, ...]:
        """Every wake-up signal."""
        return (self.jobs, self.tasks, self.server_tasks, self.prerequisites)

    async def announce(self, session: AsyncSession, *signals: Signal) -> None:
        """Notify ``signals`` on commit, here and (PostgreSQL ``NOTIFY``) in other replicas.

        Each signal is announced once per transaction: later calls in the same transaction add
        nothing (PostgreSQL folds repeated notifications anyway).
        """
        transaction = session.sync_session.get_transaction()
        done: dict[str, Any] = session.info.setdefault(ANNOUNCED_INFO_KEY, {})
        fresh = [s for s in signals if done.get(s.channel) is not transaction]
        if not fresh:
            return
        for signal in fresh:
            done[signal.channel] = transaction
        for signal in fresh:
            call_after_commit(session, signal.notify)  # this process, once committed
        # Sent with the commit (one statement, shared with the outbox's); the payload names this
        # replica, whose listener ignores its own echo: the after-commit hook woke it already.
        notify_on_commit(session, [signal.channel for signal in fresh], self.replica)
