"""Cloud VMs: ``aws`` (EC2) and ``azure``."""

from __future__ import annotations

from typing import Annotated, Final, Self

from contractor.foundation_types.builtin.models import Attributes
from contractor.foundation_types.declaration import ComplexRule, FoundationType
from contractor.foundation_types.functions import (
    SET_INTERFACE_MACS,
    HostFunction,
    Param,
    create,
    destroy,
    power_functions,
)
from contractor.foundation_types.markers import RUNTIME, SECRET
from contractor.foundation_types.values import SpecRule, TypeValue
from pydantic import Field, model_validator


class AwsAttributes(Attributes):
    """An EC2 instance. Without credentials the agent uses its own."""

    awsec2_region: str | None = None
    awsec2_type: str | None = Field(None, description="instance type")
    awsec2_image_id: str | None = None
    awsec2_subnet_id: str | None = None
    awsec2_security_group_ids: list[str] | None = None
    awsec2_key_name: str | None = None
    awsec2_access_key_id: str | None = None
    awsec2_secret_access_key: Annotated[str | None, SECRET] = None
    awsec2_instance_id: Annotated[str | None, RUNTIME] = None

    @model_validator(mode="after")
    def _both_or_neither(self) -> Self:
        if (self.awsec2_access_key_id is None) != (self.awsec2_secret_access_key is None):
            raise ValueError("give awsec2_access_key_id and awsec2_secret_access_key, or neither")
        return self


class AzureImage(Attributes):
    """A marketplace image reference."""

    publisher: str
    offer: str
    sku: str
    version: str = "latest"


class AzureAttributes(Attributes):
    """An Azure VM on an azure complex."""

    azure_size: str = "Standard_D1_v2"
    azure_image: AzureImage | None = None
    azure_admin_username: str | None = None
    azure_admin_password: Annotated[str | None, SECRET] = None
    azure_resource_name: Annotated[str | None, RUNTIME] = None


AWS_SETTINGS: Final = (
    "awsec2_region",
    "awsec2_type",
    "awsec2_image_id",
    "awsec2_subnet_id",
    "awsec2_security_group_ids",
    "awsec2_key_name",
)
"""The ``awsec2_*`` settings scripts read (credentials stay in the connection)."""

AWS: Final = FoundationType(
    name="aws",
    display_name="AWSEC2",
    prefix="awsec2_",
    class_list=("VM", "AWSEC2"),
    attributes_model=AwsAttributes,
    located_on_create=True,
    agent_module="aws",
    functions=(
        *power_functions("aws", on_task="start", off_task="stop"),
        create("aws", "run_instance", "terminate"),
        destroy("aws", "terminate"),
        SET_INTERFACE_MACS,
        HostFunction(
            "set_ip_addresses",
            (Param("ip_address_map"),),
            kind="write",
            idempotent=None,
            rollback=None,
        ),
    ),
    values=(
        *(TypeValue(name) for name in AWS_SETTINGS),
        TypeValue("awsec2_instance_id", writable=True),
    ),
    description="An EC2 instance; located on creation.",
)

AZURE: Final = FoundationType(
    name="azure",
    display_name="Azure",
    prefix="azure_",
    class_list=("VM", "Azure"),
    attributes_model=AzureAttributes,
    complex=ComplexRule("required", ("azure",)),
    agent_module="azure",
    functions=(
        *power_functions("azure"),
        create("azure", "create_vm", "delete_vm"),
        destroy("azure", "delete_vm"),
        SET_INTERFACE_MACS,
    ),
    values=(
        TypeValue("azure_complex"),
        TypeValue("azure_vmspec"),
        TypeValue("azure_resource_name", writable=True),
    ),
    spec_rule=SpecRule(
        "azure_vmspec",
        None,
        sources=(),
        attribute_fields=(
            ("size", "azure_size"),
            ("image", "azure_image"),
            ("admin_username", "azure_admin_username"),
        ),
    ),
    description="An Azure VM; power off deallocates.",
)
