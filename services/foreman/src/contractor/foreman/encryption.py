"""Secrets at rest (spec §0): secret-named values in snapshots sealed with Fernet.

Snapshots are stored with every value under a secret-looking key (``password``, ``token`` …)
replaced by ``{"$secret": "<fernet token>"}``. Interpreter states, task parameters, logs and
events therefore only ever hold sealed values; :meth:`SecretBox.open_tree` unseals them in the
one place they leave foreman: the poll answer to the agent that runs the task.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from contractor.foreman.redaction import SECRET_KEY
from contractor.foreman.settings import Settings
from cryptography.fernet import Fernet, MultiFernet

logger = logging.getLogger(__name__)
DEV_KEY_FILE = "foreman-secret.key"
SEALED = "$secret"


class SecretBox:
    """Seals and opens secret values inside JSON trees."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("at least one secret key is needed")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def seal_tree(self, value: Any) -> Any:
        """A copy of ``value`` with the values of secret-named keys sealed."""
        if isinstance(value, dict):
            if set(value) == {SEALED}:
                return value
            return {
                k: self._seal(v)
                if isinstance(k, str) and SECRET_KEY.search(k)
                else self.seal_tree(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.seal_tree(v) for v in value]
        return value

    def _seal(self, value: Any) -> Any:
        if value is None or (isinstance(value, dict) and set(value) == {SEALED}):
            return value
        return {SEALED: self._fernet.encrypt(json.dumps(value).encode()).decode()}

    def open_tree(self, value: Any) -> Any:
        """A copy of ``value`` with every sealed value opened."""
        if isinstance(value, dict):
            if set(value) == {SEALED} and isinstance(value[SEALED], str):
                return json.loads(self._fernet.decrypt(value[SEALED].encode()))
            return {k: self.open_tree(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.open_tree(v) for v in value]
        return value


def secret_box(settings: Settings) -> SecretBox:
    """Build the box from settings; dev mode without keys uses a key kept under ``var_dir``."""
    raw = settings.secret_keys.get_secret_value()
    keys = [k.strip().encode() for k in raw.split(",") if k.strip()]
    if keys:
        return SecretBox(keys)
    path = Path(settings.var_dir) / DEV_KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(Fernet.generate_key())
        path.chmod(0o600)
    logger.warning("dev mode: secrets are encrypted with the generated key in %s", path)
    return SecretBox([path.read_bytes().strip()])
