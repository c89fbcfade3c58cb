"""The agent's HTTP client for foreman's ``/agent/v1`` routes (foreman.md §5).

One shared ``httpx.AsyncClient`` (HTTP/1.1 keep-alive, the configured proxy). Every non-2xx
answer becomes ``ForemanRefused``; transport failures stay ``httpx`` errors. Deciding what
to do about either is ``retry.classify``'s job, not this module's.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence
from typing import Any

import httpx

from subcontractor import __version__
from subcontractor.errors import ForemanRefused
from subcontractor.settings import ForemanSettings
from subcontractor.wire import (
    AgentEvent,
    HeartbeatAnswer,
    HeartbeatRequest,
    JsonObject,
    ModuleCapacity,
    ModuleDeclaration,
    Outcome,
    OutcomeStatus,
    PollAnswer,
    Progress,
    RegisterRequest,
    Registration,
    RunningTask,
)

API = "/agent/v1"
# The long-poll is held by foreman up to wait_s; allow that plus margin (foreman.md §8.3).
POLL_READ_MARGIN_S = 15.0


def make_http_client(settings: ForemanSettings) -> httpx.AsyncClient:
    """Build the shared client: base URL, bearer token, proxy, TLS and timeouts."""
    verify: Any = settings.verify_tls
    if settings.verify_tls and settings.ca_file is not None:
        verify = str(settings.ca_file)
    return httpx.AsyncClient(
        base_url=settings.url,
        headers={"Authorization": f"Bearer {settings.token.get_secret_value()}"},
        proxy=settings.proxy or None,
        trust_env=not settings.proxy,  # an explicit proxy wins over HTTP(S)_PROXY
        verify=verify,
        timeout=httpx.Timeout(30.0, connect=settings.connect_timeout_s),
    )


class Identity:
    """The agent id and incarnation from the last successful ``register``."""

    def __init__(self, agent_id: str = "", incarnation: str = "") -> None:
        self.agent_id = agent_id
        self.incarnation = incarnation


class ForemanClient:
    """Typed calls to ``/agent/v1``; one method per route."""

    def __init__(self, http: httpx.AsyncClient, identity: Identity | None = None) -> None:
        self.http = http
        self.identity = identity or Identity()

    async def _post(
        self, path: str, body: JsonObject | Any, *, timeout: float | None = None
    ) -> Any:
        kwargs: dict[str, Any] = {"json": body}
        if timeout is not None:
            kwargs["timeout"] = httpx.Timeout(timeout, connect=self.http.timeout.connect)
        response = await self.http.post(f"{API}{path}", **kwargs)
        if response.status_code >= 400:
            raise refusal(response)
        return response.json() if response.content else {}

    async def register(
        self, name: str, sites: list[str], modules: dict[str, ModuleDeclaration]
    ) -> Registration:
        """``POST /register``; remembers the new identity."""
        body = RegisterRequest(
            name=name,
            version=__version__,
            hostname=socket.gethostname(),
            sites=sites,
            modules=modules,
        )
        registration = Registration.model_validate(await self._post("/register", body))
        self.identity.agent_id = registration.agent_id
        self.identity.incarnation = registration.incarnation
        return registration

    async def poll(
        self,
        sites: list[str],
        capacity: dict[str, int],
        running: Sequence[RunningTask],
        wait_s: float,
    ) -> PollAnswer:
        """``POST /poll``: long-poll for tasks, listing the tasks held."""
        body = {
            "agent_id": self.identity.agent_id,
            "incarnation": self.identity.incarnation,
            "sites": sites,
            "modules": {name: ModuleCapacity(capacity=n) for name, n in capacity.items() if n > 0},
            "running": list(running),
            "wait_s": wait_s,
        }
        answer = await self._post("/poll", body, timeout=wait_s + POLL_READ_MARGIN_S)
        return PollAnswer.model_validate(answer)

    async def heartbeat(
        self, task_id: str, attempt: int, phase: str, progress: Progress | None = None
    ) -> HeartbeatAnswer:
        """``POST /tasks/{id}/heartbeat`` with phase ``started`` or ``running``."""
        body: HeartbeatRequest = {
            "agent_id": self.identity.agent_id,
            "incarnation": self.identity.incarnation,
            "attempt": attempt,
            "phase": "started" if phase == "started" else "running",
        }
        if progress:
            body["progress"] = progress
        answer = await self._post(f"/tasks/{task_id}/heartbeat", body)
        return HeartbeatAnswer.model_validate(answer)

    async def post_outcome(self, outcome: Outcome) -> OutcomeStatus:
        """``POST /tasks/{id}/result`` or ``/tasks/{id}/error`` for one outcome."""
        path = f"/tasks/{outcome.task_id}/{outcome.outcome}"
        answer = await self._post(path, outcome.single_body())
        return OutcomeStatus.model_validate({"task_id": outcome.task_id, **answer})

    async def post_outcomes(
        self, agent_id: str, outcomes: Sequence[Outcome]
    ) -> list[OutcomeStatus]:
        """``POST /results``: several outcomes, each settled on its own (order kept)."""
        body = {"agent_id": agent_id, "items": [outcome.item() for outcome in outcomes]}
        answer = await self._post("/results", body)
        return [OutcomeStatus.model_validate(item) for item in answer.get("items", [])]

    async def release(self, task_id: str, attempt: int, *, started: bool, reason: str) -> None:
        """``POST /tasks/{id}/release``: hand a task back."""
        body = {
            "agent_id": self.identity.agent_id,
            "attempt": attempt,
            "started": started,
            "reason": reason,
        }
        await self._post(f"/tasks/{task_id}/release", body)

    async def post_events(self, events: Sequence[AgentEvent]) -> int:
        """``POST /events``: boot-path observations for job timelines; returns the count taken."""
        body = {"agent_id": self.identity.agent_id, "events": list(events)}
        answer = await self._post("/events", body)
        return int(answer.get("accepted", 0))

    async def boot_render(self, body: JsonObject) -> JsonObject:
        """``POST /boot/render`` (§5.10): what to answer a booting machine."""
        answer: JsonObject = await self._post("/boot/render", body)
        return answer

    async def boot_signal(self, body: JsonObject) -> JsonObject:
        """``POST /boot/signal`` (§5.10): a boot image, or the sim, reports completion."""
        answer: JsonObject = await self._post("/boot/signal", body)
        return answer

    async def boot_discovery(self, body: JsonObject) -> JsonObject:
        """``POST /boot/discovery`` (§5.10): a discovery report; answers inventory's verdict."""
        answer: JsonObject = await self._post("/boot/discovery", body)
        return answer

    async def deregister(self, reason: str) -> None:
        """``POST /deregister``: go offline."""
        body = {
            "agent_id": self.identity.agent_id,
            "incarnation": self.identity.incarnation,
            "reason": reason,
        }
        await self._post("/deregister", body)


def refusal(response: httpx.Response) -> ForemanRefused:
    """Read a problem document (or anything) from an error answer."""
    slug, detail = "", response.reason_phrase
    try:
        problem = response.json()
    except ValueError:
        problem = None
    if isinstance(problem, dict):
        kind = str(problem.get("type", ""))
        slug = kind.removeprefix(ForemanRefused.PREFIX)
        detail = str(problem.get("detail", detail))
    retry_after = response.headers.get("retry-after", "")
    after = float(retry_after) if retry_after.replace(".", "", 1).isdigit() else None
    return ForemanRefused(response.status_code, slug, detail, after)
