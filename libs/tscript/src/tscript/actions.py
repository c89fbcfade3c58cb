"""What a host does to a job from outside: deliveries and operator actions (tscript.md §9, §12).

Every function here either changes the job as the spec says or raises (``DeliveryRejected`` /
``ActionRefused``) and changes nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tscript import syntax
from tscript.errors import ActionRefused, DeliveryRejected

if TYPE_CHECKING:
    from tscript.machine import Frame, Interpreter


def _plugin_frame(m: Interpreter) -> Frame | None:
    frame = m.frames[-1] if m.frames else None
    if frame is not None and frame.node.__class__ is syntax.Call and frame.pc == 3:
        return frame
    return None


def pending_request(m: Interpreter) -> dict[str, Any] | None:
    """The remote request the job waits for, or None.

    Keys: ``request_id``, ``module``, ``function``, ``parameters``, ``dispatched``.
    """
    frame = _plugin_frame(m)
    if frame is None or frame.extra is None or frame.extra.get("st") != "req":
        return None
    req = frame.extra["req"]
    return {
        "request_id": req["id"],
        "module": req["module"],
        "function": req["function"],
        "parameters": req["parameters"],
        "dispatched": req["dispatched"],
    }


def _awaited(m: Interpreter, request_id: str) -> dict[str, Any]:
    if m.status not in (RUNNING, WAITING):
        raise DeliveryRejected("job not running")
    frame = _plugin_frame(m)
    if frame is None or frame.extra is None or frame.extra.get("st") != "req":
        raise DeliveryRejected("nothing pending")
    if frame.extra["req"]["id"] != request_id:
        raise DeliveryRejected("unknown request id")
    return frame.extra


def mark_dispatched(m: Interpreter, request_id: str) -> None:
    """Record that the host has handed the request to a subcontractor."""
    _awaited(m, request_id)["req"]["dispatched"] = True


def deliver_result(m: Interpreter, request_id: str, data: Any) -> None:
    """Accept the result (JSON) of the request the job waits for; each id at most once."""
    extra = _awaited(m, request_id)
    extra["st"] = "got"
    extra["data"] = data
    del extra["req"]
    m.status = RUNNING


def deliver_error(m: Interpreter, request_id: str, message: str) -> None:
    """The request failed on the subcontractor: the job goes to *error*."""
    extra = _awaited(m, request_id)
    extra["st"] = "failed"
    frame = m.frames[-1]
    m.halt(ERROR, message, frame.node, "remote")


def request_lost(m: Interpreter) -> None:
    """The host gave up on the outstanding request (lease expired, agent gone)."""
    from tscript.calls import lookup

    frame = _plugin_frame(m)
    if frame is None or frame.extra is None or frame.extra.get("st") != "req":
        raise DeliveryRejected("nothing pending")
    extra = frame.extra
    old_id = extra["req"]["id"]
    if lookup(m, frame.node).idempotent:
        _resend(m, extra)
        return
    extra["st"] = "lost"
    m.halt(ERROR, f"request {old_id} lost", frame.node, "remote")


def _resend(m: Interpreter, extra: dict[str, Any]) -> None:
    extra["req"] = {**extra["req"], "id": m.ctx.new_id(), "dispatched": False}
    extra["st"] = "req"
    m.status = WAITING


def resume(m: Interpreter) -> None:
    """Continue a paused job where it stopped."""
    if m.status != PAUSED:
        raise ActionRefused(f"cannot resume a job that is {m.status}")
    stop = m.stop or {}
    if stop.get("cause") == "max_time":
        frame = m.frames[stop["frame"]]
        assert frame.extra is not None  # a block frame always records its timing
        frame.extra["deadline"] = m.now() + round(frame.node.max_time * 1_000_000)
    m.status = RUNNING
    m.stop = None


def reset(m: Interpreter) -> None:
    """Retry the failed step of a job in *error*."""
    if m.status != ERROR:
        raise ActionRefused(f"cannot reset a job that is {m.status}")
    cause = (m.stop or {}).get("cause")
    m.status = RUNNING
    m.stop = None
    if cause == "step_limit":
        m.limit = m.steps + m.allowance
    elif cause == "remote":
        frame = _plugin_frame(m)
        if frame is not None and frame.extra is not None:
            _resend(m, frame.extra)


def rollback(m: Interpreter) -> None:
    """Undo the failed call of a job in *error* through the function's rollback hook."""
    from tscript.calls import lookup

    if m.status != ERROR:
        raise ActionRefused(f"cannot roll back a job that is {m.status}")
    cause = (m.stop or {}).get("cause")
    frame = _plugin_frame(m)
    if cause not in ("remote", "plugin") or frame is None or frame.extra is None:
        reset(m)
        return
    if not lookup(m, frame.node).can_rollback:
        raise ActionRefused("rollback not possible")
    frame.extra.pop("req", None)
    frame.extra["st"] = "rollback"
    m.status = RUNNING
    m.stop = None


# Circular (tscript.machine imports this module's importers): bound once, at the end.
from tscript.machine import ERROR, PAUSED, RUNNING, WAITING  # noqa: E402
