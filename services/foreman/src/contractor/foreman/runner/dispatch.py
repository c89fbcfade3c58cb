"""What a poll does in the database (spec §5.2, §4.3): renew, reconcile, cancel, claim."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from contractor.foreman import orm
from contractor.foreman.clock import rfc3339
from contractor.foreman.runner import leases, settle
from contractor.foreman.runtime import Runtime
from contractor.foreman.schemas.agent import PollBody, TaskOffer
from contractor.foreman.store import tasks
from sqlalchemy.ext.asyncio import AsyncSession

RENEW_FRACTION = 0.75
"""A listed task's lease is renewed when less than this fraction of ``lease_s`` is left."""


@dataclass
class PollWork:
    """Tasks to hand out and task ids to cancel."""

    offers: list[orm.Task] = field(default_factory=list)
    cancel: list[str] = field(default_factory=list)


async def reconcile(
    session: AsyncSession,
    rt: Runtime,
    agent: orm.Agent,
    body: PollBody,
    received: datetime,
) -> PollWork:
    """Renew the listed leases; re-deliver or expire held tasks missing from the list."""
    listed = {held.id: held.attempt for held in body.running}
    work = PollWork()
    lease_until = received + timedelta(seconds=rt.settings.lease_s)
    # A listed lease is written only once a quarter of it has passed: a fast task is never
    # renewed, and a poll does not lock the rows its agent's results are about to settle.
    renew_before = received + timedelta(seconds=rt.settings.lease_s * RENEW_FRACTION)
    held = await tasks.held_summary(session, agent.id)
    renew: list[str] = []
    for row in held:
        if listed.get(row.id) == row.attempt:
            if row.lease_until is None or row.lease_until < renew_before:
                renew.append(row.id)
            if row.cancel_requested:
                work.cancel.append(row.id)
        elif row.leased_at is not None and row.leased_at < received:
            task = await tasks.get(session, row.id)
            if task is not None and task.state in tasks.OPEN:
                await _missing(session, rt, task, work, lease_until, received)
    await tasks.renew(session, renew, lease_until)
    others = sorted(set(listed) - {task.id for task in held})
    if others:
        work.cancel += await tasks.canceled_among(session, others)
    return work


async def _missing(
    session: AsyncSession,
    rt: Runtime,
    task: orm.Task,
    work: PollWork,
    lease_until: datetime,
    now: datetime,
) -> None:
    # The poll answer that carried it was lost: deliver it again, same attempt; if it had
    # already started, the agent lost it (spec §4.3).
    if task.state == "leased" and task.started_at is None:
        task.lease_until = lease_until
        work.offers.append(task)
        return
    job, locked = await settle.lock_pair(session, task.id)
    if locked is not None and locked.state in tasks.OPEN:
        await leases.expire(session, job, locked, rt, now)


async def claim(
    session: AsyncSession,
    rt: Runtime,
    agent: orm.Agent,
    body: PollBody,
    *,
    redelivered: list[orm.Task],
) -> list[orm.Task]:
    """Lease pending tasks up to each module's free capacity, for the polled sites."""
    claimed: list[orm.Task] = []
    now = rt.clock.now()
    for module, capacity in body.modules.items():
        free = capacity.capacity - sum(1 for t in redelivered if t.module == module)
        if module.startswith("_") or free <= 0:
            continue
        claimed += await tasks.claim(
            session,
            sites=body.sites,
            module=module,
            limit=free,
            agent_id=agent.id,
            incarnation=agent.incarnation,
            now=now,
            lease_s=rt.settings.lease_s,
        )
    for task in claimed:
        waited = (now - task.available_at).total_seconds()
        rt.metrics.task_dispatch_seconds.labels(task.module).observe(max(0.0, waited))
    return claimed


def offer(task: orm.Task, unseal: Callable[[Any], Any]) -> TaskOffer:
    """The poll answer's view of a task (secrets opened: only this agent gets them)."""
    return TaskOffer(
        id=task.id,
        attempt=task.attempt,
        job_id=task.job_id,
        site=task.site,
        module=task.module,
        function=task.function,
        parameters=unseal(task.parameters),
        idempotent=task.idempotent,
        needs_start_ack=not task.idempotent,
        timeout_s=task.timeout_s,
        lease_until=rfc3339(task.lease_until),
        trace_id=_trace_id(task.id),
    )


def _trace_id(task_id: str) -> str:
    """16 hex digits naming the task in traces: a UUID's first 16, else the id's first 16."""
    try:
        return uuid.UUID(task_id).hex[:16]
    except ValueError:
        return task_id[:16]
