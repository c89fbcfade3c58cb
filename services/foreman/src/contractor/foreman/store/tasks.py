"""Task rows: creation, claims (``FOR UPDATE SKIP LOCKED``), leases and settling (spec §4)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Final

from contractor.foreman import orm
from contractor.foreman.store.sql import one_of
from contractor.servicekit.outbox import insert_on_commit
from sqlalchemy import Table, select, update
from sqlalchemy.ext.asyncio import AsyncSession

SERVER_MODULE: Final = "_inventory"
OPEN: Final = ("leased", "started")
UNSETTLED: Final = ("pending", "leased", "started")
SETTLED: Final = ("succeeded", "failed", "lost", "canceled")
TASKS_TABLE: Table = orm.Task.__table__  # type: ignore[assignment]


def _new_row(
    *,
    task_id: str,
    job: orm.Job,
    module: str,
    function: str,
    parameters: dict[str, Any],
    idempotent: bool,
    purpose: str,
    now: datetime,
    timeout_s: float | None,
    site: str | None,
) -> dict[str, Any]:
    """The columns of a new ``pending`` task (attempt 1), available now."""
    return {
        "id": task_id,
        "job_id": job.id,
        "site": site or job.site or "",
        "module": module,
        "function": function,
        "parameters": parameters,
        "idempotent": idempotent,
        "purpose": purpose,
        "state": "pending",
        "attempt": 1,
        "reoffers": 0,
        "available_at": now,
        "created_at": now,
        "timeout_s": timeout_s,
        "cancel_requested": False,
        "history": [],
    }


async def create(
    session: AsyncSession,
    *,
    task_id: str,
    job: orm.Job,
    module: str,
    function: str,
    parameters: dict[str, Any],
    idempotent: bool,
    purpose: str,
    now: datetime,
    timeout_s: float | None = None,
    site: str | None = None,
) -> orm.Task:
    """Insert a ``pending`` task (attempt 1), available now, for the job's site or ``site``."""
    row = _new_row(
        task_id=task_id, job=job, module=module, function=function, parameters=parameters,
        idempotent=idempotent, purpose=purpose, now=now, timeout_s=timeout_s, site=site,
    )  # fmt: skip
    task = orm.Task(**row)
    session.add(task)  # inserted by the session's next flush
    return task


def insert_new(
    session: AsyncSession,
    *,
    task_id: str,
    job: orm.Job,
    module: str,
    function: str,
    parameters: dict[str, Any],
    idempotent: bool,
    now: datetime,
    timeout_s: float | None = None,
    site: str | None = None,
) -> None:
    """Insert a ``pending`` call task (attempt 1) as :func:`create` does, without an ORM object.

    For a step's new request: nothing reads the task back in the transaction that makes it,
    so its row goes in with the transaction's other new rows, in one statement at commit.
    """
    row = _new_row(
        task_id=task_id, job=job, module=module, function=function, parameters=parameters,
        idempotent=idempotent, purpose="call", now=now, timeout_s=timeout_s, site=site,
    )  # fmt: skip
    insert_on_commit(session, TASKS_TABLE, row)


async def get(session: AsyncSession, task_id: str, *, lock: bool = False) -> orm.Task | None:
    """One task (with its row lock when ``lock``), or None."""
    stmt = select(orm.Task).where(orm.Task.id == task_id)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt.execution_options(populate_existing=True))


async def for_job(session: AsyncSession, job_id: int) -> list[orm.Task]:
    """A job's tasks, oldest first."""
    rows = await session.scalars(
        select(orm.Task).where(orm.Task.job_id == job_id).order_by(orm.Task.created_at)
    )
    return list(rows)


async def claim(
    session: AsyncSession,
    *,
    sites: Sequence[str],
    module: str,
    limit: int,
    agent_id: str | None,
    incarnation: str | None,
    now: datetime,
    lease_s: float,
) -> list[orm.Task]:
    """Lease up to ``limit`` due pending tasks of ``module`` for ``sites``, oldest first.

    PostgreSQL: the rows are selected ``FOR UPDATE SKIP LOCKED``, so concurrent claimers in any
    replica never get the same task. SQLite: the transaction is ``BEGIN IMMEDIATE`` (one writer).
    """
    if limit <= 0:
        return []
    due = (
        select(orm.Task.id)
        .where(
            orm.Task.state == "pending",
            orm.Task.module == module,
            orm.Task.available_at <= now,
        )
        .order_by(orm.Task.available_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if module != SERVER_MODULE:
        due = due.where(orm.Task.site.in_(list(sites)))
    # One statement (spec §3.2): the rows come back already leased, as ORM objects.
    claimed = await session.scalars(
        update(orm.Task)
        .where(orm.Task.id.in_(due.scalar_subquery()))
        .values(
            state="leased",
            agent_id=agent_id,
            incarnation=incarnation,
            leased_at=now,
            lease_until=now + timedelta(seconds=lease_s),
        )
        .returning(orm.Task)
        .execution_options(populate_existing=True, synchronize_session=False)
    )
    return sorted(claimed.all(), key=lambda task: (task.available_at, task.created_at))


def reoffer(
    task: orm.Task,
    *,
    now: datetime,
    delay_s: float = 0.0,
    count: bool = True,
    outcome: str = "reoffered",
) -> None:
    """Put a task back to ``pending`` (a new attempt unless ``count`` is false)."""
    _close_attempt(task, now, outcome)
    if count:
        task.attempt += 1
    task.state = "pending"
    task.available_at = now + timedelta(seconds=delay_s)
    task.agent_id = task.incarnation = None
    task.leased_at = task.lease_until = task.started_at = None


def settle(
    task: orm.Task,
    state: str,
    *,
    now: datetime,
    result: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
) -> None:
    """Give a task its final state."""
    _close_attempt(task, now, state)
    task.state = state
    task.finished_at = now
    task.result = result
    task.error = error


def _close_attempt(task: orm.Task, now: datetime, outcome: str) -> None:
    entry = {
        "attempt": task.attempt,
        "agent_id": task.agent_id,
        "leased_at": task.leased_at.isoformat() if task.leased_at is not None else None,
        "outcome": outcome,
        "at": now.isoformat(),
    }
    task.history = [*(task.history or []), entry]


async def expired(session: AsyncSession, *, now: datetime, limit: int = 100) -> list[str]:
    """Ids of open tasks whose lease ran out (the caller locks and re-checks each)."""
    stmt = (
        select(orm.Task.id)
        .where(orm.Task.state.in_(OPEN), orm.Task.lease_until < now)
        .order_by(orm.Task.lease_until)
        .limit(limit)
    )
    return list(await session.scalars(stmt))


async def unacknowledged(session: AsyncSession, *, before: datetime, limit: int = 100) -> list[str]:
    """Ids of leased agent tasks that need a start ack and got none since ``before``."""
    stmt = (
        select(orm.Task.id)
        .where(
            orm.Task.state == "leased",
            orm.Task.idempotent.is_(False),
            orm.Task.module != SERVER_MODULE,
            orm.Task.leased_at < before,
        )
        .limit(limit)
    )
    return list(await session.scalars(stmt))


async def overdue(session: AsyncSession, *, now: datetime, grace_s: float) -> list[str]:
    """Ids of started tasks running longer than ``timeout_s + grace_s`` (spec §4.3)."""
    rows = await session.execute(
        select(orm.Task.id, orm.Task.started_at, orm.Task.timeout_s).where(
            orm.Task.state == "started", orm.Task.timeout_s.is_not(None)
        )
    )
    return [
        task_id
        for task_id, started_at, timeout_s in rows.all()
        if started_at is not None
        and timeout_s is not None
        and started_at + timedelta(seconds=timeout_s + grace_s) < now
    ]


async def canceled_among(session: AsyncSession, task_ids: Sequence[str]) -> list[str]:
    """Which of ``task_ids`` are canceled (in the given order)."""
    found = set(
        await session.scalars(
            select(orm.Task.id).where(
                one_of(session, orm.Task.id, task_ids), orm.Task.state == "canceled"
            )
        )
    )
    return [task_id for task_id in task_ids if task_id in found]


async def held_summary(session: AsyncSession, agent_id: str) -> list[Any]:
    """Open tasks leased to an agent: the columns a poll reconciles, without loading objects."""
    rows = await session.execute(
        select(
            orm.Task.id,
            orm.Task.attempt,
            orm.Task.lease_until,
            orm.Task.leased_at,
            orm.Task.cancel_requested,
        ).where(orm.Task.agent_id == agent_id, orm.Task.state.in_(OPEN))
    )
    return list(rows.all())


async def renew(session: AsyncSession, task_ids: Sequence[str], lease_until: datetime) -> None:
    """Extend the leases of open tasks in one statement."""
    if task_ids:
        await session.execute(
            update(orm.Task)
            .where(one_of(session, orm.Task.id, task_ids), orm.Task.state.in_(OPEN))
            .values(lease_until=lease_until)
            .execution_options(synchronize_session=False)
        )


async def held_by(session: AsyncSession, agent_id: str) -> list[orm.Task]:
    """Open tasks leased to an agent."""
    stmt = (
        select(orm.Task)
        .where(orm.Task.agent_id == agent_id, orm.Task.state.in_(OPEN))
        .execution_options(populate_existing=True)
    )
    return list(await session.scalars(stmt))


async def listing(
    session: AsyncSession,
    *,
    state: str | None,
    site: str | None,
    module: str | None,
    agent: str | None,
    limit: int,
) -> list[orm.Task]:
    """Tasks for the queue view, oldest first."""
    stmt = select(orm.Task).order_by(orm.Task.created_at).limit(limit)
    for column, value in (
        (orm.Task.state, state),
        (orm.Task.site, site),
        (orm.Task.module, module),
        (orm.Task.agent_id, agent),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    return list(await session.scalars(stmt))


async def release_pending(session: AsyncSession, job_id: int) -> bool:
    """Whether a slot-release server task of the job is still unsettled."""
    found = await session.scalar(
        select(orm.Task.id).where(
            orm.Task.job_id == job_id,
            orm.Task.module == SERVER_MODULE,
            orm.Task.function == "release",
            orm.Task.state.in_(UNSETTLED),
        )
    )
    return found is not None


async def earliest_available(session: AsyncSession, *, after: datetime) -> datetime | None:
    """The earliest future ``available_at`` of a pending task (the timer's next wake-up)."""
    return await session.scalar(
        select(orm.Task.available_at)
        .where(orm.Task.state == "pending", orm.Task.available_at > after)
        .order_by(orm.Task.available_at)
        .limit(1)
    )
