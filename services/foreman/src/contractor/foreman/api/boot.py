"""Boot relays of ``/agent/v1`` (spec §5.9, §5.10): render, signal, message, discovery, pools."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from contractor.foreman.deps import AgentCaller, Inventory, RuntimeDep, SessionDep
from contractor.foreman.runner import boot, relays
from contractor.foreman.runtime import Runtime
from contractor.servicekit.errors import FieldError, Forbidden, ServiceError
from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

DHCP_RECHECK_S = 2.0


@contextlib.contextmanager
def _counted(rt: Runtime, kind: str) -> Iterator[dict[str, Any]]:
    """Count one boot request by kind and answered status (a refusal's status when it fails).

    The caller may put the status it answered in the yielded dict (a render relays inventory's).
    """
    answered: dict[str, Any] = {}
    status = 500
    try:
        yield answered
        status = int(answered.get("status") or 200)
    except ServiceError as exc:
        status = exc.status
        raise
    finally:
        rt.metrics.boot_requests.labels(kind, str(status)).inc()


router = APIRouter(tags=["agent"])


class SignalBody(BaseModel):
    """``POST /agent/v1/boot/signal`` (``token``, or ``mac`` with ``origin: agent``)."""

    model_config = ConfigDict(extra="ignore")
    token: str | None = Field(None, min_length=1, max_length=40)
    mac: str | None = None
    origin: str | None = None
    status: Literal["complete", "failed"] = "complete"
    message: str | None = None
    client: dict[str, Any] | None = None


class MessageBody(BaseModel):
    """``POST /agent/v1/boot/message``."""

    model_config = ConfigDict(extra="ignore")
    token: str = Field(min_length=1, max_length=40)
    message: str = Field(max_length=1024)


class RenderBody(BaseModel):
    """``POST /agent/v1/boot/render``."""

    model_config = ConfigDict(extra="ignore")
    kind: Literal["boot_script", "config", "pxe_template"]
    selector: dict[str, Any]
    client: dict[str, Any] | None = None
    boot_base: str = ""
    request_url: str = ""


class DiscoveryBody(BaseModel):
    """``POST /agent/v1/boot/discovery``."""

    model_config = ConfigDict(extra="ignore")
    client: dict[str, Any] | None = None
    report: dict[str, Any]


@router.post("/boot/render")
async def render(
    body: RenderBody, session: SessionDep, rt: RuntimeDep, inventory: Inventory, caller: AgentCaller
) -> dict[str, Any]:
    """Relay a booting machine's request for its boot script, config or template."""
    with _counted(rt, body.kind) as answered:
        answer = await relays.render(session, rt, inventory, caller, body.model_dump())
        answered["status"] = answer.get("status")
    return answer


@router.post("/boot/signal")
async def signal(
    body: SignalBody, session: SessionDep, rt: RuntimeDep, inventory: Inventory, caller: AgentCaller
) -> dict[str, Any]:
    """A booted image signals completion (or failure)."""
    with _counted(rt, "signal"):
        token = body.token
        if token is None:
            if not body.mac or body.origin != "agent":
                raise FieldError(["body", "token"], "give token, or mac with origin agent")
            token = await relays.signal_token_by_mac(session, inventory, caller, body.mac)
        async with session.begin():
            return await boot.receive(
                session, rt, caller, token=token, status=body.status, message=body.message
            )


@router.post("/boot/message")
async def message(
    body: MessageBody, session: SessionDep, rt: RuntimeDep, caller: AgentCaller
) -> dict[str, str]:
    """A booted image posts progress."""
    with _counted(rt, "message"):
        async with session.begin():
            return await boot.post_message(
                session, rt, caller, token=body.token, message=body.message
            )


@router.post("/boot/discovery")
async def discovery(
    body: DiscoveryBody, rt: RuntimeDep, inventory: Inventory, caller: AgentCaller
) -> Any:
    """Relay a discovery image's report; inventory's answer comes back unchanged."""
    with _counted(rt, "discovery"):
        report = {**body.report}
        report.setdefault("site", caller.sites[0])
        if report["site"] not in caller.sites:
            site = report["site"]
            raise Forbidden(f"site {site} is outside the token's sites", site=site)
        return await inventory.discovery(report)


@router.get("/dhcp/pools")
async def dhcp_pools(
    inventory: Inventory,
    caller: AgentCaller,
    site: str,
    after_revision: str = "",
    wait_s: Annotated[float, Query(ge=0, le=30)] = 30,
) -> dict[str, Any]:
    """Long-poll the site's DHCP data until its revision differs from ``after_revision``."""
    if site not in caller.sites:
        raise Forbidden(f"site {site} is outside the token's sites", site=site)
    deadline = time.monotonic() + wait_s
    while True:
        data, _ = await inventory.dhcp(site, None)
        if data is not None and str(data.get("revision")) != after_revision:
            return {**data, "changed": True}
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return {"site": site, "revision": after_revision, "changed": False}
        await asyncio.sleep(min(remaining, DHCP_RECHECK_S))
