"""Job timeline marks (spec §12.3).

Marks of a job's own events (``job.*``, boot path, signals) are rows of ``timeline``. The task
marks (``task.created``, ``task.delivered``, ``task.settled``) are read off the task rows when
the timeline is asked for: a task already records when it was made, leased (each attempt, in
its ``history``) and settled, so a round trip writes no mark rows of its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from contractor.foreman import orm
from contractor.foreman.store.tasks import OPEN
from contractor.servicekit.outbox import insert_on_commit
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
        ranked += [(m.at, _RANK[m.mark], len(ranked), m) for m in task_marks(task, names)]
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
    return marks


async def _agent_names(session: AsyncSession, job_tasks: list[orm.Task]) -> dict[str, str]:
    ids = {task.agent_id for task in job_tasks if task.agent_id}
    ids |= {str(e["agent_id"]) for t in job_tasks for e in t.history or [] if e.get("agent_id")}
    if not ids:
        return {}
    rows = await session.execute(select(orm.Agent.id, orm.Agent.name).where(orm.Agent.id.in_(ids)))
    return {agent_id: name for agent_id, name in rows.all()}
