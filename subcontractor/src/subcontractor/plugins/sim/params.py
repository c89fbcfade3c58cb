"""Parameter models of the sim plugin's functions (foreman.md §8.7)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from subcontractor.plugin import TaskParams
from subcontractor.plugins.sim.machines import BootDevice, SimMachine


class MachineParams(TaskParams):
    """Parameters of functions that act on one machine."""

    machine: SimMachine


class PowerParams(MachineParams):
    """``power``: set the power state."""

    state: Literal["on", "off", "soft_off", "cycle", "reset"]
    soft_timeout: float = Field(0, ge=0)
    confirm_s: float = Field(30, ge=0)


class LinkTestParams(MachineParams):
    """``link_test``: read the BMC a few times."""

    count: int = Field(5, ge=1, le=100)


class BootDeviceParams(MachineParams):
    """``boot_device``: choose what the next boot uses."""

    device: BootDevice
    persistent: bool = False


class CreateParams(TaskParams):
    """``create``: make a VM-like machine."""

    name: str = Field(min_length=1)
    spec: dict[str, Any] = Field(default_factory=dict)


class DestroyParams(TaskParams):
    """``destroy``: remove a machine by name or id."""

    name: str | None = None
    id: str | None = None

    @model_validator(mode="after")
    def _one_key(self) -> DestroyParams:
        if (self.name is None) == (self.id is None):
            raise ValueError("give exactly one of name and id")
        return self


class InterfacesParams(TaskParams):
    """``interfaces``: the machine's MACs by physical location."""

    id: str = Field(min_length=1)


class EchoParams(TaskParams):
    """``echo``: answer the value after a delay, or fail as asked (tests, benchmarks)."""

    value: Any = None
    delay_s: float = Field(0, ge=0)
    fail: Literal["retryable", "fatal"] | None = None
