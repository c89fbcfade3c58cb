"""Bearer-token primitives: roles, token format, hashing and role checks.

A token is ``ctr_<id>_<secret>`` where the secret is 32 random bytes, URL-safe base64 (43
characters). Only the id and the SHA-256 of the secret are stored; comparison is constant-time.
The token authority (inventory) stores and looks up tokens; these functions hold no state.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Collection
from dataclasses import dataclass, field
from enum import StrEnum

from contractor.servicekit.errors import Forbidden, Unauthorized

TOKEN_PREFIX = "ctr_"
_TOKEN_RE = re.compile(r"^ctr_([1-9][0-9]{0,18})_([A-Za-z0-9_-]{43})$")


class Role(StrEnum):
    """The roles a token may have."""

    ADMIN = "admin"
    OPERATOR = "operator"
    VIEWER = "viewer"
    AGENT = "agent"
    SERVICE = "service"


READERS: frozenset[Role] = frozenset({Role.ADMIN, Role.OPERATOR, Role.VIEWER, Role.SERVICE})
"""Roles that may read resources (agents may not)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: the authenticated token."""

    token_id: int
    name: str
    role: Role
    sites: tuple[str, ...] = field(default=())

    def actor(self) -> dict[str, str]:
        """The ``actor`` object written into events."""
        return {"kind": "token", "name": self.name, "role": self.role.value}


def new_secret() -> str:
    """Return a fresh token secret: 32 random bytes, URL-safe base64 without padding."""
    return secrets.token_urlsafe(32)


def format_token(token_id: int, secret: str) -> str:
    """Assemble the token string handed to the client once."""
    return f"{TOKEN_PREFIX}{token_id}_{secret}"


def hash_secret(secret: str) -> str:
    """SHA-256 of a token secret, hex; this is what is stored."""
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_token(token: str) -> tuple[int, str]:
    """Split a token into id and secret.

    Raises:
        Unauthorized: The string is not a token of ours.
    """
    match = _TOKEN_RE.match(token)
    if match is None:
        raise Unauthorized("the bearer token is malformed")
    return int(match.group(1)), match.group(2)


def secret_matches(secret: str, stored_hash: str) -> bool:
    """Compare a presented secret with a stored hash in constant time."""
    return hmac.compare_digest(hash_secret(secret), stored_hash)


def bearer_token(authorization: str | None) -> str:
    """Extract the token from an ``Authorization`` header value.

    Raises:
        Unauthorized: The header is missing or not a bearer credential.
    """
    if not authorization:
        raise Unauthorized("an Authorization: Bearer token is required")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("an Authorization: Bearer token is required")
    return token.strip()


def require_role(principal: Principal, allowed: Collection[Role]) -> Principal:
    """Check the caller's role.

    Raises:
        Forbidden: The role is not among ``allowed``.
    """
    if principal.role not in allowed:
        raise Forbidden(f"role {principal.role.value} may not do this")
    return principal
