"""Job slots and snapshots (§5.4, §12.4), for foreman (service tokens only)."""

from __future__ import annotations

from typing import Annotated, Any

from contractor.inventory import orm, store
from contractor.inventory.api.foundations import slot_of
from contractor.inventory.deps import Box, Id, Service, SessionDep
from contractor.inventory.schemas.jobs import ReserveAnswer, ReserveRequest, SlotState
from contractor.inventory.settings import Settings
from contractor.servicekit.auth import Principal
from fastapi import APIRouter, Query, Request, Response
from sqlalchemy.ext.asyncio import AsyncSession

router = APIRouter(tags=["jobs"])
KIND = {"foundation": "foundations", "structure": "structures", "dependency": "dependencies"}


async def _slot_event(session: AsyncSession, row: store.cascades.Target, caller: Principal) -> None:
    data: dict[str, Any]
    site: str | None
    if isinstance(row, orm.Foundation):
        data, site = store.foundations.event_data(row, ["job"]), row.site
    elif isinstance(row, orm.Structure):
        zone = (await store.structures.zones(session, [row.site])).get(row.site)
        data, site = store.structures.event_data(row, ["job"], [zone]), row.site
    else:
        data = store.dependencies.event_data(row, ["job"])
        site = await store.state_events.site_of_dependency(session, row)
    kind = store.cascades.kind_of(row)
    await store.events.append(
        session,
        f"{kind}.updated",
        actor=caller.actor(),
        subject=(kind, store.cascades.key_of(row)),
        site=site,
        data=data,
    )


def _add_routes(kind: str, plural: str) -> None:
    @router.put(f"/{plural}/{{key}}/job", status_code=201, name=f"reserve_{kind}")
    async def reserve(
        key: str,
        body: ReserveRequest,
        request: Request,
        session: SessionDep,
        caller: Service,
        box: Box,
        response: Response,
    ) -> ReserveAnswer:
        """Reserve a target for a job (idempotent by job id)."""
        async with session.begin():
            answer, taken = await store.reservations.reserve(
                session, kind, key, job_id=body.job_id, script=body.script, wait=body.wait
            )
            if taken:
                await _slot_event(session, answer.target, caller)
            snapshot = None
            if answer.outcome == "granted":
                settings: Settings = request.app.state.settings
                snapshot = await store.snapshots.build(
                    session, answer.target, settings=settings, box=box
                )
        if answer.repeat:
            response.status_code = 200
        return ReserveAnswer(
            outcome="granted" if answer.outcome == "granted" else "blocked",
            slot=slot_of(answer.target),
            waiting_on=answer.waiting_on,
            script=answer.script,
            snapshot=snapshot,
        )

    @router.get(f"/{plural}/{{key}}/job", name=f"read_{kind}_slot")
    async def read_slot(key: str, session: SessionDep, _: Service) -> SlotState:
        """Show a target's slot and whether its job can start now."""
        target = await store.reservations.load(session, kind, key, lock=False)
        waits: list[dict[str, Any]] = []
        if target.job_kind is not None:
            waits = await store.reservations.waiting_on(session, target, target.job_kind)
        return SlotState(
            slot=slot_of(target),
            can_start=target.job_id is not None and not waits,
            waiting_on=waits,
        )

    @router.delete(f"/{plural}/{{key}}/job", status_code=204, name=f"release_{kind}_slot")
    async def release_slot(
        key: str,
        session: SessionDep,
        caller: Service,
        job_id: Annotated[Id, Query(ge=1)],
    ) -> None:
        """Release a job's slot (idempotent)."""
        async with session.begin():
            released = await store.reservations.release(session, kind, key, job_id)
            if released is not None:
                await _slot_event(session, released, caller)

    @router.get(f"/{plural}/{{key}}/snapshot", name=f"read_{kind}_snapshot")
    async def read_snapshot(
        key: str, request: Request, session: SessionDep, _: Service, box: Box
    ) -> dict[str, Any]:
        """Give the job snapshot of a target (secrets decrypted into `connection`)."""
        target = await store.reservations.load(session, kind, key, lock=False)
        settings: Settings = request.app.state.settings
        return await store.snapshots.build(session, target, settings=settings, box=box)


for _kind, _plural in KIND.items():
    _add_routes(_kind, _plural)
