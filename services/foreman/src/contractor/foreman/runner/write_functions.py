"""TScript functions and setters that queue writes (spec §4.6, §6.2, §6.5, §6.6)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from contractor.foreman.runner.writes import WriteBatch
from tscript.codec import to_json
from tscript.context import Context
from tscript.errors import ParameterError
from tscript.plugins import Done, Function, Outcome, ValueDef
from tscript.values import Value


def _target(batch: WriteBatch, kind: str) -> dict[str, str]:
    part = batch.view.get(kind) or {}
    key = part.get("locator") if kind == "foundation" else part.get("id")
    return {"kind": kind, "key": str(key)}


def value_setter(batch: WriteBatch, name: str) -> ValueDef:
    """``foundation.<runtime attribute>``: read from the view, set as a ``set_value`` write."""

    def get() -> Value:
        from tscript.codec import from_json

        return from_json(((batch.view.get("foundation") or {}).get("values") or {}).get(name))

    def put(value: Value) -> None:
        write = {"op": "set_value", "name": name, "value": to_json(value)}
        batch.add({"target": _target(batch, "foundation"), **write})

    return ValueDef(getter=get, setter=put)


class _Queue(Function):
    """A function whose whole effect is one queued write (value ``None``)."""

    def __init__(
        self, name: str, batch: WriteBatch, build: Callable[[dict[str, Value]], dict[str, Any]]
    ) -> None:
        self.name = name
        self.kind = "inline"
        self._batch = batch
        self._build = build

    def start(self, args: dict[str, Value], ctx: Context) -> Outcome:
        self._batch.add(self._build(args))
        return Done(None)


def _interface_id(batch: WriteBatch, interface: Any) -> Any:
    plain = to_json(interface)
    if isinstance(plain, dict) and "$handle" in plain:
        ref = plain["$handle"].get("ref") or {}
        return ref.get("id")
    for item in (batch.view.get("foundation") or {}).get("interface_list") or []:
        if isinstance(item, dict) and item.get("physical_location") == plain:
            return item.get("id")
    raise ParameterError(f"set_pxe: no interface {plain!r} on this foundation")


def set_pxe(batch: WriteBatch) -> Function:
    """``dhcp.set_pxe(interface, pxe)``: checked against the snapshot, then a write."""

    def build(args: dict[str, Value]) -> dict[str, Any]:
        if set(args) - {"interface", "pxe"} or "interface" not in args:
            raise ParameterError("set_pxe() takes interface and pxe")
        pxe = args.get("pxe")
        names = batch.view.get("pxe_names") or []
        if pxe is not None and pxe not in names:
            raise ParameterError(f"set_pxe: no PXE named {pxe!r}")
        write = {"op": "set_pxe", "interface": _interface_id(batch, args["interface"]), "pxe": pxe}
        return {"target": _target(batch, "foundation"), **write}

    return _Queue("set_pxe", batch, build)


def set_config(batch: WriteBatch) -> Function:
    """``structure.set_config(name, value)`` (structure jobs)."""

    def build(args: dict[str, Value]) -> dict[str, Any]:
        if set(args) != {"name", "value"}:
            raise ParameterError("set_config() takes name and value")
        write = {"op": "set_config", "name": str(args["name"]), "value": to_json(args["value"])}
        return {"target": _target(batch, "structure"), **write}

    return _Queue("set_config", batch, build)


def set_interface_macs(batch: WriteBatch) -> Function:
    """``foundation.set_interface_macs(interface_map=…)`` or ``(interface_list=…)``."""

    def build(args: dict[str, Value]) -> dict[str, Any]:
        given = [k for k in ("interface_map", "interface_list") if args.get(k) is not None]
        if len(given) != 1 or set(args) - {"interface_map", "interface_list"}:
            raise ParameterError("set_interface_macs() takes interface_map or interface_list")
        macs = to_json(args[given[0]])
        return {"target": _target(batch, "foundation"), "op": "set_interface_macs", "macs": macs}

    return _Queue("set_interface_macs", batch, build)
