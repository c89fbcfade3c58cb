"""JSON logs, one object per line, for every service (foreman spec §12.2, dns-webhooks §0).

Each line has ``ts``, ``level``, ``service``, ``logger``, ``msg`` and ``request_id`` (the
request being served, else null), and the context fields a caller knows, given through
``extra=`` (``job_id``, ``task_id``, ``agent``, ``site``, ``module``, ``function`` …). Values
under secret-looking keys are masked, as in problem bodies; request bodies are never logged.

:class:`RequestIdMiddleware` gives every request an id: the client's ``X-Request-ID`` when it
sends a sane one, else a new one; the id is echoed in the response header and is on every
line logged while the request is served.
"""

from __future__ import annotations

import contextvars
import logging
import re
import sys
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, Final, TextIO

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REQUEST_ID_HEADER: Final = "x-request-id"
CONTEXT_FIELDS: Final = (
    "job_id",
    "task_id",
    "agent",
    "site",
    "module",
    "function",
    "zone",
    "subscription",
    "delivery_id",
    "event_id",
)
"""``extra=`` keys copied onto the line (``module`` is a LogRecord attribute of its own, so the
context's module is passed as ``task_module`` and written as ``module``)."""
MASK: Final = "***"
SECRET_KEY: Final = re.compile(r"pass|secret|token|credential|private|key$", re.IGNORECASE)
_SANE_ID: Final = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


def _masked(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: MASK if SECRET_KEY.search(str(k)) else _masked(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    return value


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        """Render one record (context fields masked where their keys look secret)."""
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
            "request_id": request_id.get(),
        }
        context = record.__dict__
        for key in CONTEXT_FIELDS:
            value = context.get("task_module" if key == "module" else key)
            if value is not None:
                entry[key] = _masked(value)
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


def configure(
    service: str,
    level: str = "INFO",
    *,
    stream: TextIO | None = None,
    loggers: Iterable[str] = (),
) -> logging.Handler:
    """Send the service's logs (and uvicorn's) to ``stream`` (stderr) as JSON lines.

    ``loggers``: the service's own logger names (``contractor.foreman`` …); uvicorn's error
    and access loggers are given the same handler. Returns the handler.
    """
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonFormatter(service))
    for name in (*loggers, "uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level.upper())
        logger.propagate = False
    return handler


class RequestIdMiddleware:
    """Give each HTTP request an id (``X-Request-ID``), on its log lines and its response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one request with its id in :data:`request_id`."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = None
        for name, value in scope.get("headers") or ():
            if name == b"x-request-id":
                given = value.decode("latin-1")
                break
        rid = given if given is not None and _SANE_ID.match(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        header = (b"x-request-id", rid.encode())

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", ()), header]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id.reset(token)
