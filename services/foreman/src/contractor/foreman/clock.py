"""Time and ids for the foreman: injected, so tests could run on a clock of their own (§8)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol

from contractor.servicekit import ids


class Clock(Protocol):
    """What foreman code asks for the time."""

    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    """The wall clock."""

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)


class JobContext:
    """The interpreter context of one job step: the service clock and fresh task ids.

    The id a request gets here *is* the task id (foreman spec §4.1): the step inserts the task
    row under the request id the interpreter emitted.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def now(self) -> datetime:
        """The service clock's time."""
        return self._clock.now()

    def new_id(self) -> str:
        """A UUID v4, the id of the task about to be created."""
        return ids.uuid4()


def rfc3339(when: datetime | None) -> str | None:
    """RFC 3339 UTC with milliseconds and ``Z`` (foreman spec §0)."""
    if when is None:
        return None
    return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
