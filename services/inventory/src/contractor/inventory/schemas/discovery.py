"""Discovery schemas (§8): hardware reports, discovery records, operator actions."""

from __future__ import annotations

from ipaddress import ip_address
from typing import Annotated, Any, Literal

from contractor.inventory.schemas.fields import (
    ClosedBody,
    Locator,
    Mac,
    Name,
    ResourceRead,
    Timestamp,
)
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

Status = Literal["located", "unmatched", "rejected", "conflict"]
MatchedBy = Literal["config_uuid", "mac", "lldp", "serial", "ip", "assigned", "enrolled"]

EXAMPLE_REPORT: dict[str, Any] = {
    "site": "dc1",
    "ip_address": "10.0.0.201",
    "boot_mac": "3c:fd:fe:a1:00:10",
    "config_uuid": None,
    "source": "image",
    "hardware": {
        "cpu": {"count": 64, "sockets": 2, "model": "Intel(R) Xeon(R) Gold 6338"},
        "memory_mib": 524288,
        "disks": [{"name": "nvme0n1", "size_bytes": 960197124096, "ssd": True}],
        "nics": [
            {
                "name": "eno1",
                "mac": "3c:fd:fe:a1:00:10",
                "speed_mbps": 25000,
                "lldp": {
                    "chassis_id": "00:1c:73:aa:bb:cc",
                    "system_name": "leaf-a1",
                    "port_id": "Ethernet1/7",
                },
            }
        ],
        "dmi": {
            "system": {
                "manufacturer": "Dell Inc.",
                "product": "PowerEdge R650",
                "serial": "7XK2F93",
                "uuid": "4c4c4544-0058-4b10-8032-b7c04f463933",
            },
            "baseboard": {"serial": "CNFCP0019M0123"},
        },
        "bmc": {"type": "ipmi", "address": "10.9.0.57"},
    },
}


def _ip(value: str) -> str:
    ip_address(value)  # ValueError → 422 naming the field
    return value


IpText = Annotated[str, AfterValidator(_ip)]


class _Open(BaseModel):
    """Part of a report: the known members are typed, unknown members are kept."""

    model_config = ConfigDict(extra="allow")


class Lldp(_Open):
    """What a NIC's LLDP neighbour announced."""

    chassis_id: str | None = None
    system_name: str | None = None
    port_id: str | None = None
    port_description: str | None = None


class Nic(_Open):
    """A network port the image found."""

    name: str | None = None
    mac: Mac | None = None
    lldp: Lldp | None = None


class DmiSystem(_Open):
    """DMI system information (the identifier is computed from it)."""

    manufacturer: str | None = None
    product: str | None = None
    serial: str | None = None
    uuid: str | None = None


class DmiBoard(_Open):
    """DMI baseboard or chassis information."""

    serial: str | None = None


class Dmi(_Open):
    """DMI tables; ``system`` is required."""

    system: DmiSystem
    baseboard: DmiBoard | None = None
    chassis: DmiBoard | None = None


class Bmc(_Open):
    """The machine's BMC."""

    type: str | None = None
    address: str | None = None


class Hardware(_Open):
    """The ``hardware`` object of a report: everything optional except ``dmi.system``."""

    nics: list[Nic] | None = None
    dmi: Dmi
    bmc: Bmc | None = None


class HardwareReport(ClosedBody):
    """``POST /discovery/reports`` (§8.2); ``identifier`` is computed, a differing one is 422."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [EXAMPLE_REPORT]})

    site: Name
    ip_address: IpText | None = None
    boot_mac: Mac | None = None
    config_uuid: str | None = Field(None, max_length=36)
    source: Literal["image", "sim"] = "image"
    identifier: str | None = Field(None, max_length=64)
    hardware: Hardware

    def content(self) -> dict[str, Any]:
        """The report as stored: given members only, unknown ``hardware`` keys kept."""
        return self.model_dump(exclude_unset=True, exclude={"identifier"}) | {
            "site": self.site,
            "ip_address": self.ip_address,
            "boot_mac": self.boot_mac,
            "config_uuid": self.config_uuid,
            "source": self.source,
        }


class DiscoveryAnswer(BaseModel):
    """The answer to a report: what the image does next."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "identifier": "9b1c…",
                    "status": "located",
                    "locator": "rack2-u07",
                    "matched_by": "lldp",
                    "messages": [],
                    "next": "poweroff",
                    "retry_after_s": 30,
                }
            ]
        }
    )

    identifier: str
    status: Status
    locator: str | None
    matched_by: MatchedBy | None
    messages: list[str]
    next: Literal["poweroff", "wait"]
    retry_after_s: int


class DiscoveryRead(ResourceRead):
    """A discovery record: the latest report of one machine and what became of it."""

    model_config = ConfigDict(
        from_attributes=True,
        json_schema_extra={
            "examples": [
                {
                    "identifier": "9b1c…",
                    "site": "dc1",
                    "ip_address": "10.0.0.201",
                    "boot_mac": "3c:fd:fe:a1:00:10",
                    "source": "image",
                    "status": "rejected",
                    "locator": "rack2-u07",
                    "matched_by": "lldp",
                    "messages": ["rule 5 (hardware.nics[*].speed_mbps): 1 matching, need >= 2"],
                    "report": EXAMPLE_REPORT,
                    "reported_at": "2026-03-02T10:15:04.123456Z",
                    "created_at": "2026-03-02T10:15:04.123456Z",
                    "updated_at": "2026-03-02T10:15:04.123456Z",
                    "version": 1,
                }
            ]
        },
    )

    identifier: str
    site: str
    ip_address: str | None
    boot_mac: str | None
    source: str
    status: Status
    locator: str | None
    matched_by: MatchedBy | None
    messages: list[str]
    report: dict[str, Any]
    reported_at: Timestamp


class AssignBody(ClosedBody):
    """``POST /discovery/{identifier}/assign``: attach the report to a planned foundation."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"locator": "u07"}]})

    locator: Locator


class EnrollBody(ClosedBody):
    """``POST /discovery/{identifier}/enroll``: create a foundation from the report."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"blueprint": "r650-compute", "locator": "rack2-u07"}]},
    )

    blueprint: Name
    locator: Locator | None = None
    type: str | None = Field(None, min_length=1, max_length=40)


class HardwareSummary(BaseModel):
    """The ``hardware`` summary in a foundation's representation."""

    identifier: str
    matched_by: str
    accepted_at: Timestamp
    cpu_count: int | None
    memory_mib: int | None
    disks: int
    nics: int
    product: str | None
    serial: str | None


class FoundationHardwareRead(HardwareSummary):
    """``GET /foundations/{locator}/hardware``: the accepted report in full."""

    locator: str
    report: dict[str, Any]
