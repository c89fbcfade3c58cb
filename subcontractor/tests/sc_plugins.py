"""A plugin for agent tests: tasks that wait for the test to let them go."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Mapping
from typing import Any

from subcontractor.plugin import Function, Plugin, PluginConfig, TaskContext, TaskParams
from subcontractor.wire import JsonObject


class HoldParams(TaskParams):
    key: str = "default"


class NapParams(TaskParams):
    seconds: float = 0.0


class LoginParams(TaskParams):
    host: str
    credentials: dict[str, str]


class GateConfig(PluginConfig):
    pass


class GatePlugin(Plugin[GateConfig]):
    name = "gate"
    version = "9.9.9"
    config_model = GateConfig

    def __init__(self, config: GateConfig) -> None:
        super().__init__(config)
        self.gates: dict[str, asyncio.Event] = {}
        self.running = 0
        self.max_running = 0
        self.started: list[str] = []
        self.cancelled: list[str] = []
        self.threads: set[str] = set()
        self._lock = threading.Lock()
        self.thread_gates: dict[str, threading.Event] = {}
        self.stuck_returned: list[str] = []
        self.logins: list[dict[str, str]] = []

    def gate(self, key: str) -> asyncio.Event:
        return self.gates.setdefault(key, asyncio.Event())

    def functions(self) -> Mapping[str, Function[Any]]:
        return {
            "hold": Function(params=HoldParams, handler=self.hold, idempotent=True),
            "nap": Function(params=NapParams, blocking_handler=self.nap, idempotent=False),
            "stuck": Function(params=HoldParams, blocking_handler=self.stuck, idempotent=True),
            "login": Function(params=LoginParams, handler=self.login, idempotent=True),
        }

    async def hold(self, params: HoldParams, ctx: TaskContext) -> JsonObject:
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        self.started.append(ctx.task_id)
        ctx.heartbeat(f"holding {params.key}", 50)
        try:
            await self.gate(params.key).wait()
        except BaseException:
            self.cancelled.append(ctx.task_id)
            raise
        finally:
            self.running -= 1
        return {"key": params.key}

    async def login(self, params: LoginParams, ctx: TaskContext) -> JsonObject:
        """Pretend to log in; carelessly returns the password (the agent must mask it)."""
        self.logins.append(params.credentials)
        return {
            "host": params.host,
            "user": params.credentials["username"],
            "careless": params.credentials["password"],
        }

    def thread_gate(self, key: str) -> threading.Event:
        with self._lock:
            return self.thread_gates.setdefault(key, threading.Event())

    def stuck(self, params: HoldParams, ctx: TaskContext) -> JsonObject:
        """A blocking call that ignores cancellation (like a hung SDK call)."""
        self.thread_gate(params.key).wait(timeout=30)
        self.stuck_returned.append(ctx.task_id)
        return {"key": params.key}

    def nap(self, params: NapParams, ctx: TaskContext) -> JsonObject:
        with self._lock:
            self.threads.add(threading.current_thread().name)
        deadline = time.monotonic() + params.seconds
        while time.monotonic() < deadline and not ctx.cancelled:
            time.sleep(0.01)
        return {
            "slept": params.seconds,
            "main_thread": threading.current_thread() is threading.main_thread(),
        }
