"""Token routes (§13.1)."""

from __future__ import annotations

from typing import Annotated

from contractor.inventory import store
from contractor.inventory import token_cache as token_cache_module
from contractor.inventory.deps import Admin, Caller, Id, Service, SessionDep
from contractor.inventory.schemas.tokens import (
    IntrospectRequest,
    IntrospectResult,
    TokenCreate,
    TokenIssued,
    TokenRead,
)
from contractor.inventory.token_cache import TokenCache
from contractor.servicekit.outbox import notify_on_commit
from contractor.servicekit.pagination import Limit, Page
from fastapi import APIRouter, Query, Request, Response

router = APIRouter(prefix="/tokens", tags=["tokens"])


@router.get("")
async def list_tokens(
    session: SessionDep,
    _: Admin,
    limit: Annotated[Limit, Query()] = 50,
    cursor: str | None = None,
) -> Page[TokenRead]:
    """List tokens (never their secrets)."""
    rows, next_cursor = await store.tokens.list_page(session, limit=limit, cursor=cursor)
    return Page(items=[TokenRead.model_validate(r) for r in rows], next_cursor=next_cursor)


@router.post("", status_code=201)
async def create_token(
    body: TokenCreate, session: SessionDep, caller: Admin, response: Response
) -> TokenIssued:
    """Issue a token; the answer is the only time the token string is shown."""
    async with session.begin():
        token, presented = await store.tokens.issue(
            session,
            name=body.name,
            role=body.role,
            sites=body.sites,
            expires_at=body.expires_at,
            created_by=caller.name,
        )
        await store.events.append(
            session,
            "token.created",
            actor=caller.actor(),
            subject=("token", token.id),
            site=None,
            data=store.tokens.event_data(token),
        )
    response.headers["Location"] = f"/api/v1/tokens/{token.id}"
    return TokenIssued.model_validate(
        {**TokenRead.model_validate(token).model_dump(), "token": presented}
    )


@router.get("/self")
async def read_own_token(session: SessionDep, caller: Caller) -> TokenRead:
    """Describe the calling token."""
    return TokenRead.model_validate(await store.tokens.get(session, caller.token_id))


@router.post("/introspect")
async def introspect(body: IntrospectRequest, session: SessionDep, _: Service) -> IntrospectResult:
    """Tell another service what a bearer token is."""
    token = await store.tokens.resolve(session, body.token)
    if token is None:
        return IntrospectResult(active=False)
    principal = store.tokens.principal_of(token)
    return IntrospectResult(
        active=True,
        id=token.id,
        name=token.name,
        role=principal.role,
        sites=list(principal.sites),
    )


@router.get("/{token_id}")
async def read_token(token_id: Id, session: SessionDep, _: Admin) -> TokenRead:
    """Read one token."""
    return TokenRead.model_validate(await store.tokens.get(session, token_id))


@router.delete("/{token_id}", status_code=204)
async def revoke_token(token_id: Id, request: Request, session: SessionDep, caller: Admin) -> None:
    """Revoke a token at once (this replica's token cache forgets it once committed)."""
    async with session.begin():
        token = await store.tokens.get(session, token_id)
        if store.tokens.revoke(token):
            # Every replica's token cache forgets it as this commits (token_cache.py).
            notify_on_commit(session, [token_cache_module.CHANNEL], str(token.id))
            await store.events.append(
                session,
                "token.revoked",
                actor=caller.actor(),
                subject=("token", token.id),
                site=None,
                data=store.tokens.event_data(token),
            )
    token_cache: TokenCache = request.app.state.token_cache
    token_cache.forget(token_id)
