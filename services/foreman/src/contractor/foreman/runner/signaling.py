"""The ``signaling`` module (spec §6.7): reset, wait_for_completion, complete, token.

Callbacks stay pure: ``reset`` records the new token in a :class:`SignalBox`; the step writes
the signal rows after the slice.
"""

from __future__ import annotations

from typing import Any

from contractor.foreman import orm
from contractor.foreman.store import signals
from tscript.context import Context, to_micros
from tscript.machine import Interpreter
from tscript.plugins import Done, Fail, Function, Module, Outcome, ValueDef, Wait, inline
from tscript.values import Value


class SignalBox:
    """The job's current signal as the step sees it, and the resets it asks for."""

    def __init__(self, current: orm.Signal | None) -> None:
        self.token = current.token if current else None
        self.pxe_name = current.pxe_name if current else None
        self.received = current is not None and current.state == "received"
        self.status = current.status if current else None
        self.message = current.message if current else None
        self.resets: list[tuple[str, str | None]] = []

    def reset(self, pxe_name: str | None) -> None:
        """Arm a new signal (revoking the current one)."""
        self.token = signals.new_token()
        self.pxe_name = pxe_name
        self.received, self.status, self.message = False, None, None
        self.resets.append((self.token, pxe_name))

    @property
    def complete(self) -> bool:
        """Whether the armed signal came with status ``complete``."""
        return self.received and self.status == "complete"


class WaitForCompletion(Function):
    """``signaling.wait_for_completion(timeout=None)``."""

    name = "wait_for_completion"
    kind = "local"

    def __init__(self, box: SignalBox) -> None:
        self.box = box

    def validate(self, args: dict[str, Value]) -> dict[str, Value]:
        """Only ``timeout`` (seconds or None)."""
        from tscript.errors import ParameterError

        if set(args) - {"timeout"}:
            raise ParameterError("wait_for_completion() takes only timeout")
        return args

    def start(self, args: dict[str, Value], ctx: Context) -> Outcome:
        """Check at once; else wait."""
        return self.poll(_armed({"timeout": _seconds(args.get("timeout"))}, ctx), ctx)

    def poll(self, fstate: Any, ctx: Context) -> Outcome:
        """Done, failed, timed out, or still waiting."""
        if fstate.get("failed"):
            fstate = _armed(fstate, ctx)  # reset waits again
        if self.box.complete:
            return Done(None)
        if self.box.received:
            return Fail(f"completion signal failed: {self.box.message or ''}".strip(), fstate)
        deadline = fstate.get("deadline")
        if deadline is not None and to_micros(ctx.now()) >= deadline:
            timeout = fstate["timeout"]
            shown = int(timeout) if float(timeout).is_integer() else timeout
            return Fail(f"no completion signal within {shown} s", {**fstate, "failed": True})
        what = self.box.pxe_name or "no pxe"
        # No wake_at: the interpreter then polls on every step, so a signal that wakes the job
        # is seen at once; the step keeps the job asleep until then or the deadline.
        return Wait(f"waiting for completion signal ({what})", fstate)


def deadline_of(machine: Interpreter) -> int | None:
    """The timeout deadline (µs since the epoch) of the wait in progress, if any."""
    extra = machine.frames[-1].extra if machine.frames else None
    fstate = (extra or {}).get("fstate")
    deadline = fstate.get("deadline") if isinstance(fstate, dict) else None
    return int(deadline) if deadline is not None else None


def _seconds(value: Value) -> float | None:
    from tscript.errors import ParameterError

    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ParameterError("wait_for_completion: timeout must be a number of seconds or None")
    return float(value)


def _armed(fstate: dict[str, Any], ctx: Context) -> dict[str, Any]:
    timeout = fstate.get("timeout")
    deadline = None if timeout is None else to_micros(ctx.now()) + round(timeout * 1_000_000)
    return {"timeout": timeout, "deadline": deadline}


def module(box: SignalBox) -> Module:
    """The ``signaling`` module bound to one step's box."""

    def reset(args: dict[str, Value]) -> Value:
        pxe = args.get("pxe_name")
        box.reset(None if pxe is None else str(pxe))
        return None

    return Module(
        "signaling",
        functions={"reset": inline("reset", reset), "wait_for_completion": WaitForCompletion(box)},
        values={
            "complete": ValueDef(getter=lambda: box.complete),
            "token": ValueDef(getter=lambda: box.token),
        },
    )
