"""Posting outcomes until foreman acknowledges each one (foreman.md §4.4, §5.4–5.6, §8.4 step 5)."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import anyio
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream

from subcontractor.agent.runtime import Runtime, wait_or_stop
from subcontractor.errors import ForemanRefused
from subcontractor.retry import classify
from subcontractor.wire import Outcome, OutcomeStatus

log = logging.getLogger("subcontractor.agent.outcomes")

ACCEPTED = frozenset({"recorded", "already recorded"})
MAX_BATCH = 500


async def run_outcome_loop(rt: Runtime, receive: MemoryObjectReceiveStream[Outcome]) -> None:
    """Spool outcomes as they come and post them, until the stream closes.

    Two parts run side by side: one makes each batch durable the moment it is ready, the other
    posts what is spooled (retrying while foreman is away, several spooled batches in one post).
    So an outcome never waits in memory behind a post that keeps failing: a SIGKILL then loses
    nothing the agent finished, and the next start posts it from the spool.
    """
    spooled_send, spooled_receive = anyio.create_memory_object_stream[list[Outcome]](math.inf)
    async with anyio.create_task_group() as group:
        group.start_soon(_post_spooled, rt, spooled_receive)
        async with spooled_send:
            await _spool_batches(rt, receive, spooled_send)


async def _spool_batches(
    rt: Runtime,
    receive: MemoryObjectReceiveStream[Outcome],
    spooled: MemoryObjectSendStream[list[Outcome]],
) -> None:
    """Gather the outcomes ready within the batch window, spool them, hand them to posting."""
    async with receive:
        try:
            async for first in receive:
                batch = [first]
                with anyio.move_on_after(rt.pacing.batch_window_s):
                    while len(batch) < MAX_BATCH:
                        try:
                            batch.append(await receive.receive())
                        except anyio.EndOfStream:  # shutting down: post what we have
                            break
                await _spool(rt, batch)
                await spooled.send(batch)
        finally:
            _spool_leftovers(rt, receive)


async def _post_spooled(rt: Runtime, spooled: MemoryObjectReceiveStream[list[Outcome]]) -> None:
    """Post spooled batches in order; batches that piled up meanwhile go in one post."""
    pending: list[Outcome] = []
    async with spooled:
        while True:
            if not pending:
                try:
                    pending = await spooled.receive()
                except anyio.EndOfStream:
                    return
            while len(pending) < MAX_BATCH:
                try:
                    pending += spooled.receive_nowait()
                except (anyio.WouldBlock, anyio.EndOfStream):
                    break
            batch, pending = pending[:MAX_BATCH], pending[MAX_BATCH:]
            await deliver(rt, batch)


def _spool_leftovers(rt: Runtime, receive: MemoryObjectReceiveStream[Outcome]) -> None:
    """At shutdown, spool outcomes never taken from the queue, so the next start posts them."""
    leftovers: list[Outcome] = []
    while True:
        try:
            leftovers.append(receive.receive_nowait())
        except (anyio.WouldBlock, anyio.EndOfStream, anyio.ClosedResourceError):
            break
    if leftovers:
        try:
            rt.spool.write_many(leftovers)
        except OSError as exc:
            log.error("cannot spool %d outcomes at shutdown: %s", len(leftovers), exc)


async def _spool(rt: Runtime, batch: list[Outcome]) -> None:
    """Make outcomes durable before the first post, so a restart posts them again (§8.4)."""
    try:
        await anyio.to_thread.run_sync(rt.spool.write_many, batch)
    except OSError as exc:  # a full or broken disk must not stop results reaching foreman
        log.error("cannot spool %d outcomes, posting them anyway: %s", len(batch), exc)


async def deliver(
    rt: Runtime, outcomes: Sequence[Outcome], *, stop: anyio.Event | None = None
) -> None:
    """Post outcomes, retrying with backoff until each is acknowledged or dropped.

    Args:
        rt: The agent runtime.
        outcomes: Outcomes to post; one goes to its task route, several to ``/results``.
        stop: Give up (leaving them spooled) when this is set; ``None`` never gives up.
    """
    pending = list(outcomes)
    failures = 0
    never = anyio.Event()
    while pending and not (stop is not None and stop.is_set()):
        try:
            statuses = await _post(rt, pending)
        except Exception as exc:
            verdict = classify(exc)
            rt.metrics.foreman_error(verdict.action)
            if verdict.action in ("retry", "reauth"):
                failures += 1
                log.warning("posting outcomes failed (%s): %s", verdict.action, verdict.message)
                wait = (
                    rt.pacing.reauth_wait_s
                    if verdict.action == "reauth"
                    else rt.pacing.after(failures, exc)
                )
                await wait_or_stop(stop or never, wait)
                continue
            statuses = [_refused(outcome, exc) for outcome in pending]
        pending, answered = _settle(rt, pending, statuses)
        finished = rt.spool.answered(answered)
        if finished:  # every outcome in these batch files is answered: they go, off the loop
            await anyio.to_thread.run_sync(rt.spool.remove, finished)


async def _post(rt: Runtime, pending: list[Outcome]) -> list[OutcomeStatus]:
    if len(pending) == 1:
        return [await rt.client.post_outcome(pending[0])]
    agent_id = pending[0].agent_id
    return await rt.client.post_outcomes(agent_id, pending)


def _refused(outcome: Outcome, exc: Exception) -> OutcomeStatus:
    slug = exc.slug if isinstance(exc, ForemanRefused) else type(exc).__name__
    return OutcomeStatus(task_id=outcome.task_id, status="rejected", problem=slug or "refused")


def _settle(
    rt: Runtime, pending: list[Outcome], statuses: list[OutcomeStatus]
) -> tuple[list[Outcome], list[Outcome]]:
    """Forget acknowledged and rejected outcomes; return (not answered for, answered)."""
    answered = {status.task_id: status for status in statuses}
    left, done = [], []
    for outcome in pending:
        status = answered.get(outcome.task_id)
        if status is None:
            left.append(outcome)
            continue
        if status.status not in ACCEPTED:
            log.warning("outcome dropped: %s", status.problem, extra={"task_id": outcome.task_id})
        done.append(outcome)
        rt.book.forget(outcome.task_id)
    return left, done
