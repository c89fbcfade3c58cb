"""Agent registry rows (spec §5.1, §5.11)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, Final

from contractor.foreman import orm
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

NAMESPACE: Final = uuid.UUID("6f1c8f3e-2b8a-4a57-9d3b-5c0e1f2a3b4c")
LAST_SEEN_EVERY: Final = timedelta(seconds=5)


def agent_id(token_id: int, name: str) -> str:
    """The stable agent id of (token, name)."""
    return str(uuid.uuid5(NAMESPACE, f"{token_id}/{name}"))


async def get(session: AsyncSession, aid: str, *, lock: bool = False) -> orm.Agent | None:
    """One agent, or None."""
    stmt = select(orm.Agent).where(orm.Agent.id == aid).execution_options(populate_existing=True)
    if lock:
        stmt = stmt.with_for_update()
    return await session.scalar(stmt)


async def upsert(
    session: AsyncSession,
    *,
    token_id: int,
    token_name: str,
    body: dict[str, Any],
    boot_base: str | None,
    now: datetime,
) -> tuple[orm.Agent, str | None]:
    """Register (or re-register) an agent with a new incarnation; return it and the old one."""
    aid = agent_id(token_id, str(body["name"]))
    agent = await get(session, aid, lock=True)
    incarnation = str(uuid.uuid4())
    old: str | None = None
    if agent is None:
        agent = orm.Agent(id=aid, token_id=token_id, registered_at=now, disabled=False)
        session.add(agent)
    else:
        old = agent.incarnation
    agent.name = str(body["name"])
    agent.token_name = token_name
    agent.sites = list(body["sites"])
    agent.modules = dict(body["modules"])
    agent.incarnation = incarnation
    agent.version = body.get("version")
    agent.hostname = body.get("hostname")
    agent.boot_base = boot_base
    agent.offline = False
    agent.status = "disabled" if agent.disabled else "online"
    agent.registered_at = now
    agent.last_seen = now
    await session.flush()
    return agent, old


def seen(agent: orm.Agent, now: datetime) -> None:
    """Note a request from the agent (written at most every 5 s)."""
    if now - agent.last_seen >= LAST_SEEN_EVERY:
        agent.last_seen = now


def status(agent: orm.Agent, now: datetime, *, online_s: float, stale_s: float) -> str:
    """``online``, ``stale``, ``offline`` or ``disabled`` (spec §5.11)."""
    if agent.disabled:
        return "disabled"
    age = (now - agent.last_seen).total_seconds()
    if agent.offline or age > stale_s:
        return "offline"
    return "online" if age <= online_s else "stale"


async def serves(session: AsyncSession, site: str, module: str) -> bool:
    """Whether some enabled, registered agent declares ``module`` for ``site``."""
    rows = await session.scalars(
        select(orm.Agent).where(orm.Agent.disabled.is_(False), orm.Agent.offline.is_(False))
    )
    return any(site in agent.sites and module in agent.modules for agent in rows)


async def page(session: AsyncSession, *, after: str | None, limit: int) -> list[orm.Agent]:
    """Up to ``limit + 1`` agents ordered by id."""
    stmt = select(orm.Agent).order_by(orm.Agent.id).limit(limit + 1)
    if after is not None:
        stmt = stmt.where(orm.Agent.id > after)
    return list(await session.scalars(stmt))


async def running_counts(session: AsyncSession, aid: str) -> dict[str, int]:
    """Open tasks per module held by the agent."""
    rows = await session.execute(
        select(orm.Task.module, func.count())
        .where(orm.Task.agent_id == aid, orm.Task.state.in_(("leased", "started")))
        .group_by(orm.Task.module)
    )
    return {str(module): int(count) for module, count in rows.all()}
