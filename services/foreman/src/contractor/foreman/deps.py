"""Request dependencies, declared once so that route signatures read like prose.

Every dependency is a coroutine: FastAPI runs a plain function in a worker thread, a thread
hop per request for what is an attribute lookup.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from contractor.foreman.auth import TokenCache
from contractor.foreman.clock import Clock
from contractor.foreman.inventory import InventoryClient
from contractor.foreman.runtime import Runtime
from contractor.servicekit.auth import READERS, Principal, Role, bearer_token, require_role
from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; the route opens the transaction."""
    async with request.app.state.sessions() as session:
        yield session


async def authenticate(
    request: Request, authorization: Annotated[str | None, Header()] = None
) -> Principal:
    """Check the bearer token with inventory (cached)."""
    tokens: TokenCache = request.app.state.tokens
    return await tokens.principal(bearer_token(authorization))


def requires(*roles: Role) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    """A dependency that lets only ``roles`` through (403 otherwise)."""
    allowed = frozenset(roles)

    async def _check(principal: Annotated[Principal, Depends(authenticate)]) -> Principal:
        return require_role(principal, allowed)

    return _check


async def get_inventory(request: Request) -> InventoryClient:
    """The inventory client built in the lifespan."""
    client: InventoryClient = request.app.state.inventory
    return client


async def get_runtime(request: Request) -> Runtime:
    """Settings, clock and wake-up signals of this replica."""
    runtime: Runtime = request.app.state.runtime
    return runtime


async def get_clock(request: Request) -> Clock:
    """The service clock."""
    clock: Clock = request.app.state.runtime.clock
    return clock


SessionDep = Annotated[AsyncSession, Depends(get_session)]
Reader = Annotated[Principal, Depends(requires(*READERS))]
Operator = Annotated[Principal, Depends(requires(Role.ADMIN, Role.OPERATOR))]
Admin = Annotated[Principal, Depends(requires(Role.ADMIN))]
AgentCaller = Annotated[Principal, Depends(requires(Role.AGENT))]
Inventory = Annotated[InventoryClient, Depends(get_inventory)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
ClockDep = Annotated[Clock, Depends(get_clock)]
READ_ALL = [Depends(requires(*READERS))]
