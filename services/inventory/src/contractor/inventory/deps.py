"""Request dependencies, declared once so that route signatures read like prose."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from annotated_types import Ge, Le
from contractor.inventory import store
from contractor.inventory.encryption import SecretBox
from contractor.inventory.token_cache import TokenCache
from contractor.servicekit.auth import READERS, Principal, Role, bearer_token, require_role
from contractor.servicekit.errors import FieldError
from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

READ_METHODS = frozenset({"GET", "HEAD"})
INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

# An integer id in a path or query: beyond 64 bits it could not reach the database (a 404 for a
# path parameter, see ``problems``; a 422 naming a query parameter).
Id = Annotated[int, Ge(INT64_MIN), Le(INT64_MAX)]


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; the route opens the transaction.

    Reads (GET, HEAD) use the readers' sessions, which never take SQLite's write lock.
    """
    factory = request.app.state.read_sessions if request.method in READ_METHODS else None
    async with (factory or request.app.state.sessions)() as session:
        yield session


async def get_sessions(request: Request) -> async_sessionmaker[AsyncSession]:
    """The (write) session factory, for a hot route that opens its own session.

    ``SessionDep`` is a generator dependency: FastAPI enters and leaves it through an exit
    stack and a cancel scope on every request, which costs about as much as the route's own
    logic on a small write. A route that takes the factory instead opens
    ``async with sessions() as session`` itself, with the same session and the same cleanup.
    """
    factory: async_sessionmaker[AsyncSession] = request.app.state.sessions
    return factory


async def authenticate(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    """Check the bearer token: from the process's recent checks, else in a short transaction.

    The cache (:mod:`contractor.inventory.token_cache`) saves a pool checkout and a query on
    most requests; a revocation through this process is seen at once, one made elsewhere
    within ``Settings.token_cache_s``.
    """
    presented = bearer_token(authorization)
    cache: TokenCache = request.app.state.token_cache
    hit = cache.check(presented)
    if hit is None:
        epoch = cache.epoch
        async with request.app.state.read_sessions() as session:
            token, stale = await store.tokens.authenticate(session, presented)
        cache.remember(token, epoch)
        principal = store.tokens.principal_of(token)
    else:
        principal, stale = hit
    if stale:  # noting the use is a write: at most once a minute per token
        async with request.app.state.sessions() as session, session.begin():
            used_at = await store.tokens.touch(session, principal.token_id)
        cache.touched(principal.token_id, used_at)
    return principal


def requires(*roles: Role) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    """A dependency that lets only ``roles`` through (403 otherwise)."""
    allowed = frozenset(roles)

    async def _check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        return require_role(principal, allowed)

    ROLE_CHECKS[_check] = allowed
    return _check


# The roles each ``requires`` dependency lets through (checked early for a malformed body).
ROLE_CHECKS: dict[Callable[..., Any], frozenset[Role]] = {}


async def get_box(request: Request) -> SecretBox:
    """The secret box built in the lifespan.

    ``async``: FastAPI runs a plain ``def`` dependency in a worker thread, a thread hop per
    request for an attribute read.
    """
    box: SecretBox = request.app.state.box
    return box


async def if_match(if_match: Annotated[str | None, Header()] = None) -> int | None:
    """The version an ``If-Match`` header names (``None`` without one, or for ``*``).

    ``async`` only so that FastAPI does not run it in a worker thread.
    """
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.strip().removeprefix("W/").strip('"')
    if not tag.isdigit():
        raise FieldError(["header", "If-Match"], 'If-Match must be an ETag such as "3"')
    return int(tag)


SessionDep = Annotated[AsyncSession, Depends(get_session)]
Sessions = Annotated[async_sessionmaker[AsyncSession], Depends(get_sessions)]
Caller = Annotated[Principal, Depends(authenticate)]
Reader = Annotated[Principal, Depends(requires(*READERS))]
Admin = Annotated[Principal, Depends(requires(Role.ADMIN))]
Operator = Annotated[Principal, Depends(requires(Role.ADMIN, Role.OPERATOR))]
Service = Annotated[Principal, Depends(requires(Role.SERVICE))]
AgentOrService = Annotated[Principal, Depends(requires(Role.AGENT, Role.SERVICE))]
Transitioner = Annotated[Principal, Depends(requires(Role.ADMIN, Role.OPERATOR, Role.SERVICE))]
Box = Annotated[SecretBox, Depends(get_box)]
IfMatch = Annotated[int | None, Depends(if_match)]
READ_ALL = [Depends(requires(*READERS))]
