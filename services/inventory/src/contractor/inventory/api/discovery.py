"""Discovery routes (§8, §12.2): reports from agents, records and operator actions."""

from __future__ import annotations

from typing import Annotated

from contractor.inventory import orm, store
from contractor.inventory.deps import AgentOrService, Box, IfMatch, Operator, Reader, SessionDep
from contractor.inventory.errors import ResourceNotFound, invalid
from contractor.inventory.schemas.discovery import (
    AssignBody,
    DiscoveryAnswer,
    DiscoveryRead,
    EnrollBody,
    FoundationHardwareRead,
    HardwareReport,
    Status,
)
from contractor.servicekit.pagination import Limit, Page
from fastapi import APIRouter, Query, Response

router = APIRouter(tags=["discovery"])


def answer(record: orm.DiscoveryRecord) -> DiscoveryAnswer:
    """What the discovery image does next: power off once located, else post again later."""
    return DiscoveryAnswer.model_validate(
        {
            "identifier": record.identifier,
            "status": record.status,
            "locator": record.locator,
            "matched_by": record.matched_by,
            "messages": list(record.messages),
            "next": "poweroff" if record.status == "located" else "wait",
            "retry_after_s": store.discovery.RETRY_AFTER_S,
        }
    )


@router.post("/discovery/reports")
async def post_report(
    body: HardwareReport, session: SessionDep, caller: AgentOrService, box: Box
) -> DiscoveryAnswer:
    """Record a hardware report, match or enrol it, and say what the image does next."""
    content = body.content()
    identifier = store.discovery.identifier_of(content["hardware"])
    if body.identifier is not None and body.identifier != identifier:
        raise invalid(["body", "identifier"], f"identifier differs from the computed {identifier}")
    async with session.begin():
        await store.boot.check_scope(session, caller, body.site)
        if await session.get(orm.Site, body.site) is None:
            raise invalid(["body", "site"], f"site {body.site} does not exist")
        record = await store.discovery.receive(session, identifier, content, box, caller.actor())
    return answer(record)


@router.get("/discovery")
async def list_records(
    session: SessionDep,
    _: Reader,
    site: str | None = None,
    site_tree: bool = False,
    status: Status | None = None,
    limit: Annotated[Limit, Query()] = 50,
    cursor: str | None = None,
) -> Page[DiscoveryRead]:
    """List discovery records by identifier."""
    sites = None
    if site is not None:
        sites = await store.sites.descendants(session, site) if site_tree else [site]
    stmt = store.discovery.filtered(sites=sites, status=status)
    rows, next_cursor = await store.discovery.list_page(session, stmt, limit=limit, cursor=cursor)
    return Page(items=[DiscoveryRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.get("/discovery/{identifier}")
async def read_record(
    identifier: str, session: SessionDep, _: Reader, response: Response
) -> DiscoveryRead:
    """Read one discovery record."""
    record = await store.discovery.get(session, identifier)
    response.headers["ETag"] = f'"{record.version}"'
    return DiscoveryRead.model_validate(record)


@router.delete("/discovery/{identifier}", status_code=204)
async def delete_record(
    identifier: str, session: SessionDep, _: Operator, expected: IfMatch
) -> None:
    """Forget a discovery record."""
    async with session.begin():
        record = await store.discovery.get(session, identifier, lock=True)
        await store.discovery.delete(session, record, expected)


@router.post("/discovery/{identifier}/assign")
async def assign_record(
    identifier: str,
    body: AssignBody,
    session: SessionDep,
    caller: Operator,
    box: Box,
    response: Response,
) -> DiscoveryRead:
    """Attach the report to a planned foundation; its hardware rules still run."""
    async with session.begin():
        record = await store.discovery.get(session, identifier, lock=True)
        record = await store.discovery.assign(session, record, body.locator, box, caller.actor())
    response.headers["ETag"] = f'"{record.version}"'
    return DiscoveryRead.model_validate(record)


@router.post("/discovery/{identifier}/enroll")
async def enroll_record(
    identifier: str,
    body: EnrollBody,
    session: SessionDep,
    caller: Operator,
    box: Box,
    response: Response,
) -> DiscoveryRead:
    """Create a located foundation from the report on a named blueprint."""
    async with session.begin():
        record = await store.discovery.get(session, identifier, lock=True)
        values = body.model_dump(include=body.model_fields_set | {"blueprint"})
        record = await store.discovery.enroll(session, record, values, box, caller.actor())
    if record.status == "located" and record.locator is not None:
        response.headers["Location"] = f"/api/v1/foundations/{record.locator}"
    response.headers["ETag"] = f'"{record.version}"'
    return DiscoveryRead.model_validate(record)


@router.get("/foundations/{locator}/hardware")
async def read_hardware(locator: str, session: SessionDep, _: Reader) -> FoundationHardwareRead:
    """The accepted hardware report of a foundation, in full."""
    await store.foundations.get(session, locator)
    row = await store.discovery.accepted(session, locator)
    if row is None:
        raise ResourceNotFound("hardware of foundation", locator)
    return FoundationHardwareRead.model_validate(
        {**store.discovery.hardware_summary(row), "locator": locator, "report": row.report}
    )
