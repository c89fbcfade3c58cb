"""The plugin contract (foreman.md §8.5, decision 12).

A plugin is a class registered under the entry-point group ``subcontractor.plugins``; the
entry point's name is the module name foreman sends tasks to. Its contract is its table of
functions: name → ``Function`` (a coroutine or a blocking callable, a parameter model, and
whether running it twice is safe). Capability classes inside a plugin are optional.
"""

from __future__ import annotations

import abc
import logging
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Generic, Self, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field

from subcontractor.client import ForemanClient
from subcontractor.credentials import Credentials
from subcontractor.wire import JsonObject, Progress

P = TypeVar("P", bound=BaseModel)
C = TypeVar("C", bound="PluginConfig")


class PluginConfig(BaseModel):
    """A plugin's ``[plugins.<name>]`` table; plugins subclass it with their own keys."""

    model_config = ConfigDict(extra="forbid")

    enabled: bool = Field(True, description="A table enables its plugin unless this is false.")
    concurrency: int = Field(4, ge=0, description="Tasks of this plugin run at once.")

    def anchored(self, base: Path) -> Self:
        """This config with relative paths made relative to ``base`` (the config file's dir).

        Plugins with path keys override it; the default has none.
        """
        return self


class TaskParams(BaseModel):
    """Base of parameter models: unknown parameters are refused (``invalid_parameters``)."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class Function(Generic[P]):
    """One entry of a plugin's function table.

    Exactly one of ``handler`` (a coroutine function, run in the event loop) and
    ``blocking_handler`` (a plain function, run in a worker thread) is given. Both take the
    validated parameters and the task context and return a JSON object.
    """

    params: type[P]
    idempotent: bool
    handler: Callable[[P, TaskContext], Awaitable[JsonObject]] | None = None
    blocking_handler: Callable[[P, TaskContext], JsonObject] | None = None
    default_timeout_s: float = 300.0
    description: str = ""

    def __post_init__(self) -> None:
        if (self.handler is None) == (self.blocking_handler is None):
            raise TypeError("a Function needs exactly one of handler and blocking_handler")

    @property
    def blocking(self) -> bool:
        """Whether the function runs in a worker thread."""
        return self.blocking_handler is not None


@dataclass
class TaskContext:
    """What a running function may use besides its parameters.

    Attributes:
        task_id: The task's id (also the idempotency key of its side effects).
        attempt: Foreman's attempt number.
        job_id: The job the task belongs to, when foreman said.
        deadline: ``time.monotonic()`` value after which the task is cut off.
        log: A logger bound to the task; it redacts secrets.
        http: The agent's shared HTTP client (proxy settings included).
        state_dir: A directory private to the plugin.
        credentials: Resolves credential references (foreman.md §8.9).
    """

    task_id: str
    attempt: int
    job_id: int | None
    deadline: float
    log: logging.LoggerAdapter[logging.Logger]
    http: httpx.AsyncClient
    state_dir: Path
    credentials: Credentials
    _cancel_flag: threading.Event = field(default_factory=threading.Event)
    _progress: Progress | None = None
    _progress_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def cancelled(self) -> bool:
        """True once the task was canceled; blocking handlers should check it and return."""
        return self._cancel_flag.is_set()

    @property
    def remaining_s(self) -> float:
        """Seconds left before the deadline (never negative)."""
        return max(0.0, self.deadline - time.monotonic())

    def heartbeat(self, message: str, percent: float | None = None) -> None:
        """Report progress; sent with the next heartbeat. Safe to call from any thread."""
        with self._progress_lock:
            self._progress = Progress(message=message)
            if percent is not None:
                self._progress["percent"] = percent

    def take_progress(self) -> Progress | None:
        """The progress reported since the last call, if any (used by the heartbeat loop)."""
        with self._progress_lock:
            progress, self._progress = self._progress, None
        return progress

    def cancel(self) -> None:
        """Mark the task canceled (the agent also cancels its scope)."""
        self._cancel_flag.set()


@dataclass
class PluginContext:
    """What ``Plugin.start`` gets: the agent's services for work that outlives one task.

    Attributes:
        name: The plugin's module name.
        sites: The agent's sites (the first is the default, decision 13).
        foreman: The agent's foreman client (boot relays, events); its identity is current.
        state_dir: A directory private to the plugin.
        log: The plugin's logger.
    """

    name: str
    sites: list[str]
    foreman: ForemanClient
    state_dir: Path
    log: logging.Logger
    _spawn: Callable[[Callable[[], Awaitable[None]], str], None]

    def spawn(self, job: Callable[[], Awaitable[None]], name: str) -> None:
        """Run ``job`` in the background until it ends or the agent stops.

        A failing job is logged, never fatal to the agent.
        """
        self._spawn(job, name)


class Plugin(abc.ABC, Generic[C]):
    """Base of every plugin.

    Attributes:
        name: The module name tasks use (equal to the entry-point name).
        version: Declared to foreman at registration.
        config_model: The model of the plugin's config table.
    """

    name: ClassVar[str]
    version: ClassVar[str] = "0.1.0"
    config_model: ClassVar[type[PluginConfig]] = PluginConfig

    def __init__(self, config: C) -> None:
        self.config = config

    @abc.abstractmethod
    def functions(self) -> Mapping[str, Function[Any]]:
        """The plugin's function table: name → ``Function``."""

    def validate(self) -> list[tuple[str, str]]:
        """Check prerequisites (tools on the path, files); never contacts a device.

        Returns:
            Problems found as ``(dotted config key, reason)``; empty when all is well.
        """
        return []

    async def start(self, ctx: PluginContext) -> None:  # optional hook, empty by default
        """Start long-running services, if the plugin has any (``ctx.spawn``)."""

    async def stop(self) -> None:  # optional hook, empty by default
        """Stop what ``start`` started."""
