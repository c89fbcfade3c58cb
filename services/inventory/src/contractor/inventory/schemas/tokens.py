"""Token schemas (§13.1)."""

from __future__ import annotations

from datetime import datetime

from contractor.inventory.schemas.fields import ClosedBody, Name, ReadOnly, Timestamp
from contractor.servicekit.auth import Role
from pydantic import BaseModel, ConfigDict, Field


class TokenCreate(ClosedBody):
    """``POST /tokens``."""

    name: str = Field(min_length=1, max_length=100)
    role: Role
    sites: list[Name] | None = None
    expires_at: datetime | None = None
    id: ReadOnly = None
    created_at: ReadOnly = None
    created_by: ReadOnly = None
    last_used_at: ReadOnly = None
    revoked_at: ReadOnly = None
    token: ReadOnly = None


class TokenRead(BaseModel):
    """A token as listed (never with its secret)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    role: Role
    sites: list[str]
    created_at: Timestamp
    created_by: str | None
    expires_at: Timestamp | None
    last_used_at: Timestamp | None
    revoked_at: Timestamp | None


class TokenIssued(TokenRead):
    """The answer to ``POST /tokens``: the only time the token string is shown."""

    token: str


class IntrospectRequest(ClosedBody):
    """``POST /tokens/introspect``."""

    token: str = Field(max_length=200)


class IntrospectResult(BaseModel):
    """What other services learn about a bearer token."""

    active: bool
    id: int | None = None
    name: str | None = None
    role: Role | None = None
    sites: list[str] | None = None
