"""Time and ids come from an injected context, so tests can run on a virtual clock."""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Protocol

VIRTUAL_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class Context(Protocol):
    """What the interpreter asks of its host: the time and fresh ids."""

    def now(self) -> datetime:
        """The current time (timezone-aware, UTC)."""
        ...

    def new_id(self) -> str:
        """A fresh unique id for an external request."""
        ...


_VARIANT = {c: "89ab"[int(c, 16) & 3] for c in "0123456789abcdef"}


class RealContext:
    """Wall-clock time and random UUIDs."""

    def now(self) -> datetime:
        """The current UTC time."""
        return datetime.now(UTC)

    def micros(self) -> int:
        """The current time in microseconds since the epoch (cheaper than :meth:`now`)."""
        return time.time_ns() // 1000

    def new_id(self) -> str:
        """A random UUID (version 4), built without the cost of :class:`uuid.UUID`."""
        h = os.urandom(16).hex()
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


class VirtualContext:
    """A clock that only moves when told to, and counting ids.

    Starts at 2000-01-01T00:00:00Z unless given another time.
    """

    def __init__(self, start: datetime = VIRTUAL_EPOCH, id_prefix: str = "req-") -> None:
        self._now = start
        self._prefix = id_prefix
        self._count = 0

    def now(self) -> datetime:
        """The virtual time."""
        return self._now

    def new_id(self) -> str:
        """``<prefix><n>`` with n counting from 1."""
        self._count += 1
        return f"{self._prefix}{self._count}"

    def advance_to(self, when: datetime) -> None:
        """Move the clock forward to ``when`` (never backwards)."""
        self._now = max(self._now, when)

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        self._now += timedelta(seconds=seconds)


class FixedContext(VirtualContext):
    """A virtual clock with a fixed list of ids, for tests that name their request ids."""

    def __init__(self, now: datetime = VIRTUAL_EPOCH, ids: Iterable[str] = ()) -> None:
        super().__init__(now)
        self._ids: Iterator[str] = iter(ids)

    def new_id(self) -> str:
        """The next id from the list, then counting ids."""
        return next(self._ids, None) or super().new_id()


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)


def to_micros(when: datetime) -> int:
    """A datetime as whole microseconds since the Unix epoch (exact, unlike floats)."""
    return (when - _EPOCH) // _MICRO


def from_micros(micros: int) -> datetime:
    """The inverse of :func:`to_micros`."""
    return _EPOCH + timedelta(microseconds=micros)


# Saved states repeat the same few times (job start, block starts) in every save and load, so
# both directions keep a small cache.
_FORMATTED: dict[int, str] = {}
_DATES: dict[int, str] = {}
_PARSED: dict[str, int] = {}
_CACHE_LIMIT = 4096


def format_time(micros: int) -> str:
    """RFC 3339 UTC with microseconds, e.g. ``2025-01-02T03:04:05.000000Z``."""
    text = _FORMATTED.get(micros)
    if text is not None:
        return text
    day, rest = divmod(micros, 86_400_000_000)
    date = _DATES.get(day)
    if date is None:
        date = from_micros(day * 86_400_000_000).strftime("%Y-%m-%d")
        _DATES[day] = date
    seconds, micro = divmod(rest, 1_000_000)
    minutes, second = divmod(seconds, 60)
    hour, minute = divmod(minutes, 60)
    text = f"{date}T{hour:02d}:{minute:02d}:{second:02d}.{micro:06d}Z"
    if len(_FORMATTED) >= _CACHE_LIMIT:
        _FORMATTED.clear()
        _DATES.clear()
        _PARSED.clear()
    _FORMATTED[micros] = text
    _PARSED[text] = micros  # a host that saves a state usually loads it again soon
    return text


def parse_time(text: str) -> int:
    """The inverse of :func:`format_time` (accepts any RFC 3339 time)."""
    micros = _PARSED.get(text)
    if micros is None:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if when.tzinfo is None:
            raise ValueError(f"time without a timezone: {text!r}")
        micros = to_micros(when)
        if len(_PARSED) >= _CACHE_LIMIT:
            _PARSED.clear()
        _PARSED[text] = micros
    return micros
