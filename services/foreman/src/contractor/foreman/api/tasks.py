"""``GET /api/v1/tasks``: the task queue view (parameters redacted)."""

from __future__ import annotations

from typing import Annotated

from contractor.foreman import views
from contractor.foreman.deps import Reader, SessionDep
from contractor.foreman.schemas.jobs import TaskList
from contractor.foreman.store import tasks
from contractor.servicekit.pagination import Limit
from fastapi import APIRouter, Query

router = APIRouter(prefix="/tasks", tags=["tasks"])


@router.get("")
async def list_tasks(
    session: SessionDep,
    _: Reader,
    state: str | None = None,
    site: str | None = None,
    module: str | None = None,
    agent: str | None = None,
    limit: Annotated[Limit, Query()] = 100,
) -> TaskList:
    """List tasks, oldest first."""
    rows = await tasks.listing(
        session, state=state, site=site, module=module, agent=agent, limit=limit
    )
    return TaskList(items=[views.task(t) for t in rows])
