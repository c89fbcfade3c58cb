"""Inventory's additions to the service kit's problem handlers.

* A unique constraint violated by a racing write (PostgreSQL lets two transactions pass the same
  "is it taken?" check) answers the 409 the non-racing path gives, never a 500.
* An integer id path parameter beyond the 64-bit range names nothing: 404, not 422.
* A malformed JSON body is parsed before any dependency runs; the token (and the route's roles)
  are checked first, so a caller who may not make the request is told 401 (or 403) rather than
  what is wrong with its body.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from contractor.inventory import deps
from contractor.inventory.errors import HostnameConflict
from contractor.servicekit.auth import Role, require_role
from contractor.servicekit.errors import (
    Conflict,
    NotFound,
    ServiceError,
    _service_error,
    _validation_error,
)
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import IntegrityError

logger = logging.getLogger(__name__)

UNIQUE_SQLSTATE = "23505"
# PostgreSQL's detail: Key (site, hostname)=(dc1, web1) already exists.
_PG_KEY = re.compile(r"Key \((?P<columns>[^)]*)\)=\((?P<values>.*)\) already exists")
# SQLite's message: UNIQUE constraint failed: structures.site, structures.hostname
_SQLITE_KEY = re.compile(r"UNIQUE constraint failed: (?P<columns>.*)")
_RANGE_ERRORS = frozenset({"greater_than_equal", "less_than_equal"})


def unique_violation(exc: IntegrityError) -> dict[str, str] | None:
    """The columns (and values, when known) of a violated unique constraint, else ``None``."""
    orig: Any = exc.orig
    cause: Any = getattr(orig, "__cause__", None)
    sqlstate = getattr(orig, "sqlstate", None) or getattr(cause, "sqlstate", None)
    if sqlstate is not None:
        if sqlstate != UNIQUE_SQLSTATE:
            return None
        match = _PG_KEY.search(str(getattr(cause, "detail", None) or orig))
        if match is None:
            return {}
        columns = [c.strip() for c in match["columns"].split(",")]
        values = [v.strip() for v in match["values"].split(",")]
        return dict(zip(columns, values, strict=False)) if len(columns) == len(values) else {}
    match = _SQLITE_KEY.search(str(orig))
    if match is None:
        return None
    return {c.strip().rsplit(".", 1)[-1]: "" for c in match["columns"].split(",")}


def conflict_for(key: dict[str, str]) -> ServiceError:
    """The problem a non-racing request would have met for the same unique key."""
    if "hostname" in key and "site" in key:
        hostname = key["hostname"]
        clash = [{"hostname": hostname, "site": key["site"]}] if hostname else []
        return HostnameConflict(hostname or "of the structure", clash)
    shown = ", ".join(f"{c}={v}" if v else c for c, v in key.items())
    return Conflict(f"the value is already taken ({shown})" if shown else "already taken")


async def _integrity_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, IntegrityError)
    key = unique_violation(exc)
    if key is None:  # not a uniqueness race: an internal error, as before
        logger.error("integrity error on %s %s", request.method, request.url.path, exc_info=exc)
        return await _service_error(request, _Internal())
    return await _service_error(request, conflict_for(key))


class _Internal(ServiceError):
    status = 500
    type_slug = "internal-error"
    title = "Internal server error"


async def _validation_or_auth_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    if any(e.get("type") == "json_invalid" for e in errors) and _needs_token(request):
        try:
            principal = await deps.authenticate(request, request.headers.get("authorization"))
            for allowed in _role_checks(request):
                require_role(principal, allowed)
        except ServiceError as auth_error:
            return await _service_error(request, auth_error)
    if errors and all(
        e.get("loc", ())[:1] == ("path",) and e.get("type") in _RANGE_ERRORS for e in errors
    ):
        return await _service_error(request, NotFound("no such id"))
    return await _validation_error(request, exc)


def _needs_token(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _role_checks(request: Request) -> list[frozenset[Role]]:
    """The roles the matched route's ``requires`` dependencies allow."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return []
    return [deps.ROLE_CHECKS[d.call] for d in dependant.dependencies if d.call in deps.ROLE_CHECKS]


def install(app: FastAPI) -> None:
    """Add inventory's handlers (after the service kit's, which they refine)."""
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(RequestValidationError, _validation_or_auth_error)
