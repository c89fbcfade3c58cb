"""API tokens: issue, look up, revoke (§13.1). Inventory is the token authority."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from contractor.inventory import orm
from contractor.inventory.errors import ResourceNotFound, invalid
from contractor.inventory.store import listing
from contractor.servicekit import auth
from contractor.servicekit.db import utcnow
from contractor.servicekit.errors import Unauthorized
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

LAST_USED_GRANULARITY = timedelta(minutes=1)


async def issue(
    session: AsyncSession,
    *,
    name: str,
    role: auth.Role,
    sites: list[str] | None,
    expires_at: datetime | None,
    created_by: str | None,
) -> tuple[orm.Token, str]:
    """Create a token; return the row and the token string (shown once, never stored)."""
    if role is auth.Role.AGENT and not sites:
        raise invalid(["body", "sites"], "agent tokens must list at least one site")
    if role is not auth.Role.AGENT and sites:
        raise invalid(["body", "sites"], "only agent tokens take sites")
    for index, site in enumerate(sites or []):
        if await session.get(orm.Site, site) is None:
            raise invalid(["body", "sites", index], f"site {site} does not exist")
    secret = auth.new_secret()
    now = utcnow()
    token = orm.Token(
        name=name,
        role=role.value,
        sites=list(sites or []),
        secret_hash=auth.hash_secret(secret),
        created_by=created_by,
        expires_at=expires_at,
        created_at=now,
        updated_at=now,
        version=1,
    )
    session.add(token)
    await session.flush()
    return token, auth.format_token(token.id, secret)


async def get(session: AsyncSession, token_id: int) -> orm.Token:
    """Load one token.

    Raises:
        ResourceNotFound: No such token.
    """
    token = await session.get(orm.Token, token_id)
    if token is None:
        raise ResourceNotFound("token", token_id)
    return token


async def list_page(
    session: AsyncSession, *, limit: int, cursor: str | None
) -> tuple[list[orm.Token], str | None]:
    """One page of tokens ordered by id."""
    return await listing.page(session, select(orm.Token), orm.Token.id, limit=limit, cursor=cursor)


def active(token: orm.Token, now: datetime) -> bool:
    """Neither revoked nor expired."""
    return token.revoked_at is None and (token.expires_at is None or token.expires_at > now)


async def resolve(session: AsyncSession, presented: str) -> orm.Token | None:
    """The active token a presented string names, or ``None``."""
    try:
        token_id, secret = auth.parse_token(presented)
    except Unauthorized:
        return None
    token = await session.get(orm.Token, token_id)
    if token is None or not auth.secret_matches(secret, token.secret_hash):
        return None
    return token if active(token, utcnow()) else None


async def authenticate(session: AsyncSession, presented: str) -> tuple[orm.Token, bool]:
    """Check a bearer token; also say whether its ``last_used_at`` is due for an update.

    Raises:
        Unauthorized: Unknown, expired or revoked token.
    """
    token = await resolve(session, presented)
    if token is None:
        raise Unauthorized("the bearer token is unknown, expired or revoked")
    last = token.last_used_at
    return token, last is None or utcnow() - last >= LAST_USED_GRANULARITY


async def touch(session: AsyncSession, token_id: int) -> datetime:
    """Note that a token was used now; return that time."""
    now = utcnow()
    token = await session.get(orm.Token, token_id)
    if token is not None:
        token.last_used_at = now
        await session.flush()
    return now


def principal_of(token: orm.Token) -> auth.Principal:
    """The caller a token row stands for."""
    return auth.Principal(
        token_id=token.id, name=token.name, role=auth.Role(token.role), sites=tuple(token.sites)
    )


def revoke(token: orm.Token) -> bool:
    """Revoke a token; ``False`` when it already was."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = token.updated_at = utcnow()
    token.version += 1
    return True


def event_data(token: orm.Token) -> dict[str, Any]:
    """The ``token.*`` event payload."""
    return {"id": token.id, "name": token.name, "role": token.role, "sites": list(token.sites)}
