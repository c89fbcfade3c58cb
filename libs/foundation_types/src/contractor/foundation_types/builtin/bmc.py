"""Bare metal behind a BMC: ``ipmi``, ``redfish`` and ``amt``."""

from __future__ import annotations

from typing import Annotated, Final, Self

from contractor.foundation_types.builtin.models import Attributes, SolPort
from contractor.foundation_types.declaration import FoundationType
from contractor.foundation_types.functions import (
    HostFunction,
    link_test,
    power_functions,
    set_boot_device,
)
from contractor.foundation_types.markers import SECRET
from contractor.foundation_types.values import TypeValue
from pydantic import Field, model_validator


class IpmiAttributes(Attributes):
    """IPMI BMC access."""

    ipmi_ip_address: str
    ipmi_port: int = Field(623, ge=1, le=65535)
    ipmi_username: str
    ipmi_password: Annotated[str, SECRET]
    ipmi_cipher_suite: int | None = Field(None, description="null = negotiate")
    ipmi_sol_port: SolPort = Field("ttyS1", description="also the console")


class RedfishAttributes(Attributes):
    """Redfish BMC access: an IP address or a URL."""

    redfish_ip_address: str | None = None
    redfish_url: str | None = None
    redfish_username: str
    redfish_password: Annotated[str, SECRET]
    redfish_verify_tls: bool = False
    redfish_system_id: str | None = Field(None, description="null = the first system")
    redfish_sol_port: SolPort | None = Field(None, description="also the console")

    @model_validator(mode="after")
    def _address_or_url(self) -> Self:
        if self.redfish_ip_address is None and self.redfish_url is None:
            raise ValueError("redfish_ip_address or redfish_url is required")
        return self


class AmtAttributes(Attributes):
    """Intel AMT access."""

    amt_ip_address: str
    amt_username: str = "admin"
    amt_password: Annotated[str, SECRET]


IPMI: Final = FoundationType(
    name="ipmi",
    display_name="IPMI",
    prefix="ipmi_",
    class_list=("Physical", "IPMI"),
    attributes_model=IpmiAttributes,
    console_field="ipmi_sol_port",
    agent_module="ipmi",
    functions=(
        *power_functions("ipmi"),
        link_test("ipmi"),
        set_boot_device("ipmi"),
        HostFunction("sensors", (), "task", "ipmi", ("sensors",), returns="list"),
        HostFunction("fru", (), "task", "ipmi", ("fru",), returns="map"),
    ),
    values=(TypeValue("ipmi_ip_address"),),
    description="Bare metal with an IPMI BMC.",
)

REDFISH: Final = FoundationType(
    name="redfish",
    display_name="RedFish",
    prefix="redfish_",
    class_list=("Physical", "RedFish"),
    attributes_model=RedfishAttributes,
    console_field="redfish_sol_port",
    agent_module="redfish",
    functions=(*power_functions("redfish"), link_test("redfish"), set_boot_device("redfish")),
    values=(TypeValue("redfish_ip_address"),),
    description="Bare metal with a Redfish BMC.",
)

AMT: Final = FoundationType(
    name="amt",
    display_name="AMT",
    prefix="amt_",
    class_list=("Physical", "AMT"),
    attributes_model=AmtAttributes,
    agent_module="amt",
    functions=(*power_functions("amt"), link_test("amt")),
    values=(TypeValue("amt_ip_address"),),
    description="Bare metal with Intel AMT.",
)
