"""What every part of one replica shares: settings, clock and in-process wake-ups (§3.3)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from contractor.foreman.clock import Clock
from contractor.foreman.encryption import SecretBox
from contractor.foreman.metrics import Metrics
from contractor.foreman.settings import Settings
from contractor.foreman.store import agents
from sqlalchemy import event as sa_event
from sqlalchemy import text
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


@dataclass
class Runtime:
    """Settings, clock and signals of this replica."""

    settings: Settings
    clock: Clock
    jobs: Signal = field(default_factory=lambda: Signal("foreman_jobs"))
    tasks: Signal = field(default_factory=lambda: Signal("foreman_tasks"))
    server_tasks: Signal = field(default_factory=lambda: Signal("foreman_server_tasks"))
    prerequisites: Signal = field(default_factory=lambda: Signal("foreman_prerequisites"))
    polls: dict[str, int] = field(default_factory=dict)
    metrics: Metrics = field(default_factory=Metrics)
    box: SecretBox | None = None
    _serving: dict[tuple[str, str], tuple[float, bool]] = field(default_factory=dict)

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

    def count(self, before: str, after: str) -> None:
        """Count one job transition."""
        self.metrics.transitions.labels(before, after).inc()

    @property
    def signals(self) -> tuple[Signal, ...]:
        """Every wake-up signal."""
        return (self.jobs, self.tasks, self.server_tasks, self.prerequisites)

    def after_commit(self, session: AsyncSession, *signals: Signal) -> None:
        """Notify ``signals`` in this process once the session's transaction commits."""
        sa_event.listen(session.sync_session, "after_commit", _notify(signals), once=True)

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
        self.after_commit(session, *fresh)
        if session.get_bind().dialect.name == "postgresql":
            channels = [signal.channel for signal in fresh]
            await session.execute(
                text("SELECT pg_notify(c, '') FROM unnest(CAST(:cs AS text[])) AS c"),
                {"cs": channels},
            )


def _notify(signals: tuple[Signal, ...]) -> Callable[[Any], None]:
    def _after_commit(_session: Any) -> None:
        for signal in signals:
            signal.notify()

    return _after_commit
