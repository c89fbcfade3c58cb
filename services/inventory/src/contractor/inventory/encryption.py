"""Secrets at rest: Fernet with key rotation (``INVENTORY_SECRET_KEYS``)."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

from contractor.inventory.settings import Settings
from cryptography.fernet import Fernet, MultiFernet

logger = logging.getLogger(__name__)

DEV_KEY_FILE = "inventory-secret.key"


class SecretBox:
    """Seals and opens JSON objects of secret values."""

    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise ValueError("at least one secret key is needed")
        self._fernet = MultiFernet([Fernet(key) for key in keys])

    def seal(self, values: dict[str, Any]) -> str | None:
        """Encrypt ``values`` (``None`` when there is nothing to keep)."""
        if not values:
            return None
        return self._fernet.encrypt(json.dumps(values, sort_keys=True).encode()).decode()

    def rotate(self, sealed: str) -> str:
        """Re-encrypt a sealed value with the first key."""
        return self._fernet.rotate(sealed.encode()).decode()

    def open(self, sealed: str | None) -> dict[str, Any]:
        """Decrypt what :meth:`seal` produced."""
        if not sealed:
            return {}
        opened: dict[str, Any] = json.loads(self._fernet.decrypt(sealed.encode()))
        return opened


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
