"""Credential references in task parameters (foreman.md §8.9).

A reference is ``{"ref": "env:NAME"}``, ``{"ref": "file:PATH"}`` (relative to the agent's
``state_dir``) or ``{"ref": "vault:<kv v2 path>"}``. The agent resolves every reference in a
task's parameters before validating them, so plugins see plain values. Resolved values are
remembered: logs and task outcomes show ``***`` wherever one appears.
"""

from __future__ import annotations

import os
import re
import threading
from pathlib import Path
from typing import Any

from subcontractor.errors import PluginError
from subcontractor.vault import VaultClient

MASK = "***"
SECRET_KEY = re.compile(r"(?i)password|secret|token|private_key|credential")


class Credentials:
    """Resolves credential references and remembers resolved secrets."""

    def __init__(self, base_dir: Path, vault: VaultClient | None = None) -> None:
        self._base_dir = base_dir
        self._vault = vault
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    async def resolve_tree(self, value: Any) -> Any:
        """``value`` with every reference inside it resolved (dicts and lists walked).

        Raises:
            PluginError: A reference cannot be resolved.
        """
        if _is_reference(value):
            provider, _, path = value["ref"].partition(":")
            if provider != "vault":
                return self.resolve(value)
            if self._vault is None:
                raise PluginError(
                    f"credential {value['ref']}: no [credentials] vault configured", code="auth"
                )
            secret = await self._vault.read(path)
            self._remember_all(secret)
            return secret
        if isinstance(value, dict):
            return {key: await self.resolve_tree(item) for key, item in value.items()}
        if isinstance(value, list):
            return [await self.resolve_tree(item) for item in value]
        return value

    def _remember_all(self, value: Any) -> None:
        """Remember a looked-up secret: values under secret-looking keys, else every string.

        A username next to a password is not secret; a bare ``{"value": …}`` is.
        """
        if isinstance(value, str):
            self.remember(value)
        elif isinstance(value, list):
            for item in value:
                self._remember_all(item)
        elif isinstance(value, dict):
            secret_keys = [key for key in value if SECRET_KEY.search(str(key))]
            for key in secret_keys or list(value):
                self._remember_all(value[key])

    def scrub_tree(self, value: Any) -> Any:
        """``value`` with every string equal to a known secret replaced by ``***``."""
        return _scrub_tree(value, self.secrets())  # one copy of the secrets, not one a string

    def resolve(self, value: Any) -> Any:
        """Return ``value`` with a ``{"ref": ...}`` replaced by the secret it names.

        Raises:
            PluginError: The reference cannot be resolved (code ``auth``, not retryable).
        """
        if not _is_reference(value):
            return value
        ref = value["ref"]
        provider, _, path = ref.partition(":")
        if provider == "env" and path in os.environ:
            secret = os.environ[path]
        elif provider == "file":
            try:
                secret = (self._base_dir / path).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise PluginError(f"credential {ref}: {exc.strerror}", code="auth") from None
        else:
            raise PluginError(f"credential {ref} cannot be resolved by this agent", code="auth")
        self.remember(secret)
        return secret

    def remember(self, secret: str) -> None:
        """Add a value that logs must never show."""
        if secret:
            with self._lock:
                self._secrets.add(secret)

    def scrub(self, text: str) -> str:
        """``text`` with every known secret replaced by ``***``."""
        for secret in self.secrets():
            text = text.replace(secret, MASK)
        return text

    def secrets(self) -> frozenset[str]:
        """Every value resolved so far."""
        with self._lock:
            return frozenset(self._secrets)


def _scrub_tree(value: Any, secrets: frozenset[str]) -> Any:
    if isinstance(value, str):
        return MASK if value in secrets else value
    if isinstance(value, dict):
        return {key: _scrub_tree(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrub_tree(item, secrets) for item in value]
    return value


def _is_reference(value: Any) -> bool:
    return isinstance(value, dict) and set(value) == {"ref"} and isinstance(value["ref"], str)
