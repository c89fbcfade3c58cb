"""The iputils plugin's function table."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Mapping
from typing import Any

from pydantic import Field

from subcontractor.errors import PluginError
from subcontractor.plugin import Function, Plugin, PluginConfig, TaskContext, TaskParams
from subcontractor.plugins.iputils import icmp
from subcontractor.plugins.iputils.ports import port_check
from subcontractor.wire import JsonObject


class IputilsConfig(PluginConfig):
    """``[plugins.iputils]``."""

    concurrency: int = Field(32, ge=0, description="Checks run at once.")
    ping_method: icmp.Method = Field("auto", description="auto, datagram, raw or command.")
    ping_command: str = Field("ping", description="The ping program for method command.")


class PingParams(TaskParams):
    """``ping {target, count, timeout}``."""

    target: str = Field(min_length=1)
    count: int = Field(5, ge=1, le=100)
    timeout: float = Field(1.0, gt=0, le=60)


class PortCheckParams(TaskParams):
    """``port_check {target, port, timeout}``."""

    target: str = Field(min_length=1)
    port: int = Field(ge=1, le=65535)
    timeout: float = Field(5.0, gt=0, le=600)


class IputilsPlugin(Plugin[IputilsConfig]):
    """ICMP echo and TCP connect checks."""

    name = "iputils"
    version = "0.1.0"
    config_model = IputilsConfig

    def functions(self) -> Mapping[str, Function[Any]]:
        """The function table (decision 12)."""
        return {
            "ping": Function(params=PingParams, blocking_handler=self.ping, idempotent=True),
            "port_check": Function(
                params=PortCheckParams, handler=self.port_check, idempotent=True
            ),
        }

    def validate(self) -> list[tuple[str, str]]:
        """A ``command`` ping needs the program on the path."""
        method, command = self.config.ping_method, self.config.ping_command
        if method == "command" and shutil.which(command) is None:
            return [("plugins.iputils.ping_command", f"{command!r} is not on the path")]
        return []

    def ping(self, params: PingParams, ctx: TaskContext) -> JsonObject:
        """``{sent, received, percent, rtt_avg_ms}``; runs in a worker thread."""
        try:
            address = icmp.resolve(params.target)
            report = icmp.ping(
                address,
                params.count,
                params.timeout,
                self.config.ping_method,
                self.config.ping_command,
            )
        except icmp.PingUnavailable as exc:
            raise PluginError(f"ping unavailable on this agent: {exc}", code="internal") from None
        except socket.gaierror as exc:
            raise PluginError(f"cannot resolve {params.target}: {exc}", code="not_found") from None
        return {
            "sent": report.sent,
            "received": report.received,
            "percent": report.percent,
            "rtt_avg_ms": report.rtt_avg_ms,
        }

    async def port_check(self, params: PortCheckParams, ctx: TaskContext) -> JsonObject:
        """``{state: open|closed|timeout|unreachable, elapsed_ms}``."""
        state, elapsed = await port_check(params.target, params.port, params.timeout)
        return {"state": state, "elapsed_ms": round(elapsed, 3)}
