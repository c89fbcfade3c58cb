"""Running one task: validate, acknowledge the start if needed, invoke, report (foreman.md §8.4)."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

import anyio
from pydantic import BaseModel

from subcontractor.agent.book import HeldTask
from subcontractor.agent.runtime import Runtime, wait_or_stop
from subcontractor.errors import PluginError
from subcontractor.plugin import Function, TaskContext
from subcontractor.retry import Verdict, classify
from subcontractor.wire import JsonObject, Outcome

log = logging.getLogger("subcontractor.agent.runner")

RELEASE_TRIES = 5
# How a task that produced no outcome ended, as the task_seconds metric labels it.
_ENDINGS = {"shutdown": "released", "stale": "stale", "foreman": "canceled"}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


async def run_task(rt: Runtime, held: HeldTask) -> None:
    """Take one delivered task to an outcome, a release, or (after a 409) silence.

    A bug here must not take the agent down: it is logged and the task forgotten (its lease
    expires and foreman decides).
    """
    try:
        await _run_task(rt, held)
    except Exception:
        log.exception("task runner failed", extra={"task_id": held.id})
        rt.book.forget(held.id)


async def _run_task(rt: Runtime, held: HeldTask) -> None:
    offer = held.offer
    extra = {
        "task_id": offer.id,
        "job_id": offer.job_id,
        "task_module": offer.module,
        "function": offer.function,
        "attempt": offer.attempt,
    }
    if rt.stop.is_set():
        await release(rt, held, started=False)
        return
    try:
        function = rt.function(offer.module, offer.function)
        resolved = await rt.credentials.resolve_tree(offer.parameters)
        params = function.params.model_validate(resolved)
    except Exception as exc:
        log.warning("task refused: %s", classify(exc).message, extra=extra)
        await finish(rt, held, _error(rt, held, classify(exc), None, exc))
        return
    started_at, clock = _now(), time.monotonic()
    outcome: Outcome | None = None
    with held.scope:
        if offer.needs_start_ack and not await acknowledge_start(rt, held):
            if held.cancel_reason != "shutdown":
                return  # refused: foreman re-offers or fails it; we report nothing
        else:
            rt.book.set_phase(held, "started")
            outcome = await _execute(rt, held, function, params, started_at)
    await _settle(rt, held, outcome, started_at)
    ended = outcome.outcome if outcome else _ENDINGS.get(held.cancel_reason, "canceled")
    rt.metrics.task_done(offer.module, offer.function, ended, time.monotonic() - clock)


async def _settle(rt: Runtime, held: HeldTask, outcome: Outcome | None, started_at: str) -> None:
    reason = held.cancel_reason
    if reason == "stale":  # foreman refused our heartbeat: stop and report nothing
        rt.book.forget(held.id)
    elif outcome is not None:  # it completed before the cancel landed: report what happened
        await finish(rt, held, outcome)
    elif reason == "shutdown":
        await release(rt, held, started=held.phase == "started")
    else:
        verdict = Verdict("fail", "canceled", "canceled by foreman")
        await finish(rt, held, _error(rt, held, verdict, started_at))


async def _execute(
    rt: Runtime, held: HeldTask, function: Function[Any], params: BaseModel, started_at: str
) -> Outcome:
    offer = held.offer
    timeout = offer.timeout_s or function.default_timeout_s
    ctx = held.ctx = TaskContext(
        task_id=offer.id,
        attempt=offer.attempt,
        job_id=offer.job_id,
        deadline=time.monotonic() + timeout,
        log=logging.LoggerAdapter(log, {"task_id": offer.id, "task_module": offer.module}),
        http=rt.client.http,
        state_dir=rt.plugin_dir(offer.module),
        credentials=rt.credentials,
    )
    try:
        with anyio.fail_after(timeout):
            data = await _invoke(rt, function, params, ctx, offer.module)
    except Exception as exc:
        ctx.cancel()  # a timed-out thread sees ctx.cancelled and may stop early
        return _error(rt, held, classify(exc), started_at, exc)
    if not isinstance(data, dict):
        verdict = Verdict(
            "fail", "internal", f"plugin returned {type(data).__name__}, not an object"
        )
        return _error(rt, held, verdict, started_at)
    data = rt.credentials.scrub_tree(data)  # a resolved secret never leaves the agent
    return Outcome(
        agent_id=rt.client.identity.agent_id,
        task_id=offer.id,
        attempt=offer.attempt,
        outcome="result",
        data=data,
        started_at=started_at,
        finished_at=_now(),
    )


async def _invoke(
    rt: Runtime, function: Function[Any], params: BaseModel, ctx: TaskContext, module: str
) -> JsonObject:
    limiter = rt.limiter(module)
    if function.blocking_handler is not None:
        return await rt.book.threads.run(module, function.blocking_handler, params, ctx, limiter)
    assert function.handler is not None
    async with limiter:
        return await function.handler(params, ctx)


def _error(
    rt: Runtime,
    held: HeldTask,
    verdict: Verdict,
    started_at: str | None,
    exc: BaseException | None = None,
) -> Outcome:
    offer = held.offer
    details: JsonObject | None = None
    if exc is not None:
        details = {"exception": type(exc).__name__}
        if isinstance(exc, PluginError):
            details.update(exc.details)
    return Outcome(
        agent_id=rt.client.identity.agent_id,
        task_id=offer.id,
        attempt=offer.attempt,
        outcome="error",
        message=rt.credentials.scrub(verdict.message),
        retryable=verdict.retryable,
        code=verdict.code,
        details=details,
        started_at=started_at,
        finished_at=_now(),
    )


async def finish(rt: Runtime, held: HeldTask, outcome: Outcome) -> None:
    """Free the slot and queue the outcome for spooling and posting."""
    rt.book.set_phase(held, "finished")
    await rt.outbox_send.send(outcome)


async def acknowledge_start(rt: Runtime, held: HeldTask) -> bool:
    """Send the ``started`` heartbeat; True only after foreman's 200 (foreman.md §4.3)."""
    failures = 0
    while not rt.stop.is_set():
        try:
            await rt.client.heartbeat(held.id, held.offer.attempt, "started")
            return True
        except Exception as exc:
            verdict = classify(exc)
            rt.metrics.foreman_error(verdict.action)
            if not verdict.retryable:  # 409 or worse: MUST NOT run; foreman re-offers or fails it
                log.warning("start refused: %s", verdict.message, extra={"task_id": held.id})
                rt.book.forget(held.id)
                return False
            failures += 1
            await wait_or_stop(rt.stop, rt.pacing.after(failures, exc))
    held.cancel_reason = "shutdown"
    return False


async def release(rt: Runtime, held: HeldTask, *, started: bool) -> None:
    """Hand a task back (shutdown), trying a few times; foreman reconciles if this fails."""
    for failures in range(1, RELEASE_TRIES + 1):
        try:
            with anyio.CancelScope(shield=True):
                await rt.client.release(
                    held.id, held.offer.attempt, started=started, reason="shutdown"
                )
            break
        except Exception as exc:
            verdict = classify(exc)
            if not verdict.retryable:
                break
            with anyio.CancelScope(shield=True):
                await anyio.sleep(rt.pacing.after(failures, exc))
    log.info("task released", extra={"task_id": held.id, "attempt": held.offer.attempt})
    rt.book.forget(held.id)
