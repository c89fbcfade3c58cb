"""The built-in complex types (inventory spec §4.2)."""

from __future__ import annotations

from typing import Annotated, Final, Literal

from contractor.foundation_types.builtin.models import Attributes, NoAttributes
from contractor.foundation_types.declaration import ComplexType
from contractor.foundation_types.markers import SECRET
from pydantic import Field


class DockerComplexAttributes(Attributes):
    """A docker host; ``docker_url`` defaults to ``tcp://<host primary ip>:2376``."""

    docker_host: int | None = Field(None, description="member structure id; default the only one")
    docker_url: str | None = None
    docker_tls_ca: str | None = None
    docker_tls_cert: str | None = None
    docker_tls_key: Annotated[str | None, SECRET] = None


class VirtualBoxComplexAttributes(Attributes):
    """A VirtualBox host (exactly one member)."""

    virtualbox_mode: Literal["local", "ssh", "soap"] = "local"
    virtualbox_username: str | None = None
    virtualbox_password: Annotated[str | None, SECRET] = None


class VCenterComplexAttributes(Attributes):
    """A vCenter (or ESX) host member and its credentials."""

    vcenter_host: int = Field(description="member structure id")
    vcenter_username: str | None = None
    vcenter_password: Annotated[str | None, SECRET] = None
    vcenter_datacenter: str | None = None
    vcenter_cluster: str | None = None
    vcenter_verify_tls: bool = True


class LibVirtComplexAttributes(Attributes):
    """A libvirt host; ``libvirt_uri`` defaults to ``qemu+ssh://<host primary ip>/system``."""

    libvirt_host: int | None = Field(None, description="member structure id")
    libvirt_uri: str | None = None


class ProxmoxComplexAttributes(Attributes):
    """A Proxmox host member and its credentials."""

    proxmox_host: int | None = Field(None, description="member structure id")
    proxmox_username: str | None = None
    proxmox_password: Annotated[str | None, SECRET] = None
    proxmox_node: str | None = None


class AzureComplexAttributes(Attributes):
    """An Azure subscription and resource group (no members; always built)."""

    azure_subscription_id: str | None = None
    azure_tenant_id: str | None = None
    azure_client_id: str | None = None
    azure_client_secret: Annotated[str | None, SECRET] = None
    azure_resource_group: str | None = None
    azure_location: str | None = None


MANUAL_COMPLEX: Final = ComplexType("manual", NoAttributes)
SIM_COMPLEX: Final = ComplexType("sim", NoAttributes)
DOCKER_COMPLEX: Final = ComplexType("docker", DockerComplexAttributes, host_field="docker_host")
VIRTUALBOX_COMPLEX: Final = ComplexType("virtualbox", VirtualBoxComplexAttributes, members="one")
VCENTER_COMPLEX: Final = ComplexType(
    "vcenter", VCenterComplexAttributes, host_field="vcenter_host", built="host"
)
LIBVIRT_COMPLEX: Final = ComplexType("libvirt", LibVirtComplexAttributes, host_field="libvirt_host")
PROXMOX_COMPLEX: Final = ComplexType("proxmox", ProxmoxComplexAttributes, host_field="proxmox_host")
AZURE_COMPLEX: Final = ComplexType("azure", AzureComplexAttributes, members="none", built="always")
