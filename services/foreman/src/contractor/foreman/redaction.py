"""Secret redaction for API answers, logs and events (spec §0 secrets)."""

from __future__ import annotations

import re
from typing import Any, Final

SECRET_KEY: Final = re.compile(r"(?i)password|secret|token|private_key|credential")
MASK: Final = "***"


def redact(value: Any) -> Any:
    """A copy of ``value`` with the values of secret-looking keys replaced by ``***``."""
    if isinstance(value, dict):
        return {
            k: MASK if isinstance(k, str) and SECRET_KEY.search(k) else redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact(v) for v in value]
    return value
