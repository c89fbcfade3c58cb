"""Job states and the transition rules of foreman spec §2.2–§2.3, as data.

One function (:func:`target_state`) checks a proposed move; :func:`contractor.foreman.store.
jobs.transition` applies it with its log row and event. Nothing else assigns ``job.state``.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

from contractor.foreman.errors import ActionNotAllowed


class JobState(StrEnum):
    """The ten job states."""

    QUEUED = "queued"
    RUNNING = "running"
    WAITING_TASK = "waiting_task"
    WAITING_DELAY = "waiting_delay"
    WAITING_SIGNAL = "waiting_signal"
    PAUSED = "paused"
    ERROR = "error"
    DONE = "done"
    ABORTED = "aborted"
    CANCELED = "canceled"


TERMINAL: Final = frozenset({JobState.DONE, JobState.ABORTED, JobState.CANCELED})
WAITING: Final = frozenset({JobState.WAITING_TASK, JobState.WAITING_DELAY, JobState.WAITING_SIGNAL})
ACTIVE: Final = frozenset(JobState) - TERMINAL
RESUMABLE_TO: Final = frozenset({JobState.RUNNING, JobState.QUEUED})

#: action -> (states it is allowed from, the state it leads to; None: decided by the action).
TRANSITIONS: Final[dict[str, tuple[frozenset[JobState], JobState | None]]] = {
    "start": (frozenset({JobState.QUEUED}), JobState.RUNNING),
    "step": (frozenset({JobState.RUNNING}), None),
    "wake": (WAITING, JobState.RUNNING),
    "pause": (frozenset({JobState.QUEUED, JobState.RUNNING}) | WAITING, JobState.PAUSED),
    "resume": (frozenset({JobState.PAUSED}), None),
    "reset": (frozenset({JobState.ERROR}), JobState.RUNNING),
    "rollback": (frozenset({JobState.ERROR}), JobState.RUNNING),
    "cancel": (ACTIVE, JobState.CANCELED),
    "clear": (TERMINAL, None),
    "expire": (TERMINAL, None),
}

#: What a step may lead to (§2.5).
STEP_OUTCOMES: Final = frozenset(JobState) - {JobState.QUEUED, JobState.CANCELED}

#: Actions a user may ask for, in the order the job JSON lists them.
USER_ACTIONS: Final = ("pause", "resume", "reset", "rollback", "cancel", "clear")


def _order(states: frozenset[JobState]) -> list[str]:
    return [state.value for state in JobState if state in states]


def allowed_from(action: str) -> list[str]:
    """The states ``action`` is allowed from, in the table's order."""
    return _order(TRANSITIONS[action][0])


def check(action: str, current: JobState, *, job_id: int) -> JobState | None:
    """Check that ``action`` may run now and give its fixed target state (None: it varies).

    Raises:
        ActionNotAllowed: The job's state does not allow the action (409).
    """
    states, to = TRANSITIONS[action]
    if current not in states:
        raise ActionNotAllowed(
            action=action, job_id=job_id, state=current.value, allowed_from=allowed_from(action)
        )
    return to


def target_state(action: str, current: JobState, *, job_id: int, to: JobState | None) -> JobState:
    """The state ``action`` leads to from ``current``; ``to`` chooses where the rule varies."""
    fixed = check(action, current, job_id=job_id)
    if fixed is not None:
        return fixed
    if action == "step" and to is not None and to in STEP_OUTCOMES:
        return to
    if action == "resume" and to is not None and (to in WAITING or to in RESUMABLE_TO):
        return to
    raise ValueError(f"{action} cannot lead to {to}")


def actions_now(state: JobState) -> list[str]:
    """The user actions allowed in ``state`` (the job JSON's ``actions``)."""
    return [a for a in USER_ACTIONS if state in TRANSITIONS[a][0]]
