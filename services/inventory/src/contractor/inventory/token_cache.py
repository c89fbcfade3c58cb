"""Recently checked bearer tokens of this process, so most requests skip the token query.

Every authenticated request used to read its token row in a transaction of its own: a pool
checkout (with its pre-ping) and a query, a fixed cost as large as many routes' own work. A
successful check is kept here for ``ttl_s`` seconds (``Settings.token_cache_s``) under the
token's id, with the secret's hash, expiry and last use: a hit verifies the presented secret
against that hash and the expiry against the clock exactly as the database check would, so only
a *revocation* could be seen late. A revocation through this process's API calls
:meth:`TokenCache.forget` after its commit and is refused from the next request on; the same
transaction sends ``NOTIFY inventory_tokens, '<id>'`` (PostgreSQL), and every replica's LISTEN
connection makes its cache forget the token as the commit lands. A replica whose listening
connection was lost drops its whole cache when it listens again. What is left is a revocation
made behind the API's back, seen within ``ttl_s`` (1 s by default; 0 turns the cache off).
Failed checks are never cached: an unknown, wrong or revoked token always goes to the database.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime

from contractor.inventory import orm
from contractor.inventory.store import tokens
from contractor.servicekit import auth
from contractor.servicekit.db import utcnow
from contractor.servicekit.errors import Unauthorized

MAX_ENTRIES = 1024
CHANNEL = "inventory_tokens"
"""PostgreSQL ``NOTIFY`` channel of revocations: every replica's cache forgets the token."""


@dataclass
class _Entry:
    principal: auth.Principal
    secret_hash: str
    expires_at: datetime | None
    last_used_at: datetime | None
    checked: float  # time.monotonic() of the database check


class TokenCache:
    """Successful token checks of the last ``ttl_s`` seconds (at most ``MAX_ENTRIES`` tokens)."""

    def __init__(self, ttl_s: float, max_entries: int = MAX_ENTRIES) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self._entries: OrderedDict[int, _Entry] = OrderedDict()
        self._epoch = 0

    @property
    def epoch(self) -> int:
        """Changes with every :meth:`forget`; read it before a database check (see ``remember``)."""
        return self._epoch

    def check(self, presented: str) -> tuple[auth.Principal, bool] | None:
        """The principal and whether its last use is due for a write, or ``None`` (ask the DB)."""
        if self.ttl_s <= 0:
            return None
        try:
            token_id, secret = auth.parse_token(presented)
        except Unauthorized:
            return None  # the database path gives the answer and its message
        entry = self._entries.get(token_id)
        if entry is None or time.monotonic() - entry.checked > self.ttl_s:
            return None
        if not auth.secret_matches(secret, entry.secret_hash):
            return None
        now = utcnow()
        if entry.expires_at is not None and entry.expires_at <= now:
            del self._entries[token_id]
            return None
        last = entry.last_used_at
        return entry.principal, last is None or now - last >= tokens.LAST_USED_GRANULARITY

    def remember(self, token: orm.Token, epoch: int) -> None:
        """Keep an active token just read from the database.

        ``epoch`` is :attr:`epoch` as read before that read began: if a revocation was noted
        since, the row may predate it, so it is not kept.
        """
        if self.ttl_s <= 0 or epoch != self._epoch:
            return
        self._entries[token.id] = _Entry(
            principal=tokens.principal_of(token),
            secret_hash=token.secret_hash,
            expires_at=token.expires_at,
            last_used_at=token.last_used_at,
            checked=time.monotonic(),
        )
        self._entries.move_to_end(token.id)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def touched(self, token_id: int, at: datetime) -> None:
        """Note the ``last_used_at`` just written for a token."""
        entry = self._entries.get(token_id)
        if entry is not None:
            entry.last_used_at = at

    def forget(self, token_id: int) -> None:
        """Drop a token (it was revoked): its next use is checked against the database."""
        self._entries.pop(token_id, None)
        self._epoch += 1

    def forget_all(self) -> None:
        """Drop every token (revocations may have been missed while not listening)."""
        self._entries.clear()
        self._epoch += 1

    def on_revoked(self, payload: str) -> None:
        """A revocation announced by a replica (``NOTIFY`` on :data:`CHANNEL`, the token id)."""
        try:
            self.forget(int(payload))
        except ValueError:
            self.forget_all()
