"""The public job API (spec §11): create, read, act, clear, log, tasks, state."""

from __future__ import annotations

from typing import Annotated, Final

from contractor.foreman import orm, views
from contractor.foreman.auth import actor
from contractor.foreman.clock import rfc3339
from contractor.foreman.deps import Inventory, Operator, Reader, RuntimeDep, SessionDep
from contractor.foreman.redaction import redact
from contractor.foreman.runner import actions, admission, cleanup, interp
from contractor.foreman.schemas.jobs import (
    ActionBody,
    JobCreate,
    JobLogRead,
    JobRead,
    JobStateRead,
    TaskList,
    TimelineRead,
)
from contractor.foreman.store import jobs, log, programs, tasks, timeline
from contractor.servicekit.errors import NotFound
from contractor.servicekit.pagination import Limit, Page, decode_cursor, paginate
from fastapi import APIRouter, Body, Query, Response
from sqlalchemy.ext.asyncio import AsyncSession
from tscript.codec import to_json

router = APIRouter(prefix="/jobs", tags=["jobs"])
ACTIONS: Final = {
    "pause": actions.pause,
    "resume": actions.resume,
    "reset": actions.reset,
    "rollback": actions.rollback,
    "cancel": actions.cancel,
}


async def job_json(session: AsyncSession, row: orm.Job) -> JobRead:
    """The job JSON, with ``release_pending`` looked up."""
    return views.job(row, release_pending=await cleanup.release_pending(session, row))


@router.post("", status_code=201)
async def create_job(
    body: JobCreate,
    session: SessionDep,
    inventory: Inventory,
    rt: RuntimeDep,
    caller: Operator,
    response: Response,
) -> JobRead:
    """Create a job on a target (reserves it at inventory)."""
    async with session.begin():
        job = await admission.create(
            session,
            inventory,
            rt,
            kind=body.target.kind,
            key=body.target.key,
            script=body.script,
            wait=body.wait_for_prerequisites,
            actor=actor(caller),
        )
        answer = await job_json(session, job)
    response.headers["Location"] = f"/api/v1/jobs/{job.id}"
    return answer


@router.get("")
async def list_jobs(
    session: SessionDep,
    _: Reader,
    state: str | None = None,
    site: str | None = None,
    target_kind: str | None = None,
    target: str | None = None,
    script: str | None = None,
    cursor: str | None = None,
    limit: Annotated[Limit, Query()] = 50,
) -> Page[JobRead]:
    """List jobs, newest first."""
    before = int(decode_cursor(cursor)) if cursor else None
    query = jobs.JobFilter(state, site, target_kind, target, script)
    rows = await jobs.page(session, query, before=before, limit=limit)
    items, next_cursor = paginate(rows, limit, lambda r: r.id)
    return Page[JobRead](items=[await job_json(session, r) for r in items], next_cursor=next_cursor)


@router.get("/{job_id}")
async def read_job(job_id: int, session: SessionDep, _: Reader) -> JobRead:
    """Read one job."""
    return await job_json(session, await jobs.get(session, job_id))


@router.post("/{job_id}/{action}")
async def act_on_job(
    job_id: int,
    action: str,
    session: SessionDep,
    rt: RuntimeDep,
    caller: Operator,
    body: Annotated[ActionBody | None, Body()] = None,
) -> JobRead:
    """Pause, resume, reset, roll back or cancel a job."""
    run = ACTIONS.get(action)
    if run is None:
        raise NotFound(f"no job action {action!r}")
    async with session.begin():
        job = await jobs.get_locked(session, job_id)
        await run(session, job, rt, actor(caller), body.message if body else None)
        return await job_json(session, job)


@router.delete("/{job_id}", status_code=204)
async def clear_job(job_id: int, session: SessionDep, rt: RuntimeDep, caller: Operator) -> None:
    """Clear (delete) a terminal job; its log remains."""
    async with session.begin():
        job = await jobs.get_locked(session, job_id)
        await actions.clear(session, job, rt, actor(caller))


@router.get("/{job_id}/log")
async def read_log(job_id: int, session: SessionDep, _: Reader) -> JobLogRead:
    """The job's history (kept after clear)."""
    rows = await log.for_job(session, job_id)
    if not rows:
        await jobs.get(session, job_id)
    return JobLogRead(job_id=job_id, items=[views.log_entry(r) for r in rows])


@router.get("/{job_id}/tasks")
async def read_tasks(job_id: int, session: SessionDep, _: Reader) -> TaskList:
    """The job's tasks (parameters redacted)."""
    await jobs.get(session, job_id)
    return TaskList(items=[views.task(t) for t in await tasks.for_job(session, job_id)])


@router.get("/{job_id}/timeline")
async def read_timeline(job_id: int, session: SessionDep, _: Reader) -> TimelineRead:
    """The job's timeline marks, boot cycles with their phases, and scopes."""
    await jobs.get(session, job_id)
    found = await timeline.for_job(session, job_id)
    scopes = [{**s, "started_at": rfc3339(s["started_at"])} for s in timeline.scopes(found)]
    return TimelineRead(
        job_id=job_id,
        marks=[views.mark(m) for m in found],
        cycles=timeline.cycles(found),
        scopes=scopes,
    )


@router.get("/{job_id}/state")
async def read_state(job_id: int, session: SessionDep, rt: RuntimeDep, _: Reader) -> JobStateRead:
    """The interpreter view: script, line, variables (redacted), call."""
    job = await jobs.get(session, job_id)
    if job.program_id is None:
        return JobStateRead(
            job_id=job.id,
            program=None,
            script=None,
            line=None,
            status=None,
            variables={},
            call=None,
        )
    source = await programs.source(session, job.program_id)
    machine = await interp.load(session, job, rt.clock, rt.settings.step_limit)
    request = machine.pending_request()
    return JobStateRead(
        job_id=job.id,
        program=job.program_id,
        script=source,
        line=machine.position[0] if machine.position else None,
        status=machine.status,
        variables=redact({k: to_json(v) for k, v in machine.vars.items()}),
        call=redact(request) if request else None,
    )
