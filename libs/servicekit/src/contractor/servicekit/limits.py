"""Request body limits: size (413 ``payload-too-large``) and media type (415).

A pure ASGI middleware, so it runs before routing and body parsing. Bodies are buffered up to
the limit (1 MiB by default) and replayed to the app.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from contractor.servicekit.errors import problem_response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MIB = 1024 * 1024
JSON_TYPES = frozenset({"application/json"})
BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


@dataclass(frozen=True)
class BodyRule:
    """How big a body may be and which media types it may have."""

    max_bytes: int = MIB
    media_types: frozenset[str] = JSON_TYPES


class RequestLimits:
    """Refuse oversized bodies and bodies of the wrong media type, as problem documents.

    Args:
        app: The wrapped application.
        default: The rule for every path not in ``overrides``.
        overrides: Rules for exact paths (e.g. an import route taking 5 MiB of TOML).
    """

    def __init__(
        self, app: ASGIApp, default: BodyRule = BodyRule(), overrides: Mapping[str, BodyRule] = {}
    ) -> None:
        self.app = app
        self.default = default
        self.overrides = dict(overrides)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the request, then pass it on with its body replayed."""
        if scope["type"] != "http" or scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        rule = self.overrides.get(scope["path"], self.default)
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        declared = headers.get("content-length", "")
        if declared.isdigit() and int(declared) > rule.max_bytes:
            await self._refuse(scope, receive, send, 413, rule)
            return
        body, too_big = await _read(receive, rule.max_bytes)
        if too_big:
            await self._refuse(scope, receive, send, 413, rule)
            return
        if body and media not in rule.media_types and not media.endswith("+json"):
            await self._refuse(scope, receive, send, 415, rule)
            return
        await self.app(scope, _replay(body, receive), send)

    async def _refuse(
        self, scope: Scope, receive: Receive, send: Send, status: int, rule: BodyRule
    ) -> None:
        if status == 413:
            slug, title = "payload-too-large", "The request body is too large"
            detail = f"request bodies are limited to {rule.max_bytes} bytes"
        else:
            slug, title = "unsupported-media-type", "Unsupported media type"
            detail = f"send one of: {', '.join(sorted(rule.media_types))}"
        response = problem_response(
            status=status, slug=slug, title=title, detail=detail, instance=scope["path"]
        )
        await response(scope, receive, send)


async def _read(receive: Receive, limit: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return b"", True
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks), False


def _replay(body: bytes, original: Receive) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await original()  # later reads wait for the real disconnect

    return receive
