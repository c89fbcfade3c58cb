"""``POST /job-writes`` (§12.4), for foreman (service tokens only)."""

from __future__ import annotations

from typing import Any

from contractor.inventory import store
from contractor.inventory.deps import Box, Service, SessionDep
from contractor.inventory.schemas.job_writes import WriteBatch
from contractor.inventory.settings import Settings
from fastapi import APIRouter, Request, Response

router = APIRouter(tags=["jobs"])


@router.post("/job-writes")
async def apply_writes(
    body: WriteBatch,
    request: Request,
    session: SessionDep,
    caller: Service,
    box: Box,
    response: Response,
) -> dict[str, Any]:
    """Apply a job's write batch atomically; answer the refreshed snapshot."""
    settings: Settings = request.app.state.settings
    async with session.begin():
        answer, repeat = await store.job_writes.apply_batch(
            session, body, actor=caller.actor(), settings=settings, box=box
        )
    response.headers["X-Batch-Repeat"] = "true" if repeat else "false"
    return answer
