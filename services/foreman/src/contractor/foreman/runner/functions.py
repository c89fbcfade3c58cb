"""Host functions that become tasks (spec §4.1, §6.3, §6.4), built from declarations.

Agent tasks (:class:`TaskFunction`), server tasks calling inventory
(:class:`ServerCallFunction`) and the manual type's pauses (:class:`ManualFunction`).

All callbacks are pure functions of (declaration, snapshot, handler state, input): no I/O.
"""

from __future__ import annotations

from typing import Any, Final

from contractor.foreman.store.tasks import SERVER_MODULE
from contractor.foundation_types import HostFunction
from tscript.codec import from_json, to_json
from tscript.context import Context, to_micros
from tscript.errors import ParameterError
from tscript.plugins import Done, Fail, Function, Outcome, Pause, Send, Wait
from tscript.values import Value

#: Result field that is the call's value, by TScript function name (§6.3, §6.4, §8.7).
VALUE_FIELDS: Final = {
    "power_state": "state",
    "link_test": "ok",
    "set_boot_device": "device",
    "sensors": "sensors",
    "fru": "fru",
    "echo": "value",
}
FIXED_VALUES: Final[dict[str, Value]] = {"power_on": "on", "power_off": "off", "destroy": None}
#: Functions that turn a failed task into a value instead of an error (§4.5).
ERROR_VALUES: Final[dict[str, dict[str, Any]]] = {"link_test": {"ok": False}}
#: TScript parameter name -> agent parameter name, where they differ.
RENAMES: Final = {("sim", "echo"): {"delay": "delay_s"}}


def _vm_name(args: dict[str, Any]) -> str:
    spec = args.get("vm_spec")
    return str(spec.get("name")) if isinstance(spec, dict) and spec.get("name") else "vm"


#: Agent parameters built from the TScript arguments, where they are not a plain copy (§8.7).
SHAPES: Final = {
    ("sim", "create"): lambda args: {"name": _vm_name(args), "spec": args.get("vm_spec") or {}},
}


class TaskFunction(Function):
    """A host function carried out by one agent task (plus polling for ``wait_for_*``)."""

    def __init__(self, decl: HostFunction, target: tuple[str, Any] | None) -> None:
        self.name = decl.name
        self.kind = "remote"
        self.idempotent = bool(decl.idempotent)
        self.can_rollback = decl.rollback == "task"
        self.decl = decl
        self.target = target  # ("connection" | "machine", value) from the snapshot
        self.module = decl.agent_module or ""
        self.task = decl.tasks[0] if decl.tasks else decl.name

    def validate(self, args: dict[str, Value]) -> dict[str, Value]:
        """Check names and fill defaults; a violation aborts the job (parameter error)."""
        known = {p.name: p for p in self.decl.params}
        for key in args:
            if key not in known:
                raise ParameterError(f"{self.name}() takes no argument '{key}'")
        filled = dict(args)
        for param in self.decl.params:
            if param.name not in filled:
                if param.required:
                    raise ParameterError(f"{self.name}() needs the argument '{param.name}'")
                filled[param.name] = param.default
        return filled

    def _send(self, args: dict[str, Value], fstate: Any) -> Send:
        plain = to_json(args)
        shape = SHAPES.get((self.module, self.task))
        renames = RENAMES.get((self.module, self.task), {})
        params: dict[str, Any] = (
            shape(plain) if shape else {renames.get(k, k): v for k, v in plain.items()}
        )
        if self.name == "power_on":
            params["state"] = "on"
        elif self.name == "power_off":
            params["state"] = "off"
        if self.target is not None:
            params[self.target[0]] = self.target[1]
        return Send(self.module, self.task, params, fstate)

    def start(self, args: dict[str, Value], ctx: Context) -> Outcome:
        """Send the task; remember the evaluated arguments (they are never re-evaluated)."""
        fstate = {"args": to_json(args), "started": to_micros(ctx.now())}
        return self._send(args, fstate)

    def on_result(self, fstate: Any, data: Any, ctx: Context) -> Outcome:
        """Turn the agent's result object into the call's value."""
        if fstate.get("rolling_back"):
            again = {k: v for k, v in fstate.items() if k != "rolling_back"}
            return self._send(from_json(fstate["args"]), again)
        if self.name == "wait_for_poweroff":
            return self._poweroff_round(fstate, data, ctx)
        return Done(_value(self.name, data))

    def poll(self, fstate: Any, ctx: Context) -> Outcome:
        """Next polling round of ``wait_for_*`` (after its interval)."""
        return self._send(from_json(fstate["args"]), fstate)

    def rollback(self, fstate: Any, ctx: Context) -> Outcome:
        """Send the declared rollback task, then restart the call (spec §2.6)."""
        args = fstate.get("args", {}) if isinstance(fstate, dict) else {}
        params: dict[str, Any] = {"name": args.get("name") or _vm_name(args)}
        if self.target is not None:
            params[self.target[0]] = self.target[1]
        task = self.decl.rollback_task or "destroy"
        return Send(self.module, task, params, {**(fstate or {}), "rolling_back": True})

    def _poweroff_round(self, fstate: Any, data: Any, ctx: Context) -> Outcome:
        if isinstance(data, dict) and data.get("state") == "off":
            return Done(None)
        args = fstate["args"]
        now = to_micros(ctx.now())
        if now - fstate["started"] > float(args.get("timeout") or 7200) * 1_000_000:
            return Fail(f"{self.module} did not power off within {args.get('timeout')} s", fstate)
        wake = now + round(float(args.get("interval") or 5) * 1_000_000)
        return Wait("waiting for power off", fstate, wake_at=wake)


def _value(name: str, data: Any) -> Value:
    if name in FIXED_VALUES:
        return FIXED_VALUES[name]
    if not isinstance(data, dict):
        return from_json(data)
    field = VALUE_FIELDS.get(name)
    if field is not None:
        return from_json(data.get(field))
    if name == "get_interface_map":
        return {i["physical_location"]: i["mac"] for i in data.get("interfaces", [])}
    if name == "create":
        for key in ("id", "uuid", "resource_name", "docker_id", "instance_id"):
            if key in data:
                return from_json(data[key])
    return from_json(data)


class ServerCallFunction(TaskFunction):
    """A function carried out by a server task that calls inventory (spec §4.6, §6.3).

    ``docker.map_ports(container_spec)`` and ``unmap_ports()``: the task (module
    ``_inventory``, function = the op) is performed by the server-task worker as
    ``POST /api/v1/job-calls {job_id, call_id, op, params}``, the call id being the task id, so
    a re-offer repeats the same call. The value is the port map (inventory's answer ``result``)
    for ``map_ports`` and ``None`` for ``unmap_ports``. Rollback ``noop``.
    """

    def __init__(self, decl: HostFunction) -> None:
        super().__init__(decl, None)
        self.module = SERVER_MODULE
        self.task = decl.name
        self.idempotent = True

    def _send(self, args: dict[str, Value], fstate: Any) -> Send:
        return Send(self.module, self.task, {"op": self.name, "params": to_json(args)}, fstate)

    def on_result(self, fstate: Any, data: Any, ctx: Context) -> Outcome:
        """Inventory's answer (``{"answer": …}`` as the worker recorded it) as the value."""
        answer = data.get("answer") if isinstance(data, dict) else None
        if self.name != "map_ports":
            return Done(None)
        if isinstance(answer, dict) and "result" in answer:
            return Done(from_json(answer["result"]))
        return Fail(f"inventory's map_ports answer has no result: {answer!r}"[:500])


#: What the manual type's pausing functions return once the operator resumes (§6.3).
MANUAL_VALUES: Final[dict[str, Value]] = {"power_on": "on", "power_off": "off"}
MANUAL_INLINE: Final[dict[str, Value]] = {"power_state": "unknown", "link_test": True}


class ManualFunction(Function):
    """A manual foundation's power function: pause for a person; ``resume`` completes it."""

    def __init__(self, decl: HostFunction, locator: str) -> None:
        self.name = decl.name
        self.kind = "local"
        self.decl = decl
        self.locator = locator

    def start(self, args: dict[str, Value], ctx: Context) -> Outcome:
        """Pause with the instruction for the operator."""
        if self.name in MANUAL_INLINE:
            return Done(MANUAL_INLINE[self.name])
        if self.name == "wait_for_poweroff":
            return Pause(f"wait until {self.locator} is off, then resume", {"manual": True})
        state = MANUAL_VALUES.get(self.name, "on")
        return Pause(f"Set power of {self.locator} to {state} then resume", {"manual": True})

    def poll(self, fstate: Any, ctx: Context) -> Outcome:
        """Resumed: the operator did the work."""
        return Done(MANUAL_VALUES.get(self.name))
