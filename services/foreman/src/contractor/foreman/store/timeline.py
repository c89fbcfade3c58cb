"""Job timeline marks, boot cycles and scopes (spec §12.3).

Marks of a job's own events (``job.*``, boot path, signals, scopes) are rows of ``timeline``.
The task marks (``task.created``, ``task.delivered``, ``task.settled``, and ``power.on`` /
``power.off`` for power tasks) are read off the task rows when the timeline is asked for: a
task already records when it was made, leased (each attempt, in its ``history``) and settled,
so a round trip writes no mark rows of its own.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final

from contractor.foreman import orm
from contractor.foreman.store.tasks import OPEN
from contractor.servicekit.outbox import call_after_commit, insert_on_commit
from sqlalchemy import Table, select
from sqlalchemy.ext.asyncio import AsyncSession

MARKS_TABLE: Table = orm.TimelineMark.__table__  # type: ignore[assignment]
MARKED_PURPOSES: Final = ("call", "cleanup")
"""Tasks that have marks: script calls and rollback tasks, not foreman's own server tasks."""
#: Order of marks made at the same instant (one step starts a job and makes its first task).
_RANK: Final = {
    "job.created": 0,
    "job.started": 1,
    "task.created": 2,
    "task.delivered": 3,
    "task.settled": 4,
}
_STORED_RANK: Final = 5
POWER_FUNCTIONS: Final = frozenset({"power", "power_state"})
"""Agent power tasks: ``power`` (on/off) and ``power_state`` (what ``wait_for_poweroff`` polls)."""
#: Boot phases of a cycle: name, starting mark, ending mark (spec §12.3).
PHASES: Final = (
    ("power_on_to_dhcp", "power.on", "dhcp.ack"),
    ("dhcp_to_boot_script", "dhcp.ack", "boot.script"),
    ("boot_script_to_signal", "boot.script", "signal.received"),
    ("signal_to_power_off", "signal.received", "power.off"),
)


@dataclass(frozen=True)
class Mark:
    """One timeline mark."""

    at: datetime
    mark: str
    detail: dict[str, Any]


def mark(
    session: AsyncSession, job_id: int, at: datetime, name: str, detail: dict[str, Any] | None
) -> None:
    """Add one mark (inserted when the transaction commits, with its other marks)."""
    insert_on_commit(
        session, MARKS_TABLE, {"job_id": job_id, "at": at, "mark": name, "detail": detail}
    )


async def for_job(session: AsyncSession, job_id: int) -> list[Mark]:
    """A job's marks in time order: stored marks and those of its tasks."""
    stored = await session.scalars(
        select(orm.TimelineMark)
        .where(orm.TimelineMark.job_id == job_id)
        .order_by(orm.TimelineMark.at, orm.TimelineMark.id)
    )
    ranked = [
        (row.at, _RANK.get(row.mark, _STORED_RANK), index, Mark(row.at, row.mark, row.detail or {}))
        for index, row in enumerate(stored)
    ]
    found = await session.scalars(
        select(orm.Task)
        .where(orm.Task.job_id == job_id, orm.Task.purpose.in_(MARKED_PURPOSES))
        .order_by(orm.Task.created_at, orm.Task.id)
    )
    job_tasks = list(found)
    names = await _agent_names(session, job_tasks)
    for task in job_tasks:
        ranked += [
            (m.at, _RANK.get(m.mark, _STORED_RANK), len(ranked), m) for m in task_marks(task, names)
        ]
    return [m for *_, m in sorted(ranked, key=lambda item: item[:3])]


def task_marks(task: orm.Task, agent_names: dict[str, str]) -> list[Mark]:
    """A task's marks: made, each delivery to an agent, and (a script call's) settling."""
    marks = [
        Mark(
            task.created_at,
            "task.created",
            {"task_id": task.id, "module": task.module, "function": task.function},
        )
    ]
    deliveries: list[tuple[str | None, Any, Any]] = [
        (entry.get("leased_at"), entry.get("attempt"), entry.get("agent_id"))
        for entry in task.history or []
    ]
    if task.leased_at is not None and task.state in OPEN:  # its attempt is still open
        deliveries.append((task.leased_at.isoformat(), task.attempt, task.agent_id))
    for leased_at, attempt, agent_id in deliveries:
        if leased_at is None or agent_id is None:
            continue  # not leased in that attempt, or leased by foreman itself
        detail = {"task_id": task.id, "attempt": attempt, "agent": agent_names.get(agent_id)}
        marks.append(Mark(datetime.fromisoformat(leased_at), "task.delivered", detail))
    if task.purpose == "call" and task.finished_at is not None:
        detail = {"task_id": task.id, "state": task.state, "attempt": task.attempt}
        marks.append(Mark(task.finished_at, "task.settled", detail))
        power = power_mark(task)
        if power is not None:
            marks.append(Mark(task.finished_at, power, {"task_id": task.id}))
    return marks


def power_mark(task: orm.Task) -> str | None:
    """``power.on`` for a power task that reported on, ``power.off`` for one that reported off."""
    if task.state != "succeeded" or task.function not in POWER_FUNCTIONS:
        return None
    reported = (task.result or {}).get("state")
    if reported == "on" and task.function == "power":
        return "power.on"
    return "power.off" if reported == "off" else None


def cycles(marks: list[Mark]) -> list[dict[str, Any]]:
    """Boot cycles: one per ``power.on``, with the phases whose two marks it holds.

    A cycle runs to the next ``power.on``; each mark counts at its first time in the cycle, and
    a phase is present when its ending mark comes after its starting one. ``scope``: the
    innermost scope open at the ``power.on`` (None outside any).
    """
    found: list[dict[str, Any]] = []
    firsts: dict[str, datetime] = {}
    scope: str | None = None
    open_scopes: list[str] = []

    def close() -> None:
        if "power.on" not in firsts:
            return
        phases = {
            name: round((firsts[end] - firsts[start]).total_seconds(), 3)
            for name, start, end in PHASES
            if start in firsts and end in firsts and firsts[end] >= firsts[start]
        }
        found.append({"scope": scope, "phases": phases})

    for m in marks:
        if m.mark == "scope.enter":
            open_scopes.append(str(m.detail.get("description")))
        elif m.mark == "scope.exit" and open_scopes:
            open_scopes.pop()
        elif m.mark == "power.on":
            close()
            firsts = {"power.on": m.at}
            scope = open_scopes[-1] if open_scopes else None
        elif firsts and m.mark not in firsts:
            firsts[m.mark] = m.at
    close()
    return found


def scopes(marks: list[Mark]) -> list[dict[str, Any]]:
    """Described ``begin()`` blocks the job entered, with how long each lasted (None: open)."""
    found: list[dict[str, Any]] = []
    entered: list[tuple[Mark, dict[str, Any]]] = []
    for m in marks:
        if m.mark == "scope.enter":
            entry: dict[str, Any] = {
                "description": m.detail.get("description"),
                "started_at": m.at,
                "seconds": None,
            }
            found.append(entry)
            entered.append((m, entry))
        elif m.mark == "scope.exit" and entered:
            start, entry = entered.pop()
            entry["seconds"] = round((m.at - start.at).total_seconds(), 3)
    return found


def scope_marks(
    session: AsyncSession,
    job_id: int,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    now: datetime,
) -> None:
    """Mark the described blocks a step left (``scope.exit``) and entered (``scope.enter``).

    ``before`` / ``after``: the job's progress before and after the step; a block is known by
    its depth and description, and is seen entered at its own start time.
    """
    old = _described(before)
    new = _described(after)
    if old == new:
        return
    kept = 0
    while kept < min(len(old), len(new)) and old[kept][:2] == new[kept][:2]:
        kept += 1
    for depth, description, _ in reversed(old[kept:]):
        mark(session, job_id, now, "scope.exit", {"description": description, "depth": depth})
    for depth, description, elapsed in new[kept:]:
        # At the block's own start, unless a block was left in this step: then at the step's
        # time, so that the exit comes first.
        at = now if len(old) > kept else now - timedelta(seconds=max(0.0, elapsed))
        mark(session, job_id, at, "scope.enter", {"description": description, "depth": depth})


def _described(progress: dict[str, Any] | None) -> list[tuple[int, str, float]]:
    levels = (progress or {}).get("levels") or []
    return [
        (depth, str(level["description"]), float(level.get("elapsed") or 0.0))
        for depth, level in enumerate(levels)
        if isinstance(level, dict) and level.get("description") is not None
    ]


async def _agent_names(session: AsyncSession, job_tasks: list[orm.Task]) -> dict[str, str]:
    ids = {task.agent_id for task in job_tasks if task.agent_id}
    ids |= {str(e["agent_id"]) for t in job_tasks for e in t.history or [] if e.get("agent_id")}
    if not ids:
        return {}
    rows = await session.execute(select(orm.Agent.id, orm.Agent.name).where(orm.Agent.id.in_(ids)))
    return {agent_id: name for agent_id, name in rows.all()}


async def observe_phases(
    session: AsyncSession, job_id: int, new: Mark, observe: Callable[[str, float], None]
) -> None:
    """Feed the boot phases ``new`` completes to ``observe`` once the transaction commits.

    ``new`` is the mark being made (a stored mark not yet inserted, or a task's mark already
    readable in the transaction): the job's cycles are compared without and with it.
    """
    found = [
        m
        for m in await for_job(session, job_id)
        if (m.mark, m.detail) != (new.mark, new.detail)  # a task's mark, already readable
    ]
    before = {(index, name) for index, c in enumerate(cycles(found)) for name in c["phases"]}
    after = cycles(sorted([*found, new], key=lambda m: m.at))
    for index, cycle in enumerate(after):
        for name, seconds in cycle["phases"].items():
            if (index, name) not in before:
                call_after_commit(session, functools.partial(observe, name, seconds))
