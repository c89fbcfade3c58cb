"""The TScript modules one job sees, built from its snapshot (spec §2.1, §6).

Bound here: ``foundation`` (values, runtime-attribute setters in foundation jobs, the type's
task, manual and write functions), ``structure`` (values; ``set_config`` in structure jobs),
``dependency``, ``config`` (values and ``get``), ``dhcp.set_pxe``, ``signaling`` and the
plugin modules of ``contractor.foundation_types.MODULE_FUNCTIONS`` (``sim.echo``,
``sim.create`` …), ``iputils`` and ``ssh``; server-task functions (``foundation.map_ports``,
``unmap_ports`` of docker) call inventory. Not yet bound: ``execute`` (vcenter); scripts using
it abort with "not defined".
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Final

from contractor.foreman.runner import network, signaling, write_functions
from contractor.foreman.runner.functions import ManualFunction, ServerCallFunction, TaskFunction
from contractor.foreman.runner.signaling import SignalBox
from contractor.foreman.runner.writes import WriteBatch
from contractor.foundation_types import (
    BUILTIN_FOUNDATION_TYPES,
    MODULE_FUNCTIONS,
    FoundationType,
    HostFunction,
    UnknownTypeError,
    foundation_type,
)
from tscript.codec import from_json
from tscript.plugins import Module, Registry, ValueDef, inline
from tscript.values import Value

FOUNDATION_VALUES: Final = (
    "locator",
    "type",
    "type_name",
    "id",
    "class_list",
    "site",
    "blueprint",
    "state",
    "complex",
    "interface_list",
    "provisioning_interface",
)
STRUCTURE_VALUES: Final = (
    "id",
    "hostname",
    "fqdn",
    "site",
    "blueprint",
    "state",
    "config_uuid",
    "interface_list",
    "provisioning_interface",
    "provisioning_ip",
    "primary_interface",
    "primary_ip",
)


def registry(
    batch: WriteBatch, target_kind: str, box: SignalBox, used: frozenset[str] | None = None
) -> Registry:
    """A fresh registry for one step of a job, reading the snapshot through ``batch``.

    ``used``: the modules the script names (a script reaches a module only by naming it);
    only those are bound, since building every value and function of every module for each
    step costs more than the step itself. ``None`` binds them all.
    """

    def wanted(name: str) -> bool:
        return used is None or name in used

    snapshot = batch.view
    modules = Registry()
    if wanted("signaling"):
        modules.register(signaling.module(box))
    foundation = snapshot.get("foundation")
    target = _task_target(foundation)
    if isinstance(foundation, dict):
        if wanted("foundation"):
            module = _foundation_module(foundation, target)
            module.functions["set_interface_macs"] = write_functions.set_interface_macs(batch)
            if target_kind == "foundation":
                for name in _writable(foundation):
                    module.values[name] = write_functions.value_setter(batch, name)
            modules.register(module)
        if wanted("dhcp"):
            dhcp = Module("dhcp", functions={"set_pxe": write_functions.set_pxe(batch)})
            modules.register(dhcp)
    for name in ("structure", "dependency"):
        part = snapshot.get(name)
        if isinstance(part, dict) and wanted(name):
            keys = STRUCTURE_VALUES if name == "structure" else ("id", "link", "state")
            modules.register(_values_module(name, part, keys))
    structure = modules.get("structure")
    if structure is not None and target_kind == "structure":
        structure.functions["set_config"] = write_functions.set_config(batch)
    if wanted("config"):
        modules.register(_config_module(snapshot.get("config") or {}))
    for module in network.modules(snapshot.get("config") or {}):
        if wanted(module.name):
            modules.register(module)
    for module_name, decls in MODULE_FUNCTIONS.items():
        if not wanted(module_name):
            continue
        # The sim plugin's module functions take no machine (its functions table, §8.7).
        bound = None if module_name == "sim" else target
        functions = {d.name: TaskFunction(d, bound) for d in decls if d.kind == "task"}
        modules.register(Module(module_name, functions=dict(functions)))
    return modules


def _getter(value: Any) -> Callable[[], Value]:
    def get() -> Value:
        return from_json(value)

    return get


def _values_module(name: str, part: dict[str, Any], keys: tuple[str, ...]) -> Module:
    values = {key: ValueDef(getter=_getter(part.get(key))) for key in keys if key in part}
    return Module(name, values=values)


def _type_of(foundation: dict[str, Any]) -> FoundationType | None:
    return _type_named(str(foundation.get("type_name") or foundation.get("type") or ""))


@functools.lru_cache(maxsize=64)
def _type_named(name: str) -> FoundationType | None:
    """The foundation type of a type name or display name (types are fixed at start)."""
    try:
        return foundation_type(str(name))
    except UnknownTypeError:
        for candidate in BUILTIN_FOUNDATION_TYPES.values():
            if candidate.display_name.lower() == str(name).lower():
                return candidate
    return None


def _writable(foundation: dict[str, Any]) -> list[str]:
    ftype = _type_of(foundation)
    return [v.name for v in ftype.values if v.writable] if ftype is not None else []


def _task_target(foundation: Any) -> tuple[str, Any] | None:
    if not isinstance(foundation, dict):
        return None
    ftype = _type_of(foundation)
    key = "machine" if ftype is not None and ftype.agent_module == "sim" else "connection"
    return key, foundation.get("connection")


def _foundation_module(foundation: dict[str, Any], target: tuple[str, Any] | None) -> Module:
    module = _values_module("foundation", foundation, FOUNDATION_VALUES)
    type_values = foundation.get("values") or {}
    for key, value in type_values.items():
        module.values.setdefault(key, ValueDef(getter=_getter(value)))
    ftype = _type_of(foundation)
    decls: tuple[HostFunction, ...] = ftype.functions if ftype is not None else ()
    locator = str(foundation.get("locator") or "")
    for decl in decls:
        if decl.kind == "task" and decl.agent_module:
            module.functions[decl.name] = TaskFunction(decl, target)
        elif decl.kind == "server":
            module.functions[decl.name] = ServerCallFunction(decl)
        elif decl.kind in ("pause", "inline"):
            module.functions[decl.name] = ManualFunction(decl, locator)
    return module


def _config_module(config: dict[str, Any]) -> Module:
    def resolve(name: str) -> ValueDef | None:
        if name not in config:
            return None
        return ValueDef(getter=_getter(config[name]))

    def get(args: dict[str, Value]) -> Value:
        name = str(args.get("name"))
        return from_json(config[name]) if name in config else args.get("default")

    return Module("config", functions={"get": inline("get", get)}, resolve_value=resolve)
