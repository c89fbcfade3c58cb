"""The agent protocol ``/agent/v1`` (spec §5): register, poll, heartbeat, outcomes, release."""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from contractor.foreman import orm
from contractor.foreman.deps import AgentCaller, Inventory, RuntimeDep, SessionDep
from contractor.foreman.errors import AgentProblem
from contractor.foreman.runner import dispatch, leases, outcomes, relays, settle
from contractor.foreman.runtime import Runtime
from contractor.foreman.schemas.agent import (
    DeregisterBody,
    ErrorBody,
    EventsBody,
    HeartbeatAnswer,
    HeartbeatBody,
    OutcomeItem,
    PollAnswer,
    PollBody,
    RegisterBody,
    Registration,
    ReleaseBody,
    ResultBody,
    ResultsBody,
)
from contractor.foreman.store import agents, events
from contractor.servicekit.auth import Principal
from contractor.servicekit.errors import Forbidden
from fastapi import APIRouter
from sqlalchemy.ext.asyncio import AsyncSession

logger = logging.getLogger(__name__)
router = APIRouter(tags=["agent"])
MAX_DATA = 1 << 20


def _check_sites(principal: Principal, sites: list[str]) -> None:
    for site in sites:
        if site not in principal.sites:
            raise Forbidden(f"site {site} is outside the token's sites", site=site)


async def _agent(
    session: AsyncSession, principal: Principal, agent_id: str, incarnation: str | None
) -> orm.Agent:
    agent = await agents.get(session, agent_id)
    if agent is None or agent.token_id != principal.token_id:
        raise AgentProblem(409, "reregister", f"agent {agent_id} is not registered")
    if incarnation is not None and agent.incarnation != incarnation:
        raise AgentProblem(409, "reregister", f"incarnation {incarnation} is not current")
    if agent.disabled:
        raise AgentProblem(403, "agent-disabled", f"agent {agent.name} is disabled")
    return agent


@router.post("/register")
async def register(
    body: RegisterBody, session: SessionDep, rt: RuntimeDep, caller: AgentCaller
) -> Registration:
    """Register an agent; a new incarnation reconciles the previous one."""
    _check_sites(caller, body.sites)
    s = rt.settings
    async with session.begin():
        now = rt.clock.now()
        boot = next((m.service.get("boot_base") for m in body.modules.values() if m.service), None)
        agent, old = await agents.upsert(
            session,
            token_id=caller.token_id,
            token_name=caller.name,
            body=body.model_dump(),
            boot_base=boot,
            now=now,
        )
        if old is not None:
            await leases.drop_holder(session, agent.id, old, rt, now)
        await events.append(
            session,
            "agent.status_changed",
            subject=("agent", agent.id),
            data={"id": agent.id, "name": agent.name, "status": "online"},
            actor=f"agent:{agent.name}",
        )
    return Registration(
        agent_id=agent.id,
        incarnation=agent.incarnation,
        lease_s=s.lease_s,
        heartbeat_s=s.heartbeat_s,
        start_ack_timeout_s=s.start_ack_s,
        poll_wait_max_s=s.poll_wait_max_s,
        server_time=outcomes.offer_time(now),
    )


@router.post("/poll")
async def poll(
    body: PollBody, session: SessionDep, rt: RuntimeDep, caller: AgentCaller
) -> PollAnswer:
    """Long-poll for tasks: answered as soon as one is claimed, else empty at ``wait_s``."""
    _check_sites(caller, body.sites)
    deadline = time.monotonic() + body.wait_s
    seq = rt.polls[body.agent_id] = rt.polls.get(body.agent_id, 0) + 1
    rt.tasks.notify()  # an earlier poll of this agent answers at once
    async with session.begin():
        received = rt.clock.now()
        agent = await _agent(session, caller, body.agent_id, body.incarnation)
        agents.seen(agent, received)
        work = await dispatch.reconcile(session, rt, agent, body, received)
        claimed = await dispatch.claim(session, rt, agent, body, redelivered=work.offers)
        answer = _answer(rt, [*work.offers, *claimed], work.cancel)
    while not answer.tasks and not answer.cancel:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or rt.polls.get(body.agent_id) != seq:
            break
        rt.metrics.polls_waiting.inc()
        try:
            await rt.tasks.wait(min(remaining, rt.settings.poll_recheck_s))
        finally:
            rt.metrics.polls_waiting.dec()
        if rt.polls.get(body.agent_id) != seq:
            break
        async with session.begin():
            # The agent row was checked when the poll came in; a newer registration or poll
            # of this agent ends this one through ``rt.polls`` (checked above).
            claimed = await dispatch.claim(session, rt, agent, body, redelivered=[])
            answer = _answer(rt, claimed, [])
    return answer


def _answer(rt: Runtime, offered: list[orm.Task], cancel: list[str]) -> PollAnswer:
    return PollAnswer(
        tasks=[dispatch.offer(t, rt.open) for t in offered],
        cancel=cancel,
        server_time=outcomes.offer_time(rt.clock.now()),
    )


@router.post("/tasks/{task_id}/heartbeat")
async def heartbeat(
    task_id: str, body: HeartbeatBody, session: SessionDep, rt: RuntimeDep, caller: AgentCaller
) -> HeartbeatAnswer:
    """Renew a lease; ``phase=started`` acknowledges the start."""
    async with session.begin():
        agent = await _agent(session, caller, body.agent_id, body.incarnation)
        agents.seen(agent, rt.clock.now())
        message = body.progress.message if body.progress else None
        answer = await outcomes.heartbeat(
            session,
            rt,
            task_id,
            agent=agent,
            attempt=body.attempt,
            phase=body.phase,
            message=message,
        )
    return HeartbeatAnswer.model_validate(answer)


async def _outcome(
    session: AsyncSession,
    rt: Runtime,
    caller: Principal,
    agent_id: str,
    task_id: str,
    attempt: int,
    **outcome: Any,
) -> dict[str, Any]:
    data = outcome.get("result")
    if data is not None and len(json.dumps(data)) > MAX_DATA:
        raise AgentProblem(413, "payload-too-large", "result data exceeds 1 MiB")
    async with session.begin():
        agent = await _agent(session, caller, agent_id, None)
        agents.seen(agent, rt.clock.now())
        return await outcomes.record(
            session, rt, task_id, agent_id=agent_id, attempt=attempt, **outcome
        )


@router.post("/tasks/{task_id}/result")
async def result(
    task_id: str, body: ResultBody, session: SessionDep, rt: RuntimeDep, caller: AgentCaller
) -> dict[str, Any]:
    """Record a task's result (once per attempt)."""
    return await _outcome(
        session, rt, caller, body.agent_id, task_id, body.attempt, result=body.data
    )


@router.post("/tasks/{task_id}/error")
async def error(
    task_id: str, body: ErrorBody, session: SessionDep, rt: RuntimeDep, caller: AgentCaller
) -> dict[str, Any]:
    """Record a task's error (once per attempt); retryable errors may be re-offered."""
    failure = body.model_dump(include={"message", "retryable", "code", "details"})
    return await _outcome(session, rt, caller, body.agent_id, task_id, body.attempt, error=failure)


@router.post("/results")
async def results(
    body: ResultsBody, session: SessionDep, rt: RuntimeDep, caller: AgentCaller
) -> dict[str, Any]:
    """Several outcomes in one transaction, each settled on its own, answers in request order.

    An item that is refused changes nothing (its checks come before any write), so one
    transaction serves the whole batch. Items are settled in task-id order (stable, so the
    request order of one task's items is kept), which gives concurrent batches one lock order.
    """
    answers: dict[int, dict[str, Any]] = {}
    order = sorted(range(len(body.items)), key=lambda i: body.items[i].task_id)
    async with session.begin():
        try:
            agent = await _agent(session, caller, body.agent_id, None)
        except AgentProblem as exc:
            return {"items": [_rejected(item.task_id, exc) for item in body.items]}
        agents.seen(agent, rt.clock.now())
        await settle.lock_many(session, sorted({item.task_id for item in body.items}))
        for index in order:
            item = body.items[index]
            try:
                answer = await _settle_item(session, rt, body.agent_id, item)
                answers[index] = {"task_id": item.task_id, **answer}
            except AgentProblem as exc:
                answers[index] = _rejected(item.task_id, exc)
    return {"items": [answers[i] for i in range(len(body.items))]}


def _rejected(task_id: str, exc: AgentProblem) -> dict[str, Any]:
    """A ``/results`` item answer for a refused outcome (its problem's slug), logged."""
    slug = getattr(exc, "slug_override", exc.type_slug)
    logger.info("refused outcome of task %s: %s", task_id, slug, extra={"task_id": task_id})
    return {"task_id": task_id, "status": "rejected", "problem": slug}


async def _settle_item(
    session: AsyncSession, rt: Runtime, agent_id: str, item: OutcomeItem
) -> dict[str, Any]:
    if item.outcome == "error":
        failure = item.model_dump(include={"message", "retryable", "code", "details"})
        return await outcomes.record(
            session, rt, item.task_id, agent_id=agent_id, attempt=item.attempt, error=failure
        )
    data = item.data or {}
    if len(json.dumps(data)) > MAX_DATA:
        raise AgentProblem(413, "payload-too-large", "result data exceeds 1 MiB")
    return await outcomes.record(
        session, rt, item.task_id, agent_id=agent_id, attempt=item.attempt, result=data
    )


@router.post("/tasks/{task_id}/release")
async def release(
    task_id: str, body: ReleaseBody, session: SessionDep, rt: RuntimeDep, caller: AgentCaller
) -> dict[str, Any]:
    """Hand a task back: re-offered, or lost when it was running and is not idempotent."""
    async with session.begin():
        await _agent(session, caller, body.agent_id, None)
        return await outcomes.release(
            session,
            rt,
            task_id,
            agent_id=body.agent_id,
            attempt=body.attempt,
            started=body.started,
        )


@router.post("/deregister")
async def deregister(
    body: DeregisterBody, session: SessionDep, rt: RuntimeDep, caller: AgentCaller
) -> dict[str, str]:
    """Go offline; tasks still leased to the incarnation are reconciled at once."""
    async with session.begin():
        agent = await _agent(session, caller, body.agent_id, body.incarnation)
        now = rt.clock.now()
        agent.offline = True
        agent.status = "offline"
        agent.last_seen = now
        await leases.drop_holder(session, agent.id, agent.incarnation, rt, now)
        await events.append(
            session,
            "agent.status_changed",
            subject=("agent", agent.id),
            data={"id": agent.id, "name": agent.name, "status": "offline"},
            actor=f"agent:{agent.name}",
        )
    return {"status": "offline"}


@router.post("/events", status_code=202)
async def agent_events(
    body: EventsBody,
    session: SessionDep,
    rt: RuntimeDep,
    inventory: Inventory,
    caller: AgentCaller,
) -> dict[str, int]:
    """Boot-path observations: a DHCP ACK marks the timeline of its target's active job."""
    async with session.begin():
        agent = await _agent(session, caller, body.agent_id, None)
        agents.seen(agent, rt.clock.now())
    await relays.boot_events(session, rt, inventory, caller, body.events)
    return {"accepted": len(body.events)}
