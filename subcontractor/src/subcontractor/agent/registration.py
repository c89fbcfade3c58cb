"""Registering with foreman, at start and whenever foreman asks for it (409 ``reregister``)."""

from __future__ import annotations

import logging

from subcontractor.agent.runtime import Runtime, wait_or_stop
from subcontractor.retry import classify

log = logging.getLogger("subcontractor.agent.registration")


async def register_until_ok(rt: Runtime) -> bool:
    """Register, backing off after failures, until it works or the agent stops.

    Returns:
        True once registered; False if asked to stop first.
    """
    failures = 0
    while not rt.stop.is_set():
        try:
            rt.registration = await rt.client.register(rt.name, rt.sites, rt.declarations())
        except Exception as exc:
            verdict = classify(exc)
            rt.metrics.foreman_error(verdict.action)
            failures += 1
            if verdict.action == "reauth":
                log.error("foreman refused the agent token; retrying later: %s", verdict.message)
                await wait_or_stop(rt.stop, rt.pacing.reauth_wait_s)
            else:
                # Any other refusal is logged and retried too: network trouble never ends the agent.
                log.warning("register failed (%s): %s", verdict.action, verdict.message)
                await wait_or_stop(rt.stop, rt.pacing.after(failures, exc))
            continue
        log.info(
            "registered",
            extra={"agent": rt.client.identity.agent_id},
        )
        return True
    return False


async def reregister(rt: Runtime, seen_incarnation: str) -> None:
    """Register again unless another loop already did since ``seen_incarnation`` was refused."""
    async with rt.register_lock:
        if rt.client.identity.incarnation != seen_incarnation:
            return
        log.warning("foreman asked this agent to register again")
        await register_until_ok(rt)
