"""Helpers for driving jobs in tests: a plugin registry that stands in for hardware.

There is no subcontractor in these tests: the "remote" side is this file answering requests,
which is exactly the host's role in the external-call protocol.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tscript import state
from tscript.context import VirtualContext, from_micros
from tscript.machine import Interpreter, SliceResult
from tscript.plugins import (
    Abort,
    Done,
    Fail,
    Function,
    Module,
    Outcome,
    Pause,
    Registry,
    Send,
    ValueDef,
    Wait,
    remote,
)
from tscript.program import compile_program


class Undoable(Function):
    """A non-idempotent remote function with a rollback hook that sends an undo request."""

    name = "create_vm"
    kind = "remote"
    idempotent = False
    can_rollback = True

    def start(self, args: dict[str, Any], ctx: Any) -> Outcome:
        return Send("vm", "create", dict(args), {"phase": "create"})

    def on_result(self, fstate: Any, data: Any, ctx: Any) -> Outcome:
        if fstate["phase"] == "undo":
            return Send("vm", "create", data, {"phase": "create"})
        return Done(data)

    def rollback(self, fstate: Any, ctx: Any) -> Outcome:
        return Send("vm", "destroy", {}, {"phase": "undo"})


class Poller(Function):
    """A local function: waits until the clock passes a deadline, pausing or failing on request."""

    name = "wait_until"
    kind = "local"

    def start(self, args: dict[str, Any], ctx: Any) -> Outcome:
        mode = args.get("mode", "ok")
        if mode == "abort":
            return Abort("gave up")
        return Wait("polling", {"polls": 0, "mode": mode}, None)

    def poll(self, fstate: Any, ctx: Any) -> Outcome:
        polls = fstate["polls"] + 1
        if fstate["mode"] == "pause" and polls == 1:
            return Pause("needs a hand", {"polls": polls, "mode": "ok"})
        if fstate["mode"] == "fail" and polls == 1:
            return Fail("flaky", {"polls": polls, "mode": "ok"})
        if polls < 3:
            return Wait(f"poll {polls}", {"polls": polls, "mode": fstate["mode"]}, None)
        return Done(polls)


def make_registry(store: dict[str, Any] | None = None) -> Registry:
    """Modules ``sim``, ``vm``, ``local`` and ``config`` as a test host would bind them."""
    values = store if store is not None else {"hostname": "web01", "power": "off"}

    def getter(key: str) -> Callable[[], Any]:
        return lambda: values[key]

    def setter(key: str) -> Callable[[Any], None]:
        def set_value(value: Any) -> None:
            values[key] = value

        return set_value

    def broken() -> Any:
        raise RuntimeError("sensor unplugged")

    sim = Module(
        "sim",
        functions={
            "power_on": remote("power_on", module="sim", idempotent=True),
            "wipe": remote("wipe", module="sim", idempotent=False, optional=("disk",)),
            "set_boot": remote("set_boot", module="sim", required=("device",)),
        },
        values={
            "power": ValueDef(getter("power"), setter("power")),
            "temperature": ValueDef(broken),
            "serial": ValueDef(None, setter("serial")),
            "readonly": ValueDef(getter("hostname")),
        },
    )
    config = Module(
        "config", resolve_value=lambda key: ValueDef(getter(key)) if key in values else None
    )
    vm = Module("vm", functions={"create": Undoable()})
    local = Module("local", functions={"wait_until": Poller()})
    return Registry({m.name: m for m in (sim, config, vm, local)})


def start(source: str, registry: Registry | None = None, **kwargs: Any) -> Interpreter:
    return Interpreter.start(
        compile_program(source), registry or make_registry(), VirtualContext(), **kwargs
    )


Answer = Callable[[dict[str, Any]], Any]


def default_answer(request: dict[str, Any]) -> Any:
    return {"module": request["module"], "function": request["function"], "ok": True}


def drive(
    job: Interpreter,
    answer: Answer = default_answer,
    slice_size: int = 1000,
    reload_each_slice: bool = False,
    registry: Registry | None = None,
    max_rounds: int = 100_000,
) -> tuple[Interpreter, SliceResult]:
    """Run to a stop that needs an operator (done/paused/error/aborted), answering requests.

    With ``reload_each_slice`` the job is saved and loaded after every slice, as if each slice
    ran in another process; the round trip must be byte-identical.
    """
    ctx = job.ctx
    assert isinstance(ctx, VirtualContext)
    for _ in range(max_rounds):
        result = job.run(slice_size)
        if reload_each_slice:
            text = job.save()
            job = state.load(text, registry or job.registry, ctx)
            assert job.save() == text
        if result.status == "yielded":
            continue
        if result.status != "waiting":
            return job, result
        request = job.pending_request()
        if request is not None:
            job.mark_dispatched(request["request_id"])
            job.deliver_result(request["request_id"], answer(request))
        elif result.wake_at is not None:
            ctx.advance_to(from_micros(result.wake_at))
    raise AssertionError("job did not stop")
