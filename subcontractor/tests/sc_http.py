"""Just enough HTTP/1.1 on asyncio streams for the fake foreman and the forwarding proxy."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any


@dataclass
class Message:
    """A request (``start`` = request line) or a response (``start`` = status line)."""

    start: str
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def encode(self) -> bytes:
        lines = [self.start, *(f"{k}: {v}" for k, v in self.headers), "", ""]
        return "\r\n".join(lines).encode("latin-1") + self.body


async def read_message(reader: asyncio.StreamReader) -> Message | None:
    """Read one message with a ``Content-Length`` body; ``None`` at end of stream."""
    start = await reader.readline()
    if not start:
        return None
    message = Message(start.decode("latin-1").rstrip("\r\n"))
    while True:
        line = (await reader.readline()).decode("latin-1").rstrip("\r\n")
        if not line:
            break
        key, _, value = line.partition(":")
        message.headers.append((key.strip(), value.strip()))
    length = int(message.header("content-length") or 0)
    message.body = await reader.readexactly(length) if length else b""
    return message


def json_response(status: int, body: Any, extra: list[tuple[str, str]] | None = None) -> Message:
    data = json.dumps(body).encode()
    kind = "application/problem+json" if status >= 400 else "application/json"
    reason = HTTPStatus(status).phrase
    headers = [("Content-Type", kind), ("Content-Length", str(len(data))), *(extra or [])]
    return Message(f"HTTP/1.1 {status} {reason}", headers, data)


def problem(status: int, slug: str, detail: str = "", **extensions: Any) -> Message:
    body = {
        "type": f"urn:contractor:problem:{slug}",
        "title": slug.replace("-", " ").capitalize(),
        "status": status,
        "detail": detail or slug,
        **extensions,
    }
    extra = [("Retry-After", "0")] if status in (429, 503) else []
    return json_response(status, body, extra)
