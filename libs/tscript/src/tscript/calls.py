"""Calls: builtins (tscript.md §8), plugin values and plugin functions (§12).

A call frame's ``pc``: 0 while its arguments are evaluated; 1 once a ``pause`` / ``error`` /
``message`` has fired (the call then yields none); 2 while a ``delay`` waits (``extra`` holds
the deadline); 3 while a plugin function is pending (``extra`` holds its private state, the
current request and where the call stands: ``req``, ``got``, ``poll``, ``failed``, ``lost``,
``rollback``).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from tscript import syntax
from tscript.builtin_functions import PURE, delay_seconds
from tscript.codec import copy_value
from tscript.errors import HostError, NotDefined, ParameterError, ScriptAbort, ScriptFatal
from tscript.plugins import Abort, Done, Fail, Function, Outcome, Pause, Send, Wait
from tscript.text import text
from tscript.values import Value

if TYPE_CHECKING:
    from tscript.machine import Frame, Interpreter

SUSPENDING = frozenset({"pause", "error", "message", "delay"})
BUILTINS = frozenset(PURE) | SUSPENDING | {"fatal_error"}


def handle_call(m: Interpreter, f: Frame) -> None:
    """The handler of call frames."""
    node: syntax.Call = f.node
    pc = f.pc
    if pc == 0:
        k = len(f.vals)
        if k < len(node.args):
            m.start_expr(node.args[k][1], f)
        elif node.module is None:
            call_builtin(m, f, node)
        else:
            start_plugin(m, f, node)
    elif pc == 1:
        m.finish_value(None)
    elif pc == 2:
        poll_delay(m, f, node)
    else:
        continue_plugin(m, f, node)


def _args(node: syntax.Call, vals: list[Value]) -> dict[str, Value]:
    return {name: value for (name, _), value in zip(node.args, vals, strict=True)}


def _msg(node: syntax.Call, args: dict[str, Value]) -> str:
    extra = set(args) - {"msg"}
    if extra:
        raise ParameterError(f"{node.name}() takes no argument '{sorted(extra)[0]}'")
    if "msg" not in args:
        raise ParameterError(f"{node.name}() needs the argument 'msg'")
    return text(args["msg"])


def call_builtin(m: Interpreter, f: Frame, node: syntax.Call) -> None:
    """Run a builtin once its arguments are known."""
    name = node.name
    args = _args(node, f.vals)
    try:
        pure = PURE.get(name)
        if pure is not None:
            m.finish_value(pure(args))
            return
        if name == "delay":
            seconds = delay_seconds(args)
            if seconds <= 0:
                m.finish_value(None)
                return
            f.pc = 2
            f.extra = {"deadline": m.now() + round(seconds * 1_000_000)}
            poll_delay(m, f, node)
            return
        if name not in BUILTINS:
            raise NotDefined(f"function '{name}' is not defined")
        message = _msg(node, args)
    except ScriptAbort as exc:
        if exc.line is None:
            exc.line, exc.column = node.line, node.column
        raise
    if name == "fatal_error":
        raise ScriptFatal(message, node.line, node.column)
    f.pc = 1
    if name == "message":
        m.message = message
        raise YIELD
    status = PAUSED if name == "pause" else ERROR
    raise m.halt(status, message, node, "call")


def poll_delay(m: Interpreter, f: Frame, node: syntax.Call) -> None:
    """Finish the delay once its deadline has come; otherwise wait."""
    deadline: int = f.extra["deadline"]  # type: ignore[index]
    now = m.now()
    if now >= deadline:
        m.finish_value(None)
        return
    remaining = math.ceil((deadline - now) / 1_000_000)
    m.wake_at = deadline
    raise m.halt(WAITING, f"Waiting for {remaining} more seconds", node, "delay")


def lookup(m: Interpreter, node: syntax.Call) -> Function:
    """The plugin function ``node`` calls."""
    module = m.registry.get(node.module or "")
    if module is None:
        raise NotDefined(f"module '{node.module}' is not defined", node.line, node.column)
    function = module.functions.get(node.name)
    if function is None:
        raise NotDefined(
            f"function '{node.module}.{node.name}' is not defined", node.line, node.column
        )
    return function


def _guard(node: syntax.Call, what: str, call: Any, *args: Any) -> Any:
    """Run plugin code; anything unexpected becomes a host error naming the function."""
    try:
        return call(*args)
    except ScriptAbort as exc:
        if exc.line is None:
            exc.line, exc.column = node.line, node.column
        raise
    except Exception as exc:
        raise HostError(
            f"{node.module}.{node.name} failed in {what}: {type(exc).__name__}: {exc}",
            node.line,
            node.column,
        ) from exc


def start_plugin(m: Interpreter, f: Frame, node: syntax.Call) -> None:
    """Validate the (copied) arguments and start the plugin function."""
    function = lookup(m, node)
    args = {name: copy_value(value) for name, value in _args(node, f.vals).items()}
    args = _guard(node, "validation", function.validate, args)
    f.pc = 3
    f.vals = []
    f.extra = {"st": "start", "fstate": None}
    apply_outcome(m, f, node, _guard(node, "start", function.start, args, m.ctx))


def continue_plugin(m: Interpreter, f: Frame, node: syntax.Call) -> None:
    """Step a pending plugin call according to where it stands."""
    extra: dict[str, Any] = f.extra  # type: ignore[assignment]
    st = extra["st"]
    if st == "req":
        raise m.halt(WAITING, m.message or "waiting for a result", node, "request")
    function = lookup(m, node)
    if st == "got":
        data = extra.pop("data")
        outcome = _guard(node, "result", function.on_result, extra["fstate"], data, m.ctx)
    elif st == "rollback":
        outcome = _guard(node, "rollback", function.rollback, extra["fstate"], m.ctx)
    else:
        wake = extra.get("wake")
        if wake is not None and m.now() < wake:
            m.wake_at = wake
            raise m.halt(WAITING, m.message or "waiting", node, "poll")
        outcome = _guard(node, "poll", function.poll, extra["fstate"], m.ctx)
    apply_outcome(m, f, node, outcome)


def apply_outcome(m: Interpreter, f: Frame, node: syntax.Call, outcome: Outcome) -> None:
    """Act on what a plugin function returned."""
    extra: dict[str, Any] = f.extra  # type: ignore[assignment]
    if isinstance(outcome, Done):
        m.finish_value(outcome.value)
        return
    if isinstance(outcome, Abort):
        raise ScriptAbort(outcome.message, node.line, node.column)
    extra["fstate"] = outcome.fstate
    extra.pop("wake", None)
    if isinstance(outcome, Send):
        extra["st"] = "req"
        extra["req"] = {
            "id": m.ctx.new_id(),
            "module": outcome.module,
            "function": outcome.function,
            "parameters": outcome.parameters,
            "dispatched": False,
        }
        raise m.halt(WAITING, f"waiting for {outcome.module}.{outcome.function}", node, "request")
    extra["st"] = "poll"
    if isinstance(outcome, Wait):
        if outcome.wake_at is not None:
            extra["wake"] = outcome.wake_at
            m.wake_at = outcome.wake_at
        raise m.halt(WAITING, outcome.message, node, "poll")
    if isinstance(outcome, Pause):
        raise m.halt(PAUSED, outcome.message, node, "plugin")
    if isinstance(outcome, Fail):
        raise m.halt(ERROR, outcome.message, node, "plugin")
    raise HostError(f"{node.module}.{node.name} returned {outcome!r}", node.line, node.column)


def read_value(m: Interpreter, node: syntax.QName) -> Value:
    """Read ``module.name`` through its getter (on every read)."""
    module = m.registry.get(node.module)
    found = module.value(node.name) if module is not None else None
    if found is None:
        raise NotDefined(f"'{node.module}.{node.name}' is not defined", node.line, node.column)
    if found.getter is None:
        raise ParameterError(f"'{node.module}.{node.name}' cannot be read", node.line, node.column)
    call = syntax.Call(node.line, node.column, node.module, node.name, [])
    return _guard(call, "getter", found.getter)


def assign_module_value(m: Interpreter, node: syntax.Assign, value: Value) -> None:
    """``module.name = value`` through the value's setter."""
    module = m.registry.get(node.module or "")
    found = module.value(node.name) if module is not None else None
    if found is None:
        raise NotDefined(f"'{node.module}.{node.name}' is not defined", node.line, node.column)
    if found.setter is None:
        raise ParameterError(f"'{node.module}.{node.name}' cannot be set", node.line, node.column)
    call = syntax.Call(node.line, node.column, node.module, node.name, [])
    _guard(call, "setter", found.setter, value)


# Circular (tscript.machine imports this module's importers): bound once, at the end.
from tscript.machine import ERROR, PAUSED, WAITING, YIELD  # noqa: E402
