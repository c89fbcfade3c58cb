"""Hypervisor VMs: ``virtualbox``, ``vcenter``, ``libvirt`` and ``proxmox``."""

from __future__ import annotations

from typing import Annotated, Any, Final, Self

from contractor.foundation_types.builtin.models import Attributes, VmSpec
from contractor.foundation_types.declaration import ComplexRule, FoundationType
from contractor.foundation_types.functions import (
    SET_INTERFACE_MACS,
    HostFunction,
    Param,
    create,
    destroy,
    get_interface_map,
    opt,
    power_functions,
)
from contractor.foundation_types.markers import RUNTIME
from contractor.foundation_types.values import VM_SIZE_SOURCES, SpecRule, SpecSource, TypeValue
from pydantic import Field, model_validator


class VirtualBoxVmSpec(VmSpec):
    """``virtualbox_vm_spec``."""

    guest_type: str | None = None
    network_adapter_type: str | None = None


class VirtualBoxAttributes(Attributes):
    """A VirtualBox VM."""

    virtualbox_vm_spec: VirtualBoxVmSpec | None = None
    virtualbox_uuid: Annotated[str | None, RUNTIME] = None


class VCenterVmSpec(VmSpec):
    """``vcenter_vm_spec``: deploy from an OVA or a template, or build from ``guest_id``."""

    guest_id: str | None = None
    ova: str | None = None
    template: str | None = None
    property_map: dict[str, Any] | None = None
    network_interface_class: str | None = None

    @model_validator(mode="after")
    def _ova_or_template(self) -> Self:
        if self.ova is not None and self.template is not None:
            raise ValueError("give ova or template, not both")
        return self


class VCenterAttributes(Attributes):
    """A vCenter VM."""

    vcenter_vm_spec: VCenterVmSpec | None = None
    vcenter_uuid: Annotated[str | None, RUNTIME] = None


class LibVirtVmSpec(VmSpec):
    """``libvirt_vm_spec``."""

    boot_order: list[str] | None = None


class LibVirtAttributes(Attributes):
    """A libvirt VM."""

    libvirt_vm_spec: LibVirtVmSpec | None = None
    libvirt_uuid: Annotated[str | None, RUNTIME] = None


class ProxmoxAttributes(Attributes):
    """A Proxmox VM."""

    proxmox_vm_spec: VmSpec | None = None
    proxmox_id: Annotated[str | None, RUNTIME] = Field(None)


def _vm_values(prefix: str, runtime: str) -> tuple[TypeValue, ...]:
    return (
        TypeValue(f"{prefix}complex"),
        TypeValue(f"{prefix}vmspec"),
        TypeValue(runtime, writable=True),
    )


VIRTUALBOX: Final = FoundationType(
    name="virtualbox",
    display_name="VirtualBox",
    prefix="virtualbox_",
    class_list=("VM", "VirtualBox"),
    attributes_model=VirtualBoxAttributes,
    complex=ComplexRule("required", ("virtualbox",)),
    agent_module="virtualbox",
    functions=(
        *power_functions("virtualbox"),
        create("virtualbox", "create", "destroy"),
        destroy("virtualbox", "destroy"),
        get_interface_map("virtualbox"),
        SET_INTERFACE_MACS,
    ),
    values=_vm_values("virtualbox_", "virtualbox_uuid"),
    spec_rule=SpecRule(
        "virtualbox_vmspec",
        "virtualbox_vm_spec",
        sources=(
            *VM_SIZE_SOURCES,
            SpecSource("guest_type", "virtualbox_guest_type", "Other"),
            SpecSource("network_adapter_type", "virtualbox_network_adapter_type"),
        ),
    ),
    description="A VirtualBox VM on a virtualbox complex.",
)

VCENTER: Final = FoundationType(
    name="vcenter",
    display_name="VCenter",
    prefix="vcenter_",
    class_list=("VM", "VCenter"),
    attributes_model=VCenterAttributes,
    complex=ComplexRule("required", ("vcenter",)),
    agent_module="vcenter",
    functions=(
        *power_functions("vcenter"),
        create("vcenter", "create_vm", "destroy_vm"),
        destroy("vcenter", "destroy_vm"),
        get_interface_map("vcenter"),
        SET_INTERFACE_MACS,
        HostFunction(
            "execute",
            (
                Param("username"),
                Param("password"),
                Param("command"),
                opt("dir"),
                opt("timeout", 300),
                opt("expected_rc", 0),
            ),
            "task",
            "vcenter",
            ("execute",),
            idempotent=False,
            rollback="none",
            returns="{rc}; another rc is an error",
        ),
        HostFunction(
            "mark_as_template",
            (opt("as_template", True),),
            "task",
            "vcenter",
            ("mark_as_template",),
        ),
        HostFunction("export", (Param("url"),), "task", "vcenter", ("export",), returns="location"),
    ),
    values=_vm_values("vcenter_", "vcenter_uuid"),
    spec_rule=SpecRule(
        "vcenter_vmspec",
        "vcenter_vm_spec",
        sources=(
            *VM_SIZE_SOURCES,
            SpecSource("guest_id", "vcenter_guest_id"),
            SpecSource("ova", "ova"),
            SpecSource("template", "template"),
            SpecSource("property_map", "vcenter_property_map"),
            SpecSource("network_interface_class", "vcenter_network_interface_class"),
        ),
    ),
    description="A vCenter VM on a vcenter complex.",
)

LIBVIRT: Final = FoundationType(
    name="libvirt",
    display_name="LibVirt",
    prefix="libvirt_",
    class_list=("VM", "LibVirt"),
    attributes_model=LibVirtAttributes,
    complex=ComplexRule("required", ("libvirt",)),
    agent_module="libvirt",
    functions=power_functions("libvirt"),
    values=_vm_values("libvirt_", "libvirt_uuid"),
    spec_rule=SpecRule(
        "libvirt_vmspec",
        "libvirt_vm_spec",
        sources=(*VM_SIZE_SOURCES, SpecSource("boot_order", "libvirt_boot_order")),
    ),
    description="A libvirt VM (no agent plugin in this release).",
)

PROXMOX: Final = FoundationType(
    name="proxmox",
    display_name="Proxmox",
    prefix="proxmox_",
    class_list=("VM", "Proxmox"),
    attributes_model=ProxmoxAttributes,
    complex=ComplexRule("required", ("proxmox",)),
    agent_module="proxmox",
    functions=power_functions("proxmox"),
    values=_vm_values("proxmox_", "proxmox_id"),
    spec_rule=SpecRule("proxmox_vmspec", "proxmox_vm_spec"),
    description="A Proxmox VM (optional type; no agent plugin in this release).",
)
