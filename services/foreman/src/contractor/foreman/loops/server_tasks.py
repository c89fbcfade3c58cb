"""The server-task worker: performs ``_inventory`` tasks against inventory (spec §4.6, §2.8).

Functions: ``apply`` (write batches), ``complete``, ``release``, and the calls of
:data:`CALLS` (``POST /api/v1/job-calls``, idempotent by call id = the task id).

A task is claimed in one short transaction, performed over HTTP outside any transaction, and
its outcome recorded in another. Transient failures (network, 429, 5xx) are re-offered with a
capped backoff forever ("waiting for inventory"); inventory's 4xx verdict fails the task.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Final

from contractor.foreman import orm
from contractor.foreman.errors import InventoryProblem, InventoryUnavailable
from contractor.foreman.inventory import InventoryClient
from contractor.foreman.runner import settle
from contractor.foreman.runtime import Runtime
from contractor.foreman.store import tasks
from contractor.foreman.store.sql import one_of
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

logger = logging.getLogger(__name__)
BATCH: Final = 8
CALLS: Final = frozenset({"map_ports", "unmap_ports"})
"""Server-task functions that are inventory calls returning data (spec §4.6, §6.3)."""


async def run(
    sessions: async_sessionmaker[AsyncSession],
    rt: Runtime,
    inventory: InventoryClient,
    stop: asyncio.Event,
) -> None:
    """Perform server tasks until ``stop`` is set."""
    while not stop.is_set():
        try:
            done = await run_once(sessions, rt, inventory)
        except Exception:
            logger.exception("server-task worker failed")
            done = 0
        if not done and not stop.is_set():
            await rt.server_tasks.wait(rt.settings.sweep_s)


async def run_once(
    sessions: async_sessionmaker[AsyncSession], rt: Runtime, inventory: InventoryClient
) -> int:
    """Claim and perform one batch; return how many tasks were handled."""
    async with sessions() as session, session.begin():
        claimed = await tasks.claim(
            session,
            sites=(),
            module=tasks.SERVER_MODULE,
            limit=BATCH,
            agent_id=None,
            incarnation=None,
            now=rt.clock.now(),
            lease_s=rt.settings.lease_s,
        )
        work = [(t.id, t.attempt, t.function, dict(t.parameters), t.job_id) for t in claimed]
        targets = await _targets(session, {job for _, _, fn, _, job in work if fn in CALLS})
    for task_id, attempt, function, params, job_id in work:
        if function in CALLS:
            target = targets.get(job_id)
            outcome = await _call(inventory, function, rt.open(params), job_id, task_id, target)
        else:
            outcome = await _perform(inventory, function, params)
        await _record(sessions, rt, task_id, attempt, outcome)
    return len(work)


async def _targets(session: AsyncSession, job_ids: set[int]) -> dict[int, tuple[str, str]]:
    """The targets of the given jobs, by job id."""
    if not job_ids:
        return {}
    rows = await session.execute(
        select(orm.Job.id, orm.Job.target_kind, orm.Job.target_key).where(
            one_of(session, orm.Job.id, job_ids)
        )
    )
    return {job_id: (kind, key) for job_id, kind, key in rows.all()}


async def _call(
    inventory: InventoryClient,
    op: str,
    params: dict[str, Any],
    job_id: int,
    call_id: str,
    target: tuple[str, str] | None,
) -> tuple[str, dict[str, Any]]:
    """A call that returns data (``POST /job-calls``); the task id is the call id (§4.6).

    The call changes the target's configuration (``docker_port_map`` …), so the refreshed
    snapshot comes back with the answer and replaces the job's before its next step: the
    script sees the change at once, as it sees its own writes.
    """
    try:
        answer = await inventory.job_call(
            job_id=job_id, call_id=call_id, op=op, params=dict(params.get("params") or {})
        )
    except InventoryUnavailable as exc:
        return "retry", {"message": exc.detail}  # the repeat has the same call id: idempotent
    except InventoryProblem as exc:
        return "failed", _failure(exc)
    body: dict[str, Any] = {"answer": answer}
    if target is not None:
        try:
            body["snapshot"] = await inventory.snapshot(*target)
        except InventoryUnavailable as exc:
            return "retry", {"message": exc.detail}  # the call repeats idempotently, then this
        except InventoryProblem:
            logger.warning("no refreshed snapshot after %s for job %s", op, job_id)
            # The call took effect: the job goes on with the snapshot it has.
    return "succeeded", body


def _failure(exc: InventoryProblem) -> dict[str, Any]:
    problem = {"type": exc.extra.get("type"), "slug": getattr(exc, "slug_override", "")}
    return {"message": exc.detail, "problem": problem | exc.extra}


async def _perform(
    inventory: InventoryClient, function: str, params: dict[str, Any]
) -> tuple[str, dict[str, Any]]:
    kind, key, job_id = str(params["kind"]), str(params["key"]), int(params["job_id"])
    try:
        if function == "complete":
            # The target may have moved since the job's snapshot (discovery locates a planned
            # foundation while its create job runs, decision 1): ask for its state now.
            current = (await inventory.snapshot(kind, key)).get("target") or {}
            answer = await inventory.complete(
                kind,
                key,
                job_id=job_id,
                from_state=str(current.get("state") or params.get("from")),
                to_state=str(params["to"]),
            )
            return "succeeded", {"answer": answer}
        if function == "apply":
            snapshot = await inventory.apply_writes(
                job_id=job_id, batch_id=str(params["batch_id"]), writes=list(params["writes"])
            )
            return "succeeded", {"snapshot": snapshot}  # sealed by _record
        if function == "release":
            await inventory.release(kind, key, job_id=job_id)
            return "succeeded", {}
        return "failed", {"message": f"unknown server task {function}"}
    except InventoryUnavailable as exc:
        return "retry", {"message": exc.detail}
    except InventoryProblem as exc:
        return "failed", _failure(exc)


async def _record(
    sessions: async_sessionmaker[AsyncSession],
    rt: Runtime,
    task_id: str,
    attempt: int,
    outcome: tuple[str, dict[str, Any]],
) -> None:
    state, body = outcome
    async with sessions() as session, session.begin():
        job, task = await settle.lock_pair(session, task_id)
        if task is None or task.state not in tasks.OPEN or task.attempt != attempt:
            return  # canceled or re-offered meanwhile
        now = rt.clock.now()
        if state == "retry":
            delay = min(rt.settings.retry_cap_s, 2.0 * 2 ** min(task.reoffers, 10))
            task.reoffers += 1
            tasks.reoffer(task, now=now, delay_s=delay, count=False)
            _note_waiting(job)
            return
        if state == "succeeded":
            body = rt.seal(body)
            await settle.finish(session, job, task, "succeeded", rt, now, result=body)
            await rt.announce(session, rt.prerequisites)  # others may wait on this target
        else:
            await settle.finish(session, job, task, "failed", rt, now, error=body)


def _note_waiting(job: orm.Job | None) -> None:
    if job is not None and job.state == "waiting_task":
        job.message = "waiting for inventory"
