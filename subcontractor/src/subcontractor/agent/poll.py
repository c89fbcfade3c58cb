"""The poll loop: one long-poll outstanding while some module has a free slot (foreman.md §8.3)."""

from __future__ import annotations

import logging
import time

import anyio

from subcontractor.agent.registration import reregister
from subcontractor.agent.runner import run_task
from subcontractor.agent.runtime import Runtime, wait_or_stop
from subcontractor.retry import classify
from subcontractor.wire import PollAnswer

log = logging.getLogger("subcontractor.agent.poll")


async def run_poll_loop(rt: Runtime) -> None:
    """Poll until the agent stops; re-poll at once after an answer, back off after a failure."""
    failures = 0
    while not rt.stop.is_set():
        if not any(rt.book.capacity().values()):
            with anyio.move_on_after(max(rt.heartbeat_s, 0.01)):
                await rt.book.wait_changed()
            continue
        incarnation = rt.client.identity.incarnation
        try:
            answer = await _poll_once(rt)
        except Exception as exc:
            verdict = classify(exc)
            rt.metrics.foreman_error(verdict.action)
            if verdict.action == "reregister":
                await reregister(rt, incarnation)
                continue
            failures += 1
            log.warning("poll failed (%s): %s", verdict.action, verdict.message)
            if verdict.action == "reauth":
                await wait_or_stop(rt.stop, rt.pacing.reauth_wait_s)
                await reregister(rt, incarnation)
            else:
                await wait_or_stop(rt.stop, rt.pacing.after(failures, exc))
            continue
        failures = 0
        if answer is not None:
            _take(rt, answer)


async def _poll_once(rt: Runtime) -> PollAnswer | None:
    """One poll; ``None`` if it was cut short (stopping, or slots freed meanwhile)."""
    listed, asked = rt.book.running(), rt.book.capacity()
    sent_at = time.monotonic()
    result: list[PollAnswer | Exception] = []
    with anyio.CancelScope() as scope:
        rt.poll_scope = scope
        if rt.stop.is_set():
            scope.cancel()
        async with anyio.create_task_group() as group:
            group.start_soon(_repoll_when_slots_free, rt, asked, scope)
            try:
                result.append(await rt.client.poll(rt.sites, asked, listed, _wait_s(rt)))
            except Exception as exc:
                result.append(exc)
            group.cancel_scope.cancel()
    rt.poll_scope = None
    if not result:
        return None
    if isinstance(result[0], Exception):
        raise result[0]
    rt.book.renewed([task["id"] for task in listed], sent_at)
    rt.metrics.poll_seconds.observe(time.monotonic() - sent_at)
    return result[0]


def _wait_s(rt: Runtime) -> float:
    """The configured long-poll wait, never above foreman's maximum."""
    if rt.registration is None:
        return rt.poll_wait_s
    return min(rt.poll_wait_s, rt.registration.poll_wait_max_s)


async def _repoll_when_slots_free(
    rt: Runtime, asked: dict[str, int], poll: anyio.CancelScope
) -> None:
    """Cut the outstanding poll short when a module it left out gets a free slot.

    Only then can a held poll miss work: for a module it asked for, foreman answers as soon
    as one task is pending. Foreman answers the abandoned poll at once when the next one
    arrives, and delivers anything it had claimed for it again (foreman.md §5.2, §4.3).
    """
    while True:
        await rt.book.wait_changed()
        capacity = rt.book.capacity()
        if any(free > 0 and not asked.get(module) for module, free in capacity.items()):
            poll.cancel()
            return


def _take(rt: Runtime, answer: PollAnswer) -> None:
    assert rt.runners is not None, "the poll loop runs inside the runners' task group"
    for offer in answer.tasks:
        held = rt.book.add(offer)
        if held is not None:  # a task already held is a redelivery: ignore it (§4.3)
            rt.runners.start_soon(run_task, rt, held, name=f"task {offer.id}")
    for task_id in answer.cancel:
        rt.book.cancel(task_id, "foreman")
