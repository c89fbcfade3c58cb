"""``POST /job-calls`` (§12.4), for foreman (service tokens only)."""

from __future__ import annotations

from contractor.inventory import store
from contractor.inventory.deps import Service, SessionDep
from contractor.inventory.schemas.job_calls import JobCall, JobCallAnswer
from contractor.inventory.settings import Settings
from fastapi import APIRouter, Request, Response

router = APIRouter(tags=["jobs"])


@router.post("/job-calls")
async def make_call(
    body: JobCall, request: Request, session: SessionDep, caller: Service, response: Response
) -> JobCallAnswer:
    """Make a job's call (`map_ports`, `unmap_ports`); a repeated `call_id` answers the same."""
    settings: Settings = request.app.state.settings
    async with session.begin():
        answer, repeat = await store.job_calls.call(
            session, body, actor=caller.actor(), settings=settings
        )
    response.headers["X-Call-Repeat"] = "true" if repeat else "false"
    return JobCallAnswer.model_validate(answer)
