"""Redaction of secret-looking config values (§13.2)."""

from __future__ import annotations

import re
from typing import Any

SECRET_KEY = re.compile(r"(?i)password|secret|token|private_key|credential")
MASK = "***"


def redact(value: Any) -> Any:
    """Replace the value of every key, at any depth, that looks like a secret by ``***``."""
    if isinstance(value, dict):
        return {
            key: MASK if SECRET_KEY.search(str(key)) else redact(item)
            for key, item in value.items()
        }
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value
