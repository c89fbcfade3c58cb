"""The agent registry (spec §5.11): list, read, disable, enable."""

from __future__ import annotations

from typing import Annotated

from contractor.foreman import orm
from contractor.foreman.clock import rfc3339
from contractor.foreman.deps import Admin, Reader, RuntimeDep, SessionDep
from contractor.foreman.loops import agent_status
from contractor.foreman.runtime import Runtime
from contractor.foreman.schemas.agent import AgentRead
from contractor.foreman.store import agents
from contractor.servicekit.errors import NotFound
from contractor.servicekit.pagination import Limit, Page, decode_cursor, paginate
from fastapi import APIRouter, Query
from sqlalchemy.ext.asyncio import AsyncSession

router = APIRouter(prefix="/agents", tags=["agents"])


async def _view(session: AsyncSession, rt: Runtime, agent: orm.Agent) -> AgentRead:
    now = rt.clock.now()
    running = await agents.running_counts(session, agent.id)
    modules = {
        name: {"concurrency": int(decl.get("concurrency", 0)), "running": running.get(name, 0)}
        for name, decl in agent.modules.items()
    }
    return AgentRead(
        id=agent.id,
        name=agent.name,
        sites=list(agent.sites),
        status=agents.status(
            agent, now, online_s=rt.settings.agent_online_s, stale_s=rt.settings.agent_stale_s
        ),
        last_seen=rfc3339(agent.last_seen),
        last_seen_age_s=round((now - agent.last_seen).total_seconds(), 3),
        version=agent.version,
        hostname=agent.hostname,
        token=agent.token_name,
        boot_base=agent.boot_base,
        modules=modules,
        registered_at=rfc3339(agent.registered_at),
    )


@router.get("")
async def list_agents(
    session: SessionDep,
    rt: RuntimeDep,
    _: Reader,
    cursor: str | None = None,
    limit: Annotated[Limit, Query()] = 50,
) -> Page[AgentRead]:
    """List registered agents."""
    after = str(decode_cursor(cursor)) if cursor else None
    rows, next_cursor = paginate(
        await agents.page(session, after=after, limit=limit), limit, lambda a: a.id
    )
    return Page[AgentRead](
        items=[await _view(session, rt, a) for a in rows], next_cursor=next_cursor
    )


async def _get(session: AsyncSession, agent_id: str) -> orm.Agent:
    agent = await agents.get(session, agent_id)
    if agent is None:
        raise NotFound(f"agent {agent_id} does not exist")
    return agent


@router.get("/{agent_id}")
async def read_agent(agent_id: str, session: SessionDep, rt: RuntimeDep, _: Reader) -> AgentRead:
    """Read one agent."""
    return await _view(session, rt, await _get(session, agent_id))


@router.post("/{agent_id}/{action}")
async def toggle_agent(
    agent_id: str, action: str, session: SessionDep, rt: RuntimeDep, caller: Admin
) -> AgentRead:
    """Disable or enable an agent."""
    if action not in ("disable", "enable"):
        raise NotFound(f"no agent action {action!r}")
    async with session.begin():
        agent = await _get(session, agent_id)
        agent.disabled = action == "disable"
        await agent_status.refresh(session, rt, agent, actor=f"user:{caller.name}")
        return await _view(session, rt, agent)
