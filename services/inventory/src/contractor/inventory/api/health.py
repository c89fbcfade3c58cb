"""Liveness and readiness (no token)."""

from __future__ import annotations

from contractor.inventory.deps import SessionDep
from fastapi import APIRouter
from sqlalchemy import text

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Say the process is alive."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(session: SessionDep) -> dict[str, str]:
    """Say the database answers."""
    await session.execute(text("SELECT 1"))
    return {"status": "ready"}
