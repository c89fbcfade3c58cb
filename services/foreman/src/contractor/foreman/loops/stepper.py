"""The stepper loop: claim due jobs (``FOR UPDATE SKIP LOCKED``) and step them (spec §3.2)."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timedelta
from typing import Final

from contractor.foreman import orm
from contractor.foreman.runner import step
from contractor.foreman.runtime import Runtime, WakeOne
from contractor.foreman.states import JobState
from contractor.foreman.store import jobs
from contractor.foreman.store.sql import one_of
from sqlalchemy import bindparam, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

logger = logging.getLogger(__name__)
ACTOR: Final = "system:stepper"
DUE_STATES: Final = (
    JobState.RUNNING.value,
    JobState.WAITING_DELAY.value,
    JobState.WAITING_SIGNAL.value,
)
INTERNAL_BACKOFF_S: Final = 5.0
INTERNAL_LIMIT: Final = 3


# Built once (a select takes some 60 µs to build; executing a built one costs nothing more).
_CLAIM = (
    select(orm.Job)
    .where(orm.Job.runnable_at <= bindparam("now"), orm.Job.state.in_(DUE_STATES))
    .order_by(orm.Job.runnable_at)
    .limit(bindparam("batch"))
    .with_for_update(skip_locked=True)
    .execution_options(populate_existing=True)
)
_RUNNING = JobState.RUNNING.value
# ``runnable_at > since`` bounds the whole scan (an index range from ``since`` on): an ``OR``
# of two ranges would have the index read from its start, every due job and dead entry first.
_NEXT_DUE = (
    select(orm.Job.runnable_at)
    .where(
        orm.Job.runnable_at > bindparam("since"),
        orm.Job.state.in_(DUE_STATES),
        or_(orm.Job.state != _RUNNING, orm.Job.runnable_at > bindparam("now")),
    )
    .order_by(orm.Job.runnable_at)
    .limit(1)
)


async def run(sessions: async_sessionmaker[AsyncSession], rt: Runtime, stop: asyncio.Event) -> None:
    """Step due jobs until ``stop`` is set; sleep until woken or the next due time."""
    while not stop.is_set():
        try:
            # A full batch may have left due jobs behind: claim again at once. Otherwise every
            # job due at the claim was taken; later ones come with a wake-up (kept if nobody
            # waits) or are found by the next-due query, which looks from the claim on.
            _, pause = await step_batch(sessions, rt)
        except Exception:
            logger.exception("stepper batch failed")
            pause = rt.settings.sweep_s
        if pause > 0 and not stop.is_set():  # no await between the check and the wait
            await rt.jobs.wait(pause)


class _BatchFailed(Exception):
    """A job failed while the batch ran without savepoints: run it again with them."""


async def step_batch(sessions: async_sessionmaker[AsyncSession], rt: Runtime) -> tuple[int, float]:
    """Claim up to ``step_batch`` due jobs, step each, commit once.

    Returns how many were stepped and how long the loop may wait before claiming again: 0
    after a full batch, else until the next due job (the query runs in the batch's own
    transaction, so an idle stepper costs no transaction of its own).

    The batch first runs without a savepoint per job (two round trips each saved). If any job
    fails, that transaction is rolled back whole and the batch is claimed and run again with a
    savepoint per job, so that one job's failure never stops the others (spec §2.5). A step
    has no effect outside the transaction, so running it twice is safe.
    """
    try:
        return await _batch(sessions, rt, guarded=False)
    except _BatchFailed:
        return await _batch(sessions, rt, guarded=True)


async def _batch(
    sessions: async_sessionmaker[AsyncSession], rt: Runtime, *, guarded: bool
) -> tuple[int, float]:
    if isinstance(rt.jobs, WakeOne):
        rt.jobs.claiming()  # what was made runnable until now, this claim sees
    async with sessions() as session, session.begin():
        now = rt.clock.now()
        rows = list(await session.scalars(_CLAIM, {"now": now, "batch": rt.settings.step_batch}))
        # Held for the batch: the session's identity map keeps objects only weakly.
        prefetched = await _prefetch_tasks(session, rows)
        for job in rows:
            if guarded:
                await _step_guarded(session, job, rt, now)
            else:
                await _step_unguarded(session, job, rt, now)
        del prefetched
        full = len(rows) >= rt.settings.step_batch
        pause = 0.0 if full else await _idle_time(session, rt, now)
    if full:
        rt.jobs.notify()  # a full batch: more may be due, so wake another stepper to help
    return len(rows), pause


async def _prefetch_tasks(session: AsyncSession, rows: list[orm.Job]) -> list[orm.Task]:
    """Load the tasks the claimed jobs wait on, in one query (the steps find them loaded)."""
    ids = [str((job.wait or {})["task_id"]) for job in rows if (job.wait or {}).get("task_id")]
    if not ids:
        return []
    found = await session.scalars(
        select(orm.Task)
        .where(one_of(session, orm.Task.id, ids))
        .execution_options(populate_existing=True)
    )
    return list(found.all())  # now in the session's identity map


async def _step_unguarded(session: AsyncSession, job: orm.Job, rt: Runtime, now: datetime) -> None:
    started = time.perf_counter()
    try:
        if job.state != JobState.RUNNING.value:
            await jobs.transition(session, job, "wake", actor=ACTOR, now=now)
        await step.step(session, job, rt)
        job.internal_failures = 0
    except Exception as exc:
        raise _BatchFailed from exc
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "job %s stepped: %s", job.id, job.state, extra={"job_id": job.id, "site": job.site}
        )
    rt.metrics.steps.labels(job.state).inc()
    rt.metrics.step_seconds.labels(job.state).observe(time.perf_counter() - started)


async def _step_guarded(session: AsyncSession, job: orm.Job, rt: Runtime, now: datetime) -> None:
    job_id = job.id  # the rollback below expires the row; reading it then would do I/O
    started = time.perf_counter()
    outcome = "internal_error"
    try:
        async with session.begin_nested():
            if job.state != JobState.RUNNING.value:
                await jobs.transition(session, job, "wake", actor=ACTOR, now=now)
            await step.step(session, job, rt)
            job.internal_failures = 0
            outcome = job.state
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("job %s stepped: %s", job_id, outcome, extra={"job_id": job_id})
    except Exception as exc:
        # One job's failure never stops the others (spec §2.5).
        logger.exception("stepping job %s failed", job_id)
        await session.refresh(job)
        await _internal_failure(session, job, rt, now, exc)
    finally:
        rt.metrics.steps.labels(outcome).inc()
        rt.metrics.step_seconds.labels(outcome).observe(time.perf_counter() - started)


async def _internal_failure(
    session: AsyncSession, job: orm.Job, rt: Runtime, now: datetime, exc: Exception
) -> None:
    job.internal_failures += 1
    if job.internal_failures < INTERNAL_LIMIT:
        job.runnable_at = now + timedelta(seconds=INTERNAL_BACKOFF_S)
        return
    if job.state != JobState.RUNNING.value:
        await jobs.transition(session, job, "wake", actor=ACTOR, now=now)
    job.runnable_at = None
    await jobs.transition(
        session,
        job,
        "step",
        actor=ACTOR,
        now=now,
        to=JobState.ERROR,
        origin="internal",
        message=f"internal error: {type(exc).__name__}",
    )


async def _idle_time(session: AsyncSession, rt: Runtime, since: datetime) -> float:
    """Seconds until the next job comes due without a wake-up (at most the sweep interval).

    Timers (``waiting_delay``, ``waiting_signal``) are looked for from ``since`` (the claim),
    so one that came due meanwhile gives a pause of a millisecond, not a sweep. A ``running``
    job due by now was made runnable by a writer, and writers wake a stepper (in-process or by
    ``NOTIFY``) after they commit: only its future ``runnable_at`` (a back-off) counts. Without
    that distinction, every job made runnable during a batch sent this stepper to claim it at
    once, racing the stepper its writer woke; one of them found nothing.
    """
    now = rt.clock.now()
    due: datetime | None = await session.scalar(_NEXT_DUE, {"now": now, "since": since})
    if due is None:
        return rt.settings.sweep_s
    return max(0.001, min(rt.settings.sweep_s, (due - now).total_seconds()))
