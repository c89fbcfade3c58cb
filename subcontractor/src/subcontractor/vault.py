"""HashiCorp Vault KV version 2 lookups for credential references (foreman.md §8.9).

``{"ref": "vault:kv/data/bmc/rack1"}`` → ``GET <address>/v1/kv/data/bmc/rack1`` with header
``X-Vault-Token``; the value is the answer's ``data.data``, cached for ``cache_s`` seconds.
"""

from __future__ import annotations

import time
from typing import Any

import anyio
import httpx

from subcontractor.errors import PluginError
from subcontractor.settings import CredentialsSettings


def make_vault(settings: CredentialsSettings | None) -> VaultClient | None:
    """A Vault client for the ``[credentials]`` table, or ``None`` when there is none."""
    if settings is None:
        return None
    verify: Any = settings.verify_tls
    if settings.verify_tls and settings.ca_file is not None:
        verify = str(settings.ca_file)
    http = httpx.AsyncClient(base_url=settings.address, verify=verify, timeout=10.0)
    return VaultClient(http, settings.token.get_secret_value(), settings.cache_s)


class VaultClient:
    """Reads secrets from one Vault server, caching each path."""

    def __init__(self, http: httpx.AsyncClient, token: str, cache_s: float) -> None:
        self._http = http
        self._token = token
        self._cache_s = cache_s
        self._cache: dict[str, tuple[float, Any]] = {}
        self._locks: dict[str, anyio.Lock] = {}

    async def read(self, path: str) -> Any:
        """The ``data.data`` of a KV v2 secret.

        Raises:
            PluginError: ``auth`` (403), ``not_found`` (404), retryable ``unreachable``
                (network trouble, 429, 5xx) or ``internal`` (an answer without ``data.data``).
        """
        lock = self._locks.setdefault(path, anyio.Lock())
        async with lock:  # one lookup per path at a time: concurrent tasks share it
            cached = self._cache.get(path)
            if cached is not None and cached[0] > time.monotonic():
                return cached[1]
            value = await self._fetch(path)
            self._cache[path] = (time.monotonic() + self._cache_s, value)
            return value

    async def _fetch(self, path: str) -> Any:
        try:
            response = await self._http.get(f"/v1/{path}", headers={"X-Vault-Token": self._token})
        except httpx.TransportError as exc:
            raise PluginError(
                f"vault unreachable: {exc}", retryable=True, code="unreachable"
            ) from None
        _check(response, path)
        try:
            return response.json()["data"]["data"]
        except (ValueError, KeyError, TypeError):
            raise PluginError(f"vault: {path} is not a KV v2 secret", code="internal") from None

    async def aclose(self) -> None:
        """Close the HTTP client."""
        await self._http.aclose()


def _check(response: httpx.Response, path: str) -> None:
    status = response.status_code
    if status < 400:
        return
    if status in (401, 403):
        raise PluginError(f"vault refused access to {path}", code="auth")
    if status == 404:
        raise PluginError(f"vault has no secret {path}", code="not_found")
    retryable = status == 429 or status >= 500
    raise PluginError(
        f"vault answered {status} for {path}", retryable=retryable, code="unreachable"
    )
