"""Bearer tokens, checked with inventory's introspection and cached ≤ 30 s (spec §0)."""

from __future__ import annotations

import time

from contractor.foreman.inventory import InventoryClient
from contractor.servicekit.auth import Principal, Role
from contractor.servicekit.errors import Unauthorized


class TokenCache:
    """Introspection answers by token, each trusted for ``ttl`` seconds."""

    def __init__(self, inventory: InventoryClient, ttl: float) -> None:
        self._inventory = inventory
        self._ttl = ttl
        self._answers: dict[str, tuple[float, Principal | None]] = {}

    async def principal(self, token: str) -> Principal:
        """The caller behind ``token``.

        Raises:
            Unauthorized: Inventory says the token is not active.
            InventoryUnavailable: Inventory could not be asked (503).
        """
        now = time.monotonic()
        cached = self._answers.get(token)
        if cached is None or cached[0] < now:
            answer = await self._inventory.introspect(token)
            found = _principal(answer) if answer.get("active") else None
            if len(self._answers) > 10_000:
                self._answers.clear()
            self._answers[token] = (now + self._ttl, found)
            cached = self._answers[token]
        if cached[1] is None:
            raise Unauthorized("the bearer token is not valid")
        return cached[1]


def _principal(answer: dict[str, object]) -> Principal:
    sites = answer.get("sites") or []
    return Principal(
        token_id=int(str(answer["id"])),
        name=str(answer.get("name") or ""),
        role=Role(str(answer["role"])),
        sites=tuple(str(s) for s in sites) if isinstance(sites, list) else (),
    )


def actor(principal: Principal) -> str:
    """The job-log actor of a caller (spec §0: ``user:<name>``, ``agent:<name>``)."""
    if principal.role is Role.AGENT:
        return f"agent:{principal.name}"
    if principal.role is Role.SERVICE:
        return "inventory" if principal.name == "inventory" else f"user:{principal.name}"
    return f"user:{principal.name}"
