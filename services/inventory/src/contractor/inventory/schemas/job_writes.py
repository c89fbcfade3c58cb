"""Write batches of a running job (§12.4)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from contractor.inventory.schemas.fields import ClosedBody, InterfaceName, Mac, Slot
from pydantic import Field


class WriteTarget(ClosedBody):
    """What a write changes."""

    kind: Literal["foundation", "structure", "dependency"]
    key: str = Field(min_length=1, max_length=100)


class SetValue(ClosedBody):
    """Set a runtime attribute of a foundation."""

    op: Literal["set_value"]
    target: WriteTarget
    name: str = Field(min_length=1, max_length=100)
    value: Any = None


class SetPxe(ClosedBody):
    """Set what a port boots next."""

    op: Literal["set_pxe"]
    target: WriteTarget
    interface: int = Field(ge=1)
    pxe: Slot | None = None


class SetInterfaceMacs(ClosedBody):
    """Set port MACs, by physical location or in interface order."""

    op: Literal["set_interface_macs"]
    target: WriteTarget
    macs: dict[str, Mac] | list[Mac]


class SetIpAddresses(ClosedBody):
    """Set static addresses of the foundation's structure, by interface name."""

    op: Literal["set_ip_addresses"]
    target: WriteTarget
    addresses: dict[InterfaceName, str]


class SetConfig(ClosedBody):
    """Set a dotted path in the structure's own config values."""

    op: Literal["set_config"]
    target: WriteTarget
    name: str = Field(min_length=1, max_length=500)
    value: Any = None


Write = Annotated[
    SetValue | SetPxe | SetInterfaceMacs | SetIpAddresses | SetConfig, Field(discriminator="op")
]


class WriteBatch(ClosedBody):
    """``POST /job-writes``."""

    job_id: int = Field(ge=1)
    batch_id: str = Field(min_length=1, max_length=100)
    writes: list[Write] = Field(min_length=1, max_length=1000)
