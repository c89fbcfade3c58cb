"""A fake foreman serving /agent/v1 (foreman.md §5) over real HTTP on 127.0.0.1.

It keeps tasks as the spec describes (pending → leased → started → succeeded/failed),
records every request, accepts each outcome once per (task id, attempt), and can be told
to fail the next calls of a route with a status, a problem, or a dropped connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sc_http import Message, json_response, problem, read_message

Fault = Message | str  # a canned answer, or "drop" to close the connection unanswered


@dataclass
class FakeTask:
    id: str
    module: str
    function: str
    parameters: dict[str, Any]
    attempt: int = 1
    idempotent: bool = True
    needs_start_ack: bool = False
    timeout_s: float | None = None
    job_id: int = 1
    state: str = "pending"
    cancel_requested: bool = False
    refuse_start: bool = False
    outcomes: list[dict[str, Any]] = field(default_factory=list)
    repeats: int = 0
    heartbeats: list[dict[str, Any]] = field(default_factory=list)
    releases: list[dict[str, Any]] = field(default_factory=list)
    deliveries: int = 0
    lease_until: float = float("inf")
    expired: int = 0

    def offer(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "attempt": self.attempt,
            "job_id": self.job_id,
            "site": "dc1",
            "module": self.module,
            "function": self.function,
            "parameters": self.parameters,
            "idempotent": self.idempotent,
            "needs_start_ack": self.needs_start_ack,
            "timeout_s": self.timeout_s,
            "lease_until": "2030-01-01T00:01:00.000Z",
            "trace_id": "0123456789abcdef",
            "unknown_future_field": True,
        }


class FakeForeman:
    def __init__(self, token: str = "agent-token-s3cret") -> None:
        self.token = token
        self.agent_id = str(uuid.uuid4())
        self.incarnation = ""
        self.tasks: dict[str, FakeTask] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []  # (route, body)
        self.faults: dict[str, list[Fault]] = {}
        self.cancels: list[str] = []
        self.redeliver: list[str] = []
        self.deregistered = False
        self.events: list[dict[str, Any]] = []
        self.pxe_by_mac: dict[str, str] = {}  # what the render relay answers per MAC
        self.lease_s: float | None = None  # None: leases never expire
        self._reaper: asyncio.Task[None] | None = None
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._changed = asyncio.Event()
        self._jobs = itertools.count(1)
        self._poll_generation = 0
        self.port = 0

    # -- test controls ---------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_task(
        self, module: str, function: str, parameters: dict[str, Any], **kw: Any
    ) -> FakeTask:
        task = FakeTask(
            str(uuid.uuid4()), module, function, parameters, job_id=next(self._jobs), **kw
        )
        self.tasks[task.id] = task
        self._notify()
        return task

    def cancel(self, task_id: str) -> None:
        self.tasks[task_id].cancel_requested = True
        self.cancels.append(task_id)
        self._notify()

    def fail_next(self, route: str, *faults: Fault) -> None:
        self.faults.setdefault(route, []).extend(faults)

    def calls(self, route: str) -> list[dict[str, Any]]:
        return [body for name, body in self.requests if name == route]

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not reached in time; {self.describe()}")
            await asyncio.sleep(0.01)

    def describe(self) -> str:
        states = [(t.function, t.state, len(t.outcomes)) for t in self.tasks.values()]
        routes: dict[str, int] = {}
        for name, _ in self.requests:
            routes[name] = routes.get(name, 0) + 1
        return f"tasks {states}; requests {routes}"

    def _notify(self) -> None:
        self._changed.set()
        self._changed = asyncio.Event()

    # -- server ----------------------------------------------------------------------
    async def start(self) -> None:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        self._reaper = asyncio.ensure_future(self._reap())

    async def stop(self) -> None:
        assert self._server is not None and self._reaper is not None
        self._reaper.cancel()
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            while (request := await read_message(reader)) is not None:
                answer = await self._dispatch(request)
                if answer is None:
                    break  # "drop": close without answering
                writer.write(answer.encode())
                await writer.drain()
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass  # client gone, or the server is stopping
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _dispatch(self, request: Message) -> Message | None:
        method, path, _ = request.start.split(" ", 2)
        parts = path.strip("/").split("/")
        if method != "POST" or parts[:2] != ["agent", "v1"]:
            return problem(404, "not-found", path)
        if parts[2] == "tasks":
            route, task_id = parts[4], parts[3]
        else:
            route, task_id = "_".join(parts[2:]), ""  # boot/render → boot_render
        body = request.json() or {}
        self.requests.append((route, {"task_id": task_id, **body}))
        if request.header("authorization") != f"Bearer {self.token}":
            return problem(401, "unauthorized", "bad token")
        queued = self.faults.get(route)
        if queued:
            fault = queued.pop(0)
            return None if fault == "drop" else fault  # type: ignore[return-value]
        handler = getattr(self, f"_route_{route}", None)
        if handler is None:
            return problem(404, "not-found", path)
        return await handler(task_id, body)  # type: ignore[no-any-return]

    def _renew(self, task: FakeTask) -> None:
        if self.lease_s is not None:
            task.lease_until = time.monotonic() + self.lease_s

    async def _reap(self) -> None:
        """Expired leases are re-offered with the next attempt (§4.3, idempotent tasks)."""
        while True:
            await asyncio.sleep(0.01)
            for task in self.tasks.values():
                if task.state in ("leased", "started") and task.lease_until < time.monotonic():
                    task.state, task.attempt, task.expired = (
                        "pending",
                        task.attempt + 1,
                        task.expired + 1,
                    )
                    task.lease_until = float("inf")
                    self._notify()

    # -- routes ------------------------------------------------------------------------
    def _current(self, body: dict[str, Any]) -> bool:
        return body.get("agent_id") == self.agent_id and body.get("incarnation") == self.incarnation

    async def _route_register(self, _: str, body: dict[str, Any]) -> Message:
        self.incarnation = str(uuid.uuid4())
        self._notify()  # answers polls of the old incarnation
        for task in self.tasks.values():  # the old incarnation's unstarted leases go back
            if task.state == "leased":
                task.state = "pending"
        return json_response(
            200,
            {
                "agent_id": self.agent_id,
                "incarnation": self.incarnation,
                "lease_s": 60,
                "heartbeat_s": 20,
                "start_ack_timeout_s": 30,
                "poll_wait_max_s": 30,
                "server_time": "2030-01-01T00:00:00.000Z",
            },
        )

    async def _route_poll(self, _: str, body: dict[str, Any]) -> Message:
        if not self._current(body):
            return problem(409, "reregister", "unknown incarnation")
        deadline = time.monotonic() + float(body.get("wait_s", 0))
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()
        held = {item["id"] for item in body.get("running", [])}
        for item in body.get("running", []):
            listed = self.tasks.get(item["id"])
            if listed is not None and listed.attempt == item.get("attempt"):
                self._renew(listed)
        for task in self.tasks.values():  # reconciliation (§4.3): a lost answer is delivered again
            if task.state == "leased" and task.id not in held and task.id not in self.redeliver:
                self.redeliver.append(task.id)
        while True:
            changed = self._changed
            if generation != self._poll_generation:  # a newer poll answers this one at once
                return json_response(200, {"tasks": [], "cancel": []})
            offers = self._claim(body)
            cancels, self.cancels = self.cancels, []
            if offers or cancels or time.monotonic() >= deadline:
                return json_response(
                    200,
                    {"tasks": offers, "cancel": cancels, "server_time": "2030-01-01T00:00:00.000Z"},
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), deadline - time.monotonic())

    def _claim(self, body: dict[str, Any]) -> list[dict[str, Any]]:
        capacity = {m: int(v.get("capacity", 0)) for m, v in body.get("modules", {}).items()}
        offers = []
        for task_id in self.redeliver:
            offers.append(self.tasks[task_id].offer())
        self.redeliver = []
        for task in self.tasks.values():
            if task.state == "pending" and capacity.get(task.module, 0) > 0:
                capacity[task.module] -= 1
                task.state, task.deliveries = "leased", task.deliveries + 1
                self._renew(task)
                offers.append(task.offer())
        return offers

    def _task_problem(self, task_id: str, attempt: Any) -> Message | None:
        task = self.tasks.get(task_id)
        if task is None:
            return problem(409, "unknown-task", task_id)
        if attempt != task.attempt:
            return problem(409, "stale-attempt", f"task is at attempt {task.attempt}", cancel=True)
        if task.state == "canceled":
            return problem(409, "task-canceled", task_id, cancel=True)
        return None

    async def _route_heartbeat(self, task_id: str, body: dict[str, Any]) -> Message:
        if not self._current(body):
            return problem(409, "reregister", "unknown incarnation")
        refused = self._task_problem(task_id, body.get("attempt"))
        if refused is not None:
            return refused
        task = self.tasks[task_id]
        task.heartbeats.append(body)
        self._renew(task)
        if body.get("phase") == "started":
            if task.refuse_start:
                return problem(409, "stale-attempt", "re-offered meanwhile", cancel=True)
            task.state = "started"
        return json_response(
            200, {"lease_until": "2030-01-01T00:02:00.000Z", "cancel": task.cancel_requested}
        )

    def _record(self, task_id: str, kind: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        task = self.tasks.get(task_id)
        if task is not None and any(o["attempt"] == body.get("attempt") for o in task.outcomes):
            task.repeats += 1
            return 200, {"status": "already recorded"}
        refused = self._task_problem(task_id, body.get("attempt"))
        if refused is not None:
            return refused.json()["status"], refused.json()
        assert task is not None
        if task.state not in ("leased", "started"):
            return 409, problem(409, "task-canceled", f"task is {task.state}").json()
        task.outcomes.append({"outcome": kind, **body})
        task.state = "succeeded" if kind == "result" else "failed"
        self._notify()
        return 200, {"status": "recorded"}

    async def _route_result(self, task_id: str, body: dict[str, Any]) -> Message:
        status, answer = self._record(task_id, "result", body)
        return json_response(status, answer)

    async def _route_error(self, task_id: str, body: dict[str, Any]) -> Message:
        status, answer = self._record(task_id, "error", body)
        if status == 200 and answer["status"] == "recorded":
            answer["will_retry"] = bool(body.get("retryable"))
        return json_response(status, answer)

    async def _route_results(self, _: str, body: dict[str, Any]) -> Message:
        items = []
        for item in body.get("items", []):
            task_id = item["task_id"]
            status, answer = self._record(task_id, item["outcome"], item)
            if status == 200:
                items.append({"task_id": task_id, "status": answer["status"]})
            else:
                slug = answer["type"].removeprefix("urn:contractor:problem:")
                items.append({"task_id": task_id, "status": "rejected", "problem": slug})
        return json_response(200, {"items": items})

    async def _route_release(self, task_id: str, body: dict[str, Any]) -> Message:
        refused = self._task_problem(task_id, body.get("attempt"))
        if refused is not None:
            return refused
        task = self.tasks[task_id]
        task.releases.append(body)
        task.state = "released"
        return json_response(200, {"status": "released", "reoffered": True})

    async def _route_events(self, _: str, body: dict[str, Any]) -> Message:
        events = body.get("events", [])
        self.events.extend(events)
        return json_response(202, {"accepted": len(events)})

    async def _route_boot_render(self, _: str, body: dict[str, Any]) -> Message:
        mac = body.get("selector", {}).get("mac", "")
        pxe = self.pxe_by_mac.get(mac)
        if pxe is None:
            script = "#!ipxe\n\necho no boot instruction yet\nsleep 10\nchain --autofree x\n"
        elif pxe == "normal-boot":
            script = "#!ipxe\n\nsanboot --no-describe --drive 0x80\n"
        else:
            script = f"#!ipxe\n\nkernel http://static/{pxe}.vmlinuz\nboot\n"
        return json_response(
            200,
            {
                "status": 200,
                "content_type": "text/plain; charset=utf-8",
                "body": script,
                "pxe": pxe,
                "job_id": 1,
                "target": {"kind": "foundation", "key": mac},
            },
        )

    async def _route_boot_signal(self, _: str, body: dict[str, Any]) -> Message:
        return json_response(200, {"result": "received", "job_id": 1, "pxe_name": "x"})

    async def _route_boot_discovery(self, _: str, body: dict[str, Any]) -> Message:
        return json_response(
            200,
            {
                "identifier": "abc",
                "status": "located",
                "locator": "rack1-u12",
                "matched_by": "mac",
                "messages": [],
                "next": "poweroff",
                "retry_after_s": 30,
            },
        )

    async def _route_deregister(self, _: str, body: dict[str, Any]) -> Message:
        if not self._current(body):
            return problem(409, "reregister", "unknown incarnation")
        self.deregistered = True
        return json_response(200, {"status": "offline"})
