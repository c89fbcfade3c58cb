"""Boot relays through foreman to inventory (spec §5.9, §5.10, §7.4).

Foreman adds what only it knows — the armed signal of the target's active job, the job's
unacknowledged writes — and calls inventory with its service token. Only targets in the
agent's sites are answered.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Final

from contractor.foreman import orm
from contractor.foreman.errors import AgentProblem
from contractor.foreman.inventory import InventoryClient
from contractor.foreman.runtime import Runtime
from contractor.foreman.store import jobs, signals, timeline
from contractor.servicekit.auth import Principal
from sqlalchemy.ext.asyncio import AsyncSession

SELECTOR_KINDS: Final = {"structure": "structure", "foundation": "foundation"}


async def locate(
    inventory: InventoryClient, caller: Principal, selector: dict[str, Any]
) -> tuple[str, dict[str, str] | None]:
    """The site to render in and the target a selector names (None: inventory decides)."""
    for kind, target_kind in SELECTOR_KINDS.items():
        if selector.get(kind) is not None:
            return caller.sites[0], {"kind": target_kind, "key": str(selector[kind])}
    if selector.get("mac") or selector.get("ip"):
        for site in caller.sites:
            found = await inventory.resolve(site, mac=selector.get("mac"), ip=selector.get("ip"))
            if found is not None:
                return site, dict(found["target"])
        raise AgentProblem(404, "not-found", "no target in the agent's sites matches")
    return caller.sites[0], None


async def active_job(session: AsyncSession, target: dict[str, str] | None) -> orm.Job | None:
    """The active job of a target, if any."""
    if target is None:
        return None
    return await jobs.active_for_target(session, target["kind"], target["key"])


async def signal_url(session: AsyncSession, job: orm.Job | None, boot_base: str) -> str:
    """``<boot_base>/boot/v1/signal/<token>`` of the job's armed signal, or ``""``."""
    if job is None:
        return ""
    signal = await signals.current(session, job.id)
    if signal is None or signal.state != "armed":
        return ""
    return f"{boot_base.rstrip('/')}/boot/v1/signal/{signal.token}"


def variables(body: dict[str, Any], signal: str) -> dict[str, Any]:
    """The render variables foreman adds (spec §7.4)."""
    client = body.get("client") or {}
    arch = client.get("arch")
    return {
        "__contractor_host": body.get("boot_base") or "",
        "__boot_base": body.get("boot_base") or "",
        "__request_url": body.get("request_url") or "",
        "__signal_url": signal,
        "__client_arch": arch,
        "__client_platform": "pcbios" if arch in (None, 0) else "efi",
    }


async def render(
    session: AsyncSession,
    rt: Runtime,
    inventory: InventoryClient,
    caller: Principal,
    body: dict[str, Any],
) -> dict[str, Any]:
    """Relay a boot render; mark the job's timeline."""
    selector = dict(body.get("selector") or {})
    site, target = await locate(inventory, caller, selector)
    async with session.begin():  # ended before the HTTP call: no lock is held across it
        job = await active_job(session, target)
        url = await signal_url(session, job, body.get("boot_base") or "")
    request = {
        "kind": body["kind"],
        "site": site,
        "selector": selector,
        "variables": variables(body, url),
        "overlay": list(job.overlay or []) if job is not None else [],
    }
    answer = await inventory.render(request)
    if job is not None:
        async with session.begin():
            mark = "boot.script" if body["kind"] == "boot_script" else "boot.fetch"
            detail = {"pxe": answer.get("pxe"), "kind": body["kind"]}
            now = rt.clock.now()
            timeline.mark(session, job.id, now, mark, detail)
            new = timeline.Mark(now, mark, detail)
            await timeline.observe_phases(session, job.id, new, rt.observe_phase)
    return {**answer, "job_id": job.id if job is not None else None}


async def signal_token_by_mac(
    session: AsyncSession, inventory: InventoryClient, caller: Principal, mac: str
) -> str:
    """The armed signal token of the active job of the target owning ``mac``."""
    _, target = await locate(inventory, caller, {"mac": mac})
    async with session.begin():
        job = await active_job(session, target)
        signal = await signals.current(session, job.id) if job is not None else None
    if signal is None:
        raise AgentProblem(404, "unknown-signal", f"no armed signal for {mac}")
    return signal.token


async def boot_events(
    session: AsyncSession,
    rt: Runtime,
    inventory: InventoryClient,
    caller: Principal,
    events: list[dict[str, Any]],
) -> int:
    """Mark ``dhcp.ack`` observations on the timelines of the jobs whose targets own the MACs.

    Each MAC is resolved once per batch, in the event's site (one of the agent's); an ACK for
    a MAC no target owns, or whose target has no active job, marks nothing. Returns how many
    marks were made. The other kinds (offers, TFTP, HTTP files) are accepted and not kept.
    """
    targets: dict[tuple[str, str], dict[str, str] | None] = {}
    acks: list[tuple[dict[str, str], datetime, dict[str, Any]]] = []
    for event in events:
        mac, site = event.get("mac"), event.get("site") or caller.sites[0]
        if event.get("kind") != "dhcp.ack" or not isinstance(mac, str) or site not in caller.sites:
            continue
        key = (str(site), mac.lower())
        if key not in targets:
            found = await inventory.resolve(key[0], mac=key[1])
            targets[key] = dict(found["target"]) if found is not None else None
        target = targets[key]
        if target is not None:
            acks.append(
                (target, _event_time(event.get("at"), rt), {"mac": key[1], "ip": event.get("ip")})
            )
    if not acks:
        return 0  # no transaction for a batch that marks nothing (most events are not ACKs)
    marked = 0
    async with session.begin():
        for target, at, detail in acks:
            job = await active_job(session, target)
            if job is not None:
                timeline.mark(session, job.id, at, "dhcp.ack", detail)
                new = timeline.Mark(at, "dhcp.ack", detail)
                await timeline.observe_phases(session, job.id, new, rt.observe_phase)
                marked += 1
    return marked


def _event_time(value: Any, rt: Runtime) -> datetime:
    """An event's ``at`` (RFC 3339, UTC if it names no zone), or now when missing or bad."""
    if isinstance(value, str):
        try:
            at = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return rt.clock.now()
        return at if at.tzinfo is not None else at.replace(tzinfo=UTC)
    return rt.clock.now()
