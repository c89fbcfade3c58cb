"""``iputils`` and ``ssh`` (spec §6.8): agent tasks, sent to the job's site unless ``site``."""

from __future__ import annotations

from typing import Any, Final

from tscript.codec import from_json, to_json
from tscript.context import Context, to_micros
from tscript.errors import ParameterError
from tscript.plugins import Done, Fail, Function, Module, Outcome, Send, Wait
from tscript.values import Value

SITE_KEY: Final = "_site"
"""Parameter carrying a ``site=`` override; the step removes it before the task is stored."""
STREAM_TAIL: Final = 500


def _check(
    name: str, args: dict[str, Value], defaults: dict[str, Value], required: tuple[str, ...]
) -> dict[str, Value]:
    for key in args:
        if key not in defaults and key not in required:
            raise ParameterError(f"{name}() takes no argument '{key}'")
    for key in required:
        if key not in args:
            raise ParameterError(f"{name}() needs the argument '{key}'")
    return {**defaults, **args}


def _site(args: dict[str, Value]) -> dict[str, Any]:
    return {SITE_KEY: str(args["site"])} if args.get("site") is not None else {}


class Ping(Function):
    """``iputils.ping(target, count=5, site=None)`` → percent of replies."""

    name, kind, idempotent = "ping", "remote", True

    def validate(self, args: dict[str, Value]) -> dict[str, Value]:
        """Names and defaults."""
        return _check("ping", args, {"count": 5, "site": None}, ("target",))

    def start(self, args: dict[str, Value], ctx: Context) -> Outcome:
        """Send ``iputils.ping``."""
        params = {"target": str(args["target"]), "count": args["count"], "timeout": 1}
        return Send("iputils", "ping", {**params, **_site(args)})

    def on_result(self, fstate: Any, data: Any, ctx: Context) -> Outcome:
        """The percentage of replies."""
        return Done(from_json(data.get("percent", 0)))


class PortOpen(Function):
    """``iputils.port_open(target, port, timeout=5, site=None)`` → bool."""

    name, kind, idempotent = "port_open", "remote", True

    def validate(self, args: dict[str, Value]) -> dict[str, Value]:
        """Names and defaults."""
        return _check("port_open", args, {"timeout": 5, "site": None}, ("target", "port"))

    def start(self, args: dict[str, Value], ctx: Context) -> Outcome:
        """Send ``iputils.port_check``."""
        params = {"target": str(args["target"]), "port": args["port"], "timeout": args["timeout"]}
        return Send("iputils", "port_check", {**params, **_site(args)})

    def on_result(self, fstate: Any, data: Any, ctx: Context) -> Outcome:
        """Whether the port answered."""
        return Done(data.get("state") == "open")


class WaitForPort(Function):
    """``iputils.wait_for_port(target, port, interval=5, timeout=3600, site=None)``."""

    name, kind, idempotent = "wait_for_port", "remote", True

    def validate(self, args: dict[str, Value]) -> dict[str, Value]:
        """Names and defaults."""
        defaults: dict[str, Value] = {"interval": 5, "timeout": 3600, "site": None}
        return _check("wait_for_port", args, defaults, ("target", "port"))

    def _send(self, fstate: dict[str, Any]) -> Send:
        args = fstate["args"]
        params = {"target": str(args["target"]), "port": args["port"], "timeout": 5}
        return Send("iputils", "port_check", {**params, **_site(args)}, fstate)

    def start(self, args: dict[str, Value], ctx: Context) -> Outcome:
        """First check."""
        return self._send({"args": to_json(args), "started": to_micros(ctx.now())})

    def on_result(self, fstate: Any, data: Any, ctx: Context) -> Outcome:
        """Open: done; else wait ``interval`` and check again, up to ``timeout``."""
        if data.get("state") == "open":
            return Done(None)
        args, now = fstate["args"], to_micros(ctx.now())
        if now - fstate["started"] > float(args["timeout"]) * 1_000_000:
            message = f"port {args['port']} on {args['target']} not open within {args['timeout']} s"
            return Fail(message, fstate)
        wake = now + round(float(args["interval"]) * 1_000_000)
        return Wait(f"waiting for port {args['port']} on {args['target']}", fstate, wake_at=wake)

    def poll(self, fstate: Any, ctx: Context) -> Outcome:
        """Next round."""
        return self._send(fstate)


class SshExecute(Function):
    """``ssh.execute(host, command, …)`` → ``{rc, stdout, stderr}``; another rc is an error."""

    name, kind, idempotent = "execute", "remote", False

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def validate(self, args: dict[str, Value]) -> dict[str, Value]:
        """Names and defaults; credentials default to config ``ssh_*``."""
        defaults: dict[str, Value] = {
            "username": self.config.get("ssh_username", "root"),
            "password": self.config.get("ssh_password"),
            "private_key": self.config.get("ssh_private_key"),
            "port": 22,
            "timeout": 300,
            "expected_rc": 0,
            "idempotent": False,
            "site": None,
        }
        return _check("execute", args, defaults, ("host", "command"))

    def start(self, args: dict[str, Value], ctx: Context) -> Outcome:
        """Send ``ssh.execute``."""
        params: dict[str, Any] = {
            key: to_json(args[key]) for key in ("host", "port", "username", "command", "timeout")
        }
        for secret in ("password", "private_key"):
            if args.get(secret) is not None:
                params[secret] = to_json(args[secret])
        params["known_hosts"] = None
        fstate = {"expected_rc": args["expected_rc"], "idempotent": bool(args["idempotent"])}
        return Send("ssh", "execute", {**params, **_site(args)}, fstate)

    def on_result(self, fstate: Any, data: Any, ctx: Context) -> Outcome:
        """Check the exit code."""
        expected = fstate.get("expected_rc")
        if expected is not None and data.get("rc") != expected:
            tail = str(data.get("stderr") or "")[-STREAM_TAIL:]
            return Fail(f"ssh.execute: rc {data.get('rc')} (expected {expected}): {tail}", fstate)
        return Done(from_json({k: data.get(k) for k in ("rc", "stdout", "stderr")}))


def modules(config: dict[str, Any]) -> list[Module]:
    """The ``iputils`` and ``ssh`` modules."""
    iputils = Module(
        "iputils",
        functions={"ping": Ping(), "port_open": PortOpen(), "wait_for_port": WaitForPort()},
    )
    return [iputils, Module("ssh", functions={"execute": SshExecute(config)})]
