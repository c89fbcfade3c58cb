"""What every part of one replica shares: settings, clock and in-process wake-ups (§3.3)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from contractor.foreman.clock import Clock
from contractor.foreman.encryption import SecretBox
from contractor.foreman.metrics import Metrics
from contractor.foreman.settings import Settings
from sqlalchemy import event as sa_event
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession


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
        """Notify ``signals`` on commit, here and (PostgreSQL ``NOTIFY``) in other replicas."""
        self.after_commit(session, *signals)
        if session.get_bind().dialect.name == "postgresql":
            for signal in signals:
                await session.execute(text("SELECT pg_notify(:c, '')"), {"c": signal.channel})


def _notify(signals: tuple[Signal, ...]) -> Callable[[Any], None]:
    def _after_commit(_session: Any) -> None:
        for signal in signals:
            signal.notify()

    return _after_commit
