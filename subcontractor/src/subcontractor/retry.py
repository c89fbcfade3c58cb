"""The one place that decides what a failure means, and the pacing of every wait.

Every loop that calls foreman (register, poll, heartbeat, outcomes, release) and the task
runner (plugin failures) asks ``classify`` or ``is_retryable``; nothing else inspects
exceptions to decide whether to try again (foreman.md §8.3).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

import httpx
import pydantic

from subcontractor.errors import ForemanRefused, PluginError, UnknownFunction

Action = Literal["retry", "reregister", "drop", "reauth", "fail"]

# Problems that mean "this outcome will never be accepted": forget it (foreman.md §8.3).
_DROP_SLUGS = frozenset({"stale-attempt", "unknown-task", "task-canceled"})


@dataclass(frozen=True)
class Verdict:
    """What to do about one failure.

    Attributes:
        action: ``retry`` (back off, try again), ``reregister`` (register again first),
            ``drop`` (forget the request), ``reauth`` (wait long, register again) or
            ``fail`` (give up on this one).
        code: The protocol error code to report when the failure ends a task.
        message: A message for logs and task errors.
    """

    action: Action
    code: str
    message: str

    @property
    def retryable(self) -> bool:
        """Whether trying the same thing again may succeed."""
        return self.action == "retry"


def classify(exc: BaseException) -> Verdict:
    """Classify a failure from foreman or a plugin (foreman.md §8.3); each branch says why."""
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, ForemanRefused):
        return _classify_foreman(exc)
    if isinstance(exc, PluginError):
        # The plugin knows its device best; take its word.
        code = exc.code or ("unreachable" if exc.retryable else "internal")
        return Verdict("retry" if exc.retryable else "fail", code, exc.message)
    if isinstance(exc, pydantic.ValidationError):
        return Verdict("fail", "invalid_parameters", text)  # the same input fails the same way
    if isinstance(exc, UnknownFunction):
        return Verdict("fail", "unknown_function", str(exc))  # another agent may serve it
    if isinstance(exc, TimeoutError | httpx.TimeoutException):
        return Verdict("retry", "timeout", text)  # slow peers recover; the lease bounds us
    if isinstance(exc, httpx.HTTPStatusError):
        return _classify_peer_status(exc.response.status_code, text)
    if isinstance(exc, httpx.TransportError | OSError):
        return Verdict("retry", "unreachable", text)  # refused, reset, no route, DNS, proxy down
    return Verdict("fail", "internal", text)  # a bug or an unknown state: retrying hides it


def _classify_foreman(exc: ForemanRefused) -> Verdict:
    if exc.status == 429 or exc.status >= 500:
        return Verdict("retry", "unreachable", str(exc))  # overloaded or redeploying
    if exc.status == 409 and exc.slug == "reregister":
        return Verdict("reregister", "conflict", str(exc))  # our incarnation is gone
    if exc.status == 409 and exc.slug in _DROP_SLUGS:
        return Verdict("drop", "conflict", str(exc))  # settled elsewhere; never accepted
    if exc.status in (401, 403):
        return Verdict("reauth", "auth", str(exc))  # the token may be fixed meanwhile
    return Verdict("fail", "internal", str(exc))  # our request is wrong: drop and log


def _classify_peer_status(status: int, text: str) -> Verdict:
    if status in (401, 403):
        return Verdict("fail", "auth", text)  # wrong credentials stay wrong
    if status == 404:
        return Verdict("fail", "not_found", text)
    if status == 429 or status >= 500:
        return Verdict("retry", "unreachable", text)  # the device or cloud is busy
    return Verdict("fail", "internal", text)


def is_retryable(exc: BaseException) -> bool:
    """Whether the failed call is worth repeating after a backoff."""
    return classify(exc).retryable


@dataclass
class Pacing:
    """Every delay the agent takes, injected so tests can run with zero waits.

    Attributes:
        backoff_base_s: Backoff after the n-th failure is uniform in
            ``[0, min(backoff_cap_s, backoff_base_s × 2^n)]`` (foreman.md §8.3).
        backoff_cap_s: Upper bound of any backoff.
        reauth_wait_s: Wait after 401/403 before registering again.
        heartbeat_s: Heartbeat interval; ``None`` takes foreman's from ``register``.
        batch_window_s: Outcomes ready within this window go in one ``/results`` call.
        drain_s: At shutdown, the least time given to posting outcomes before they are
            left in the spool for the next start.
        rng: Source of jitter.
    """

    backoff_base_s: float = 0.5
    backoff_cap_s: float = 30.0
    reauth_wait_s: float = 60.0
    heartbeat_s: float | None = None
    batch_window_s: float = 0.005
    drain_s: float = 5.0
    rng: random.Random = field(default_factory=random.Random)

    def backoff(self, failures: int) -> float:
        """The jittered delay after ``failures`` consecutive failures."""
        ceiling = min(self.backoff_cap_s, self.backoff_base_s * 2.0 ** min(failures, 30))
        return self.rng.uniform(0.0, ceiling)

    def after(self, failures: int, exc: BaseException) -> float:
        """The wait after a failure: the backoff, or longer if foreman sent ``Retry-After``."""
        asked = exc.retry_after_s if isinstance(exc, ForemanRefused) else None
        return max(self.backoff(failures), min(asked or 0.0, self.backoff_cap_s))

    @classmethod
    def zero(cls) -> Pacing:
        """Pacing for tests: no backoff, no waits, a fast heartbeat, a short shutdown drain."""
        return cls(
            backoff_base_s=0.0,
            backoff_cap_s=0.0,
            reauth_wait_s=0.0,
            heartbeat_s=0.05,
            drain_s=0.5,
        )
