"""Agent outcomes: results, errors, heartbeats and releases, each exactly once (spec §4.4)."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any, Final

from contractor.foreman import orm
from contractor.foreman.clock import rfc3339
from contractor.foreman.errors import AgentProblem
from contractor.foreman.runner import settle
from contractor.foreman.runtime import Runtime
from contractor.foreman.store import agents, tasks
from sqlalchemy.ext.asyncio import AsyncSession

NOT_RETRYABLE: Final = frozenset({"unknown_function", "invalid_parameters"})
RECORDED: Final = frozenset({"succeeded", "failed"})
CANCELED_RELEASE: Final = {"message": "released after its job was canceled; not re-offered"}


def already_recorded(task: orm.Task, attempt: int) -> bool:
    """Whether (task, attempt) already has a recorded outcome."""
    if task.state in RECORDED and task.attempt == attempt:
        return True
    return any(
        h.get("attempt") == attempt and h.get("outcome") == "error" for h in task.history or []
    )


def check_current(task: orm.Task | None, task_id: str, attempt: int, agent_id: str) -> orm.Task:
    """The task, if ``attempt`` is its current, open attempt held by ``agent_id`` (else 409)."""
    if task is None:
        raise AgentProblem(409, "unknown-task", f"task {task_id} is unknown", cancel=True)
    if task.state == "canceled":
        raise AgentProblem(409, "task-canceled", f"task {task_id} was canceled", cancel=True)
    if task.state not in tasks.OPEN or task.attempt != attempt or task.agent_id != agent_id:
        raise AgentProblem(
            409, "stale-attempt", f"task {task_id} is at attempt {task.attempt}", cancel=True
        )
    return task


async def record(
    session: AsyncSession,
    rt: Runtime,
    task_id: str,
    *,
    agent_id: str,
    attempt: int,
    result: dict[str, Any] | None = None,
    error: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Record a result (``result``) or an error (``error``) for one task attempt."""
    job, task = await settle.lock_pair(session, task_id)
    if task is not None and already_recorded(task, attempt):
        return {"status": "already recorded"}
    task = check_current(task, task_id, attempt, agent_id)
    now = rt.clock.now()
    if error is None:
        await settle.finish(session, job, task, "succeeded", rt, now, result=result or {})
        return {"status": "recorded"}
    code = str(error.get("code") or "internal")
    # A canceled job's running call is not tried again (spec §2.7): its error settles it.
    retry = bool(error.get("retryable")) and code not in NOT_RETRYABLE and not task.cancel_requested
    if retry and task.attempt < rt.settings.max_attempts:
        delay = _backoff(task.attempt, rt.settings.retry_cap_s)
        tasks.reoffer(task, now=now, delay_s=delay, outcome="error")
        task.error = error
        return {
            "status": "recorded",
            "will_retry": True,
            "next_attempt_at": rfc3339(task.available_at),
        }
    await settle.finish(session, job, task, "failed", rt, now, error=error)
    return {"status": "recorded", "will_retry": False}


def _backoff(attempt: int, cap: float) -> float:
    """``min(cap, 2 × 2^(attempt−1))`` with ±20 % jitter (spec §4.5)."""
    base: float = min(cap, 2.0 * 2.0 ** (attempt - 1))
    return base * random.uniform(0.8, 1.2)


async def heartbeat(
    session: AsyncSession,
    rt: Runtime,
    task_id: str,
    *,
    agent: orm.Agent,
    attempt: int,
    phase: str,
    message: str | None,
) -> dict[str, Any]:
    """Renew a lease; ``phase=started`` is the start acknowledgement."""
    job, task = await settle.lock_pair(session, task_id)
    task = check_current(task, task_id, attempt, agent.id)
    now = rt.clock.now()
    if phase == "started" and task.started_at is None:
        task.started_at = now
        task.state = "started"
    elif task.state == "leased":
        task.state = "started"
        task.started_at = task.started_at or now
    task.lease_until = now + timedelta(seconds=rt.settings.lease_s)
    if message and job is not None and job.state == "waiting_task":
        job.message = message[:1024]
    return {"lease_until": rfc3339(task.lease_until), "cancel": task.cancel_requested}


async def release(
    session: AsyncSession, rt: Runtime, task_id: str, *, agent_id: str, attempt: int, started: bool
) -> dict[str, Any]:
    """An agent hands a task back (spec §5.7)."""
    job, task = await settle.lock_pair(session, task_id)
    task = check_current(task, task_id, attempt, agent_id)
    now = rt.clock.now()
    if task.cancel_requested:  # its job was canceled: handed back means done with, not re-run
        await settle.finish(session, job, task, "canceled", rt, now, error=CANCELED_RELEASE)
        return {"status": "released", "reoffered": False}
    ran = started or task.started_at is not None
    if ran and not task.idempotent:
        holder = await agents.get(session, agent_id)
        name = holder.name if holder is not None else agent_id
        await settle.lose(session, job, task, f"task released while running: {name}", rt, now)
        return {"status": "released", "reoffered": False}
    tasks.reoffer(task, now=now, count=ran, outcome="released")
    await rt.announce(session, rt.tasks)
    return {"status": "released", "reoffered": True}


def offer_time(now: datetime) -> str:
    """``server_time`` of an answer."""
    return rfc3339(now) or ""
