"""JSON logs, one object per line, with secrets redacted (foreman.md §8.9)."""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

from subcontractor.credentials import MASK, SECRET_KEY

# LogRecord attribute → JSON key; ``module`` is taken by logging itself, hence ``task_module``.
CONTEXT_FIELDS = {
    "agent": "agent",
    "task_id": "task_id",
    "job_id": "job_id",
    "task_module": "module",
    "function": "function",
    "attempt": "attempt",
}


def redact(value: Any) -> Any:
    """Mask values under secret-looking keys, recursively."""
    if isinstance(value, dict):
        return {k: MASK if SECRET_KEY.search(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


class JsonFormatter(logging.Formatter):
    """Formats records as JSON and removes every known secret from the line."""

    def __init__(self, secrets: Callable[[], Iterable[str]]) -> None:
        super().__init__()
        self._secrets = secrets

    def format(self, record: logging.LogRecord) -> str:
        """Render one record."""
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        for attribute, key in CONTEXT_FIELDS.items():
            if hasattr(record, attribute):
                entry[key] = getattr(record, attribute)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        line = json.dumps(redact(entry), default=str)
        for secret in self._secrets():
            if secret:
                line = line.replace(secret, MASK)
        return line


def configure(
    level: str, secrets: Callable[[], Iterable[str]], stream: TextIO | None = None
) -> None:
    """Send the agent's logs to ``stream`` (stderr) as JSON lines."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(secrets))
    root = logging.getLogger("subcontractor")
    root.handlers[:] = [handler]
    root.setLevel(level)
    root.propagate = False
