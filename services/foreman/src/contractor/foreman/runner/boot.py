"""Boot relays that touch jobs: completion signals and image messages (spec §5.10, §6.7)."""

from __future__ import annotations

from typing import Any

from contractor.foreman.clock import rfc3339
from contractor.foreman.errors import AgentProblem
from contractor.foreman.runtime import Runtime
from contractor.foreman.states import JobState
from contractor.foreman.store import jobs, signals, timeline
from contractor.servicekit.auth import Principal
from sqlalchemy.ext.asyncio import AsyncSession


async def _locked(session: AsyncSession, token: str, caller: Principal) -> Any:
    peek = await signals.by_token(session, token)
    if peek is None:
        raise AgentProblem(404, "unknown-signal", "no such signal")
    job = await jobs.get_locked(session, peek.job_id)
    if job.site not in caller.sites:
        raise AgentProblem(404, "unknown-signal", "no such signal")
    signal = await signals.by_token(session, token)
    assert signal is not None
    return job, signal


async def receive(
    session: AsyncSession,
    rt: Runtime,
    caller: Principal,
    *,
    token: str,
    status: str,
    message: str | None,
) -> dict[str, Any]:
    """Record a completion signal once and wake the job waiting for it."""
    job, signal = await _locked(session, token, caller)
    if signal.state == "revoked":
        raise AgentProblem(409, "signal-revoked", "signal re-armed by signaling.reset")
    if signal.state == "received":
        return {"result": "already received", "job_id": job.id}
    now = rt.clock.now()
    signal.state, signal.status, signal.received_at = "received", status, now
    signal.message = message[:1024] if message else None
    detail = {"pxe_name": signal.pxe_name, "status": status}
    timeline.mark(session, job.id, now, "signal.received", detail)
    await timeline.observe_phases(
        session, job.id, timeline.Mark(now, "signal.received", detail), rt.observe_phase
    )
    if job.state == JobState.WAITING_SIGNAL.value:
        await jobs.transition(session, job, "wake", actor="system:signals", now=now)
        job.runnable_at = now
        await rt.announce(session, rt.jobs)
    return {"result": "received", "job_id": job.id, "pxe_name": signal.pxe_name}


async def post_message(
    session: AsyncSession, rt: Runtime, caller: Principal, *, token: str, message: str
) -> dict[str, str]:
    """An image's progress message: the job message and a timeline mark."""
    job, signal = await _locked(session, token, caller)
    if signal.state == "revoked":
        raise AgentProblem(409, "signal-revoked", "signal re-armed by signaling.reset")
    now = rt.clock.now()
    job.message = message[:1024]
    timeline.mark(session, job.id, now, "boot.message", {"message": message[:200]})
    return {"result": "posted", "at": rfc3339(now) or ""}
