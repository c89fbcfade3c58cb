"""The ``sim`` foundation type: simulated machines for tests and one-machine runs."""

from __future__ import annotations

import hashlib
import uuid
from typing import Annotated, Any, Final, Literal

from contractor.foundation_types.builtin.models import Attributes, VmSpec
from contractor.foundation_types.declaration import ComplexRule, FoundationType
from contractor.foundation_types.functions import (
    SET_INTERFACE_MACS,
    destroy,
    get_interface_map,
    link_test,
    power_functions,
    set_boot_device,
)
from contractor.foundation_types.markers import RUNTIME
from contractor.foundation_types.values import SpecRule, TypeValue
from pydantic import BaseModel, Field

Fraction = Annotated[float, Field(ge=0, le=1)]


class SimAttributes(Attributes):
    """Attributes of a simulated machine (foreman spec §8.7 builds its ``machine``)."""

    sim_power_delay_s: float = Field(2, ge=0)
    sim_boot_delay_s: float = Field(10, ge=0)
    sim_variance: Fraction = Field(0.3, description="triangular variation, ± fraction")
    sim_fail_rate: Fraction = 0.0
    sim_fail_mode: Literal["error", "abort", "hang"] = "error"
    sim_fail_functions: list[str] = Field(
        default_factory=list, description="functions that may fail; empty = all"
    )
    sim_profile: dict[str, Any] | None = Field(
        None, description="hardware report (§8.2); default derived from the locator"
    )
    sim_auto_locate: bool = Field(False, description="located on creation")
    sim_vm_spec: VmSpec | None = None
    sim_id: Annotated[str | None, RUNTIME] = None


def default_sim_profile(locator: str) -> dict[str, Any]:
    """The hardware report a sim machine posts when ``sim_profile`` is unset.

    Derived only from the locator, so a machine reports the same hardware every time:
    locally administered MACs (``02:…``), a serial and a DMI UUID from its SHA-256.

    Args:
        locator: The foundation's locator.

    Returns:
        A ``hardware`` object in the shape of inventory spec §8.2.
    """
    digest = hashlib.sha256(locator.encode()).hexdigest()
    macs = [
        "02:" + ":".join(digest[i : i + 2] for i in range(start, start + 8, 2)) + f":{n:02x}"
        for n, start in ((1, 0), (2, 8))
    ]
    return {
        "cpu": {"count": 4, "sockets": 1, "model": "Contractor Sim CPU"},
        "memory_mib": 8192,
        "disks": [{"name": "sda", "size_bytes": 100 * 1024**3, "model": "Sim Disk", "ssd": True}],
        "nics": [{"name": f"eth{i}", "mac": mac} for i, mac in enumerate(macs)],
        "dmi": {
            "system": {
                "manufacturer": "Contractor",
                "product": "Sim",
                "serial": f"SIM-{digest[:10].upper()}",
                "uuid": str(uuid.UUID(digest[:32])),
            },
        },
    }


def _auto_locate(attributes: BaseModel) -> bool:
    return isinstance(attributes, SimAttributes) and attributes.sim_auto_locate


SIM: Final = FoundationType(
    name="sim",
    display_name="Sim",
    prefix="sim_",
    class_list=("Physical", "VM", "Sim"),
    attributes_model=SimAttributes,
    complex=ComplexRule("optional", ("sim",)),
    located_on_create=_auto_locate,
    agent_module="sim",
    functions=(
        *power_functions("sim"),
        link_test("sim"),
        set_boot_device("sim"),
        destroy("sim", "destroy"),
        get_interface_map("sim"),
        SET_INTERFACE_MACS,
    ),
    values=(TypeValue("sim_vmspec"), TypeValue("sim_id", writable=True)),
    spec_rule=SpecRule("sim_vmspec", "sim_vm_spec"),
    description="A simulated machine; powering on with PXE bootstrap posts sim_profile.",
)
