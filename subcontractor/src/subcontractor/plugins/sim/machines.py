"""Simulated machines: their parameters, their state, and the registry keyed by machine id."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

FailMode = Literal["error", "abort", "hang"]
PowerState = Literal["on", "off"]
BootDevice = Literal["pxe", "disk", "bios", "default"]


class SimMachine(BaseModel):
    """The ``machine`` parameter (foreman.md §8.7), built from a sim foundation's attributes.

    Unset tuning fields fall back to the plugin's config. Unknown fields are ignored: inventory
    may describe more than this simulation uses.
    """

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1)
    macs: list[str] = Field(default_factory=list)
    ips: list[str] = Field(default_factory=list)
    power_delay_s: float | None = Field(None, ge=0)
    boot_delay_s: float | None = Field(None, ge=0)
    variance: float | None = Field(None, ge=0, le=1)
    fail_rate: float | None = Field(None, ge=0, le=1)
    fail_mode: FailMode | None = None
    fail_functions: list[str] | None = None
    profile: dict[str, Any] | None = None
    open_ports: list[int] = Field(default_factory=list)


@dataclass
class MachineState:
    """What the simulation remembers about one machine."""

    id: str
    power: PowerState = "off"
    boot_device: BootDevice = "default"
    persistent: bool = False
    booted_from: BootDevice | None = None
    boots: int = 0
    interfaces: dict[str, str] = field(default_factory=dict)

    def power_on(self) -> None:
        """Switch on and boot from the selected device; a one-time choice is then spent."""
        if self.power == "on":
            return
        self.power = "on"
        self.boots += 1
        self.booted_from = "disk" if self.boot_device == "default" else self.boot_device
        if not self.persistent:
            self.boot_device = "default"

    def power_off(self) -> None:
        """Switch off."""
        self.power = "off"
        self.booted_from = None


def mac_for(name: str, index: int) -> str:
    """A stable, locally administered MAC for a simulated interface."""
    digest = hashlib.sha256(f"{name}/{index}".encode()).digest()
    return "02:" + ":".join(f"{byte:02x}" for byte in digest[:5])


class Registry:
    """Every machine this agent simulates, by id (not shared with other agents)."""

    def __init__(self) -> None:
        self.machines: dict[str, MachineState] = {}

    def get(self, machine_id: str) -> MachineState:
        """The machine's state, created (off) on first use."""
        if machine_id not in self.machines:
            self.machines[machine_id] = MachineState(machine_id)
        return self.machines[machine_id]

    def create(self, name: str, interface_count: int) -> MachineState:
        """Create a VM-like machine; creating an existing name returns it unchanged."""
        state = self.get(name)
        if not state.interfaces:
            state.interfaces = {f"eth{i}": mac_for(name, i) for i in range(interface_count)}
        return state

    def destroy(self, name: str) -> bool:
        """Remove a machine; False when it did not exist (which callers treat as success)."""
        return self.machines.pop(name, None) is not None
