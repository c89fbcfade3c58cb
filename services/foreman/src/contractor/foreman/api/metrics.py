"""``GET /metrics`` (Prometheus text format)."""

from __future__ import annotations

from contractor.foreman.deps import RuntimeDep, SessionDep
from contractor.foreman.metrics import Metrics
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST

router = APIRouter(tags=["health"])


@router.get("/metrics")
async def metrics(request: Request, session: SessionDep, rt: RuntimeDep) -> Response:
    """Prometheus metrics of this replica."""
    collected: Metrics = request.app.state.metrics
    body = await collected.render(session, rt.settings, rt.clock)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
