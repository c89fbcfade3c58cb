"""``/healthz`` and ``/readyz``."""

from __future__ import annotations

from contractor.servicekit.errors import ServiceError
from fastapi import APIRouter, Request
from sqlalchemy import text

router = APIRouter(tags=["health"])


class NotReady(ServiceError):
    """The database or the loops are not available."""

    status = 503
    type_slug = "not-ready"
    title = "Not ready"


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> dict[str, str]:
    """The database answers (migrations were checked at start) and the loops run."""
    try:
        async with request.app.state.sessions() as session:
            await session.execute(text("SELECT 1"))
    except Exception as exc:
        raise NotReady("the database does not answer") from exc
    loops = request.app.state.loops
    if any(task.done() for task in loops):
        raise NotReady("a background loop has stopped")
    return {"status": "ready"}
