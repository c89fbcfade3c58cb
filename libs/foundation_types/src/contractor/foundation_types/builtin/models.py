"""Pieces shared by the built-in attribute models."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

SolPort = Literal["console", "ttyS0", "ttyS1", "ttyS2", "ttyS3"]
"""Serial-over-LAN ports; the chosen one is also the foundation's console."""

CpuCount = Annotated[int, Field(ge=1, le=64)]
MemorySize = Annotated[int, Field(ge=512, le=1048510, description="MiB")]
DiskSize = Annotated[int, Field(ge=1, description="GiB")]


class Attributes(BaseModel):
    """Base of every attributes model: closed, like every request body."""

    model_config = ConfigDict(extra="forbid")


class VmSpec(Attributes):
    """``<prefix>_vm_spec``: overrides of the values taken from config (spec §4.1)."""

    cpu_count: CpuCount | None = None
    memory_size: MemorySize | None = None
    disk_size: DiskSize | None = None


class NoAttributes(Attributes):
    """A type without attributes."""
