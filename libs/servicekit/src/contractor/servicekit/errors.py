"""The error root every service subclasses, and the one RFC 9457 problem handler.

Services raise subclasses of :class:`ServiceError` (never ``HTTPException``);
:func:`install_problem_handlers` renders them, request validation errors and framework HTTP
errors as ``application/problem+json``. Anything unexpected becomes a bare 500 that leaks
nothing: no message, no traceback, no request data.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_TYPE_PREFIX = "urn:contractor:problem:"
PROBLEM_MEDIA_TYPE = "application/problem+json"

logger = logging.getLogger(__name__)

JsonObject = dict[str, Any]


class ServiceError(Exception):
    """Root of every error a service turns into a problem document.

    Subclasses set ``status``, ``type_slug`` and ``title``; instances carry a ``detail`` and
    JSON-safe ``extra`` members (problem extensions) and, optionally, ``headers``.
    """

    status: ClassVar[int] = 400
    type_slug: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"

    def __init__(self, detail: str = "", **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra: JsonObject = dict(extra)
        self.headers: dict[str, str] = {}


class NotFound(ServiceError):
    """The addressed resource does not exist."""

    status = 404
    type_slug = "not-found"
    title = "Not found"


class Unauthorized(ServiceError):
    """No, or no valid, bearer token."""

    status = 401
    type_slug = "unauthorized"
    title = "Authentication required"

    def __init__(self, detail: str = "", **extra: Any) -> None:
        super().__init__(detail, **extra)
        self.headers["WWW-Authenticate"] = "Bearer"


class Forbidden(ServiceError):
    """The token's role or scope does not allow this."""

    status = 403
    type_slug = "forbidden"
    title = "Forbidden"


class Conflict(ServiceError):
    """A uniqueness or state rule refuses the change."""

    status = 409
    type_slug = "conflict"
    title = "Conflict"


class VersionMismatch(ServiceError):
    """``If-Match`` named another version than the stored one."""

    status = 412
    type_slug = "version-mismatch"
    title = "The resource has changed"


class CursorExpired(ServiceError):
    """A feed cursor is older than the oldest retained event."""

    status = 410
    type_slug = "cursor-expired"
    title = "The cursor is older than the retained events"


class FieldError(ServiceError):
    """A 422 naming one or more fields, in the same shape as request validation errors."""

    status = 422
    type_slug = "validation-error"
    title = "The request is not valid"

    def __init__(
        self,
        loc: Sequence[str | int],
        msg: str,
        *,
        type_slug: str | None = None,
        more: Sequence[tuple[Sequence[str | int], str]] = (),
    ) -> None:
        slug = type_slug or self.type_slug
        errors = [
            {"loc": list(where), "msg": text, "type": slug} for where, text in [(loc, msg), *more]
        ]
        super().__init__(msg, errors=errors)
        self.slug_override = slug


def problem_response(
    *,
    status: int,
    slug: str,
    title: str,
    detail: str,
    instance: str,
    extra: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """Build one ``application/problem+json`` response."""
    body: JsonObject = {
        "type": PROBLEM_TYPE_PREFIX + slug,
        "title": title,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    for key, value in (extra or {}).items():
        body.setdefault(key, value)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _refused(request: Request, status: int, slug: str) -> None:
    """Log a refused request at info: method, path, status and problem type (no body)."""
    logger.info("refused %s %s: %d %s", request.method, request.url.path, status, slug)


async def _service_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ServiceError)
    slug = getattr(exc, "slug_override", exc.type_slug)
    _refused(request, exc.status, slug)
    return problem_response(
        status=exc.status,
        slug=slug,
        title=exc.title,
        detail=exc.detail,
        instance=request.url.path,
        extra=exc.extra,
        headers=exc.headers,
    )


def _error_entry(error: Mapping[str, Any]) -> JsonObject:
    return {
        "loc": list(error.get("loc", ())),
        "msg": str(error.get("msg", "")),
        "type": str(error.get("type", "validation-error")),
    }


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = [_error_entry(e) for e in exc.errors()]
    slugs = {e["type"] for e in errors}
    # Our own error types (read-only, invalid-config, invalid-mac …) are hyphenated, unlike
    # pydantic's; when all errors share one, it names the problem type.
    only = next(iter(slugs)) if len(slugs) == 1 else ""
    slug = only if "-" in only else "validation-error"
    fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in errors)
    _refused(request, 422, slug)
    return problem_response(
        status=422,
        slug=slug,
        title="The request is not valid",
        detail=f"invalid fields: {fields}" if fields else "invalid request",
        instance=request.url.path,
        extra={"errors": errors},
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    phrase = HTTPStatus(exc.status_code).phrase
    slug = {
        404: "not-found",
        405: "method-not-allowed",
        413: "payload-too-large",
        415: "unsupported-media-type",
        401: "unauthorized",
        403: "forbidden",
    }.get(exc.status_code, phrase.lower().replace(" ", "-"))
    detail = exc.detail if isinstance(exc.detail, str) else phrase
    _refused(request, exc.status_code, slug)
    return problem_response(
        status=exc.status_code,
        slug=slug,
        title=phrase,
        detail=detail,
        instance=request.url.path,
        headers=exc.headers,
    )


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    # Logged with the traceback on our side; the client learns nothing about internals.
    logger.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        status=500,
        slug="internal-error",
        title="Internal server error",
        detail="Internal server error",
        instance=request.url.path,
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Render every error of ``app`` as an RFC 9457 problem document."""
    app.add_exception_handler(ServiceError, _service_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)
