"""The heartbeat loop: keep the leases of running tasks (foreman.md §5.3, §8.4 step 4)."""

from __future__ import annotations

import logging
import time

import anyio

from subcontractor.agent.book import HeldTask
from subcontractor.agent.registration import reregister
from subcontractor.agent.runtime import Runtime
from subcontractor.retry import classify
from subcontractor.wire import Progress

log = logging.getLogger("subcontractor.agent.heartbeat")


async def run_heartbeat_loop(rt: Runtime) -> None:
    """Every ``heartbeat_s``, renew each running task a poll has not renewed meanwhile.

    Runs until cancelled: it must outlive the poll loop, so tasks finishing in the shutdown
    grace keep their leases.
    """
    while True:
        interval = rt.heartbeat_s
        await anyio.sleep(interval)
        now = time.monotonic()
        for held in list(rt.book.held.values()):
            if held.phase != "started" or held.cancel_reason:
                continue
            progress = held.ctx.take_progress() if held.ctx else None
            if now - held.last_renewed < interval and not progress:
                continue
            await _beat(rt, held, progress)


async def _beat(rt: Runtime, held: HeldTask, progress: Progress | None) -> None:
    incarnation = rt.client.identity.incarnation
    try:
        answer = await rt.client.heartbeat(held.id, held.offer.attempt, "running", progress)
    except Exception as exc:
        verdict = classify(exc)
        rt.metrics.foreman_error(verdict.action)
        if verdict.action == "drop":  # stale attempt, canceled or unknown: stop, report nothing
            log.warning(
                "lease refused, stopping task: %s", verdict.message, extra={"task_id": held.id}
            )
            rt.book.cancel(held.id, "stale")
        elif verdict.action == "reregister":
            await reregister(rt, incarnation)
        else:  # the next tick tries again; the lease has slack for a missed beat
            log.warning("heartbeat failed (%s): %s", verdict.action, verdict.message)
        return
    held.last_renewed = time.monotonic()
    if answer.cancel:
        rt.book.cancel(held.id, "foreman")
