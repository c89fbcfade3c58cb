"""Usage statistics (§9) and the ``resources`` of a foundation (§3.4)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class Resources(BaseModel):
    """What a foundation uses, computed by its type's ``resources(f, config)`` (§4)."""

    model_config = ConfigDict(
        json_schema_extra={"examples": [{"cpu_count": 2, "memory_mb": 4096, "disk_gb": 40}]}
    )

    cpu_count: int = Field(ge=0)
    memory_mb: int = Field(ge=0, description="MiB")
    disk_gb: int = Field(ge=0, description="GiB")


class UsageRow(BaseModel):
    """One group of ``GET /stats/usage``: counts and summed resources."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "group": "kvm-a",
                    "foundations": 12,
                    "structures": 11,
                    "cpu_count": 48,
                    "memory_mb": 98304,
                    "disk_gb": 480,
                    "addresses": 14,
                }
            ]
        }
    )

    group: str | None = Field(
        description="complex, site or blueprint name; null for foundations without a complex"
    )
    foundations: int
    structures: int = Field(description="foundations of the group that carry a structure")
    cpu_count: int
    memory_mb: int
    disk_gb: int
    addresses: int = Field(description="static addresses holding an IP of their own")
