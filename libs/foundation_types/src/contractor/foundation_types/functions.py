"""Declarations of the TScript functions foundation types expose (foreman spec §6.3, §6.4).

These are data only: names, parameters, the agent module and task, TScript's ``idempotent``
flag and the rollback kind. Foreman binds them to host-function handlers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

CallKind = Literal["task", "write", "server", "pause", "inline"]
"""How a call is carried out: an agent task, a write batch to inventory, a server task
(``POST /api/v1/job-calls``), a pause for a person, or inline in foreman."""

Rollback = Literal["none", "noop", "task"]


@dataclass(frozen=True)
class Param:
    """A named TScript parameter.

    Attributes:
        name: The parameter name.
        required: Whether the call must give it.
        default: The default when not required.
    """

    name: str
    required: bool = True
    default: Any = None


def opt(name: str, default: Any = None) -> Param:
    """An optional parameter with its default."""
    return Param(name, required=False, default=default)


@dataclass(frozen=True)
class HostFunction:
    """One TScript function (``foundation.<name>(…)`` or ``<module>.<name>(…)``).

    Attributes:
        name: The TScript name.
        params: Its parameters, in order.
        kind: How it is carried out.
        agent_module: The agent plugin its tasks go to, if any.
        tasks: The agent functions it sends, in order (``("power",)``).
        idempotent: TScript's ``idempotent`` flag; ``None`` where it does not apply.
        rollback: The rollback kind; ``None`` where it does not apply.
        rollback_task: The agent function a ``task`` rollback sends.
        returns: What the call returns, in words.
    """

    name: str
    params: tuple[Param, ...] = ()
    kind: CallKind = "task"
    agent_module: str | None = None
    tasks: tuple[str, ...] = ()
    idempotent: bool | None = True
    rollback: Rollback | None = "noop"
    rollback_task: str | None = None
    returns: str = "None"

    def describe(self) -> dict[str, Any]:
        """A JSON-ready description, as ``GET /foundation-types`` publishes it."""
        return {
            "name": self.name,
            "params": [
                {"name": p.name, "required": p.required}
                | ({} if p.required else {"default": p.default})
                for p in self.params
            ],
            "kind": self.kind,
            "agent_module": self.agent_module,
            "tasks": list(self.tasks),
            "idempotent": self.idempotent,
            "rollback": self.rollback,
            "rollback_task": self.rollback_task,
            "returns": self.returns,
        }


def power_functions(
    module: str,
    *,
    on_task: str = "power",
    off_task: str = "power",
    state_task: str = "power_state",
) -> tuple[HostFunction, ...]:
    """``power_on``, ``power_off``, ``power_state`` and ``wait_for_poweroff`` for a module."""
    return (
        HostFunction("power_on", (), "task", module, (on_task,), returns="'on'"),
        HostFunction(
            "power_off", (opt("soft_timeout", 60),), "task", module, (off_task,), returns="'off'"
        ),
        HostFunction(
            "power_state", (), "task", module, (state_task,), returns="'on', 'off' or 'unknown'"
        ),
        HostFunction(
            "wait_for_poweroff",
            (opt("interval", 5), opt("timeout", 7200)),
            "task",
            module,
            (state_task,),
        ),
    )


def link_test(module: str) -> HostFunction:
    """``link_test(count=5)``: a failed task gives ``False`` instead of an error."""
    return HostFunction(
        "link_test", (opt("count", 5),), "task", module, ("link_test",), returns="bool"
    )


def set_boot_device(module: str) -> HostFunction:
    """``set_boot_device(device='pxe', persistent=False)``; device ∈ pxe, disk, bios, default."""
    return HostFunction(
        "set_boot_device",
        (opt("device", "pxe"), opt("persistent", False)),
        "task",
        module,
        ("boot_device",),
        returns="device",
    )


def destroy(module: str, task: str) -> HostFunction:
    """``destroy()``: "not found" is success."""
    return HostFunction("destroy", (), "task", module, (task,))


def get_interface_map(module: str) -> HostFunction:
    """``get_interface_map()``: physical location → MAC."""
    return HostFunction(
        "get_interface_map", (), "task", module, ("interfaces",), returns="map location → MAC"
    )


SET_INTERFACE_MACS = HostFunction(
    "set_interface_macs",
    (opt("interface_map"), opt("interface_list")),
    kind="write",
    idempotent=None,
    rollback=None,
)
"""``set_interface_macs(interface_map=…)`` or ``(interface_list=…)``: exactly one of them."""


def create(module: str, task: str, rollback_task: str) -> HostFunction:
    """``create()``: the module's create task with the spec from the attributes."""
    return HostFunction(
        "create",
        (),
        "task",
        module,
        (task,),
        idempotent=False,
        rollback="task",
        rollback_task=rollback_task,
        returns="the new id (written to the runtime attribute)",
    )


MANUAL_FUNCTIONS: tuple[HostFunction, ...] = (
    HostFunction("power_on", (), "pause", idempotent=None, returns="'on'"),
    HostFunction("power_off", (), "pause", idempotent=None, returns="'off'"),
    HostFunction("wait_for_poweroff", (), "pause", idempotent=None),
    HostFunction("power_state", (), "inline", idempotent=None, returns="'unknown'"),
    HostFunction("link_test", (), "inline", idempotent=None, returns="True"),
)
"""Manual foundations: power changes pause the job for a person (origin ``call``)."""
