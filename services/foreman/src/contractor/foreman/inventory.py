"""The one way foreman talks to inventory: HTTP through :class:`InventoryClient` (spec §9).

Every call uses foreman's service token. Failures are classified once (:func:`is_transient`):
a transport error, 429 or 5xx is transient (retried by the caller until acknowledged); any
other 4xx is inventory's verdict and is raised as :class:`InventoryProblem` with inventory's
status, slug, detail and extensions.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import httpx
from contractor.foreman.errors import InventoryProblem, InventoryUnavailable
from contractor.servicekit.errors import PROBLEM_TYPE_PREFIX

TARGET_COLLECTIONS = {
    "foundation": "foundations",
    "structure": "structures",
    "dependency": "dependencies",
}
_STANDARD = ("type", "title", "status", "detail", "instance")
STALE_CONNECTION = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError)
"""What a request on a connection the server has just closed fails with."""


def target_path(kind: str, key: str) -> str:
    """``/api/v1/{targets}/{key}`` of a job target."""
    return f"/api/v1/{TARGET_COLLECTIONS[kind]}/{quote(key, safe='')}"


def is_transient(exc: BaseException) -> bool:
    """Whether an inventory failure is worth retrying."""
    # Network trouble, 429 and 5xx: inventory will come back. A 4xx problem is inventory's
    # answer; retrying would get the same one.
    return isinstance(exc, InventoryUnavailable)


class InventoryClient:
    """Typed calls to inventory's API (its spec §5.4, §12.3–§12.5, §13.1)."""

    def __init__(
        self, http: httpx.AsyncClient, observe: Callable[[str, str, float], None] | None = None
    ) -> None:
        self.http = http
        self.observe = observe  # (op, outcome, seconds) of every call

    async def _call(self, op: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        started = time.perf_counter()
        outcome = "unavailable"
        try:
            response = await self._send(method, path, **kwargs)
            outcome = "ok" if response.status_code < 400 else "refused"
        finally:
            if self.observe is not None:
                self.observe(op, outcome, time.perf_counter() - started)
        if response.status_code >= 400:
            raise _problem(response)
        return response

    async def _send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            try:
                response = await self.http.request(method, path, **kwargs)
            except STALE_CONNECTION:
                # A pooled keep-alive connection that inventory closed as we reused it: one
                # immediate retry on a fresh connection (every call foreman makes is idempotent).
                response = await self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise InventoryUnavailable(f"inventory unreachable: {type(exc).__name__}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            raise InventoryUnavailable(f"inventory answered {response.status_code}")
        return response

    async def introspect(self, token: str) -> dict[str, Any]:
        """``POST /tokens/introspect``: ``{active, id, name, role, sites}``."""
        response = await self._call(
            "introspect", "POST", "/api/v1/tokens/introspect", json={"token": token}
        )
        answer: dict[str, Any] = response.json()
        return answer

    async def reserve(
        self, kind: str, key: str, *, job_id: int, script: str, wait: bool
    ) -> dict[str, Any]:
        """``PUT /{targets}/{key}/job``: granted or blocked answer (refusals raise)."""
        body = {"job_id": job_id, "script": script, "wait": wait}
        response = await self._call("reserve", "PUT", f"{target_path(kind, key)}/job", json=body)
        answer: dict[str, Any] = response.json()
        return answer

    async def snapshot(self, kind: str, key: str) -> dict[str, Any]:
        """``GET /{targets}/{key}/snapshot``."""
        response = await self._call("snapshot", "GET", f"{target_path(kind, key)}/snapshot")
        answer: dict[str, Any] = response.json()
        return answer

    async def complete(
        self, kind: str, key: str, *, job_id: int, from_state: str, to_state: str
    ) -> dict[str, Any]:
        """``POST /{targets}/{key}/state`` with ``release_job`` (completion, spec §2.8)."""
        body = {"from": from_state, "to": to_state, "job_id": job_id, "release_job": True}
        response = await self._call(
            "complete", "POST", f"{target_path(kind, key)}/state", json=body
        )
        answer: dict[str, Any] = response.json()
        return answer

    async def apply_writes(
        self, *, job_id: int, batch_id: str, writes: list[dict[str, Any]]
    ) -> dict[str, Any]:
        """``POST /job-writes``: one atomic batch; the answer is the refreshed snapshot."""
        body = {"job_id": job_id, "batch_id": batch_id, "writes": writes}
        response = await self._call("apply_writes", "POST", "/api/v1/job-writes", json=body)
        answer: dict[str, Any] = response.json()
        return answer

    async def job_call(
        self, *, job_id: int, call_id: str, op: str, params: dict[str, Any]
    ) -> dict[str, Any] | None:
        """``POST /job-calls``: a call that returns data (``map_ports``; idempotent by call id)."""
        body = {"job_id": job_id, "call_id": call_id, "op": op, "params": params}
        response = await self._call("job_call", "POST", "/api/v1/job-calls", json=body)
        if response.status_code == 204 or not response.content:
            return None
        answer: dict[str, Any] = response.json()
        return answer

    async def events_head(self) -> str:
        """``GET /events/head``: the newest cursor of inventory's feed."""
        response = await self._call("events_head", "GET", "/api/v1/events/head")
        return str(response.json()["cursor"])

    async def events(self, *, after: str, wait: float, types: str) -> dict[str, Any]:
        """``GET /events``: long-poll inventory's feed (``{events, next_cursor}``)."""
        params = {"after": after, "wait": wait, "types": types}
        timeout = httpx.Timeout(wait + 10, connect=5)
        response = await self._call(
            "events", "GET", "/api/v1/events", params=params, timeout=timeout
        )
        answer: dict[str, Any] = response.json()
        return answer

    async def resolve(self, site: str, *, mac: str | None = None, ip: str | None = None) -> Any:
        """``GET /resolve``: ``{target, interface}``, or None when nothing matches (404)."""
        params = {"site": site, **({"mac": mac} if mac else {}), **({"ip": ip} if ip else {})}
        try:
            response = await self._call("resolve", "GET", "/api/v1/resolve", params=params)
        except InventoryProblem as exc:
            if exc.status == 404:
                return None
            raise
        return response.json()

    async def render(self, body: dict[str, Any]) -> dict[str, Any]:
        """``POST /boot/render`` (inventory spec §12.5)."""
        response = await self._call("render", "POST", "/api/v1/boot/render", json=body)
        answer: dict[str, Any] = response.json()
        return answer

    async def dhcp(self, site: str, etag: str | None) -> tuple[dict[str, Any] | None, str | None]:
        """``GET /dhcp/{site}`` with ``If-None-Match``: (body or None when unchanged, ETag)."""
        headers = {"If-None-Match": etag} if etag else {}
        response = await self._call(
            "dhcp", "GET", f"/api/v1/dhcp/{quote(site, safe='')}", headers=headers
        )
        if response.status_code == 304:
            return None, etag
        body: dict[str, Any] = response.json()
        return body, response.headers.get("ETag")

    async def discovery(self, report: dict[str, Any]) -> dict[str, Any]:
        """``POST /discovery/reports``: inventory's answer, unchanged."""
        response = await self._call("discovery", "POST", "/api/v1/discovery/reports", json=report)
        answer: dict[str, Any] = response.json()
        return answer

    async def release(self, kind: str, key: str, *, job_id: int) -> None:
        """``DELETE /{targets}/{key}/job?job_id=`` (idempotent)."""
        await self._call(
            "release", "DELETE", f"{target_path(kind, key)}/job", params={"job_id": job_id}
        )


def _problem(response: httpx.Response) -> InventoryProblem:
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    slug = str(body.get("type", "")).removeprefix(PROBLEM_TYPE_PREFIX) or "inventory-refused"
    title = str(body.get("title") or response.reason_phrase)
    detail = str(body.get("detail") or title)
    extra = {k: v for k, v in body.items() if k not in _STANDARD}
    return InventoryProblem(response.status_code, slug, title, detail, extra)
