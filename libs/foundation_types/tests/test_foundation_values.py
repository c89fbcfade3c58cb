"""Config fallbacks and computed specs of inventory spec §4.1."""

from __future__ import annotations

from typing import Any

import pytest
from contractor.foundation_types import COMMON_VALUES, SpecError, foundation_type
from pydantic import ValidationError

IPMI_STORED = {"ipmi_ip_address": "10.0.0.5", "ipmi_username": "admin", "ipmi_password": "pw"}
INTERFACES = [{"physical_location": "eth0", "mac": "02:00:00:00:00:01"}]


class TestFallbacks:
    def test_unset_takes_config_then_default(self) -> None:
        aws = foundation_type("aws")
        resolved = aws.resolve_attributes(
            {"awsec2_region": "eu-west-1"}, {"awsec2_type": "t3.micro"}
        )
        assert resolved["awsec2_region"] == "eu-west-1"
        assert resolved["awsec2_type"] == "t3.micro"
        assert resolved["awsec2_image_id"] is None

    def test_set_value_beats_config(self) -> None:
        aws = foundation_type("aws")
        resolved = aws.resolve_attributes({"awsec2_type": "m5.large"}, {"awsec2_type": "t3.micro"})
        assert resolved["awsec2_type"] == "m5.large"

    def test_explicit_null_counts_as_unset(self) -> None:
        aws = foundation_type("aws")
        assert (
            aws.resolve_attributes({"awsec2_type": None}, {"awsec2_type": "t3"})["awsec2_type"]
            == "t3"
        )

    def test_default_when_nothing_given(self) -> None:
        resolved = foundation_type("ipmi").resolve_attributes(IPMI_STORED, {})
        assert (resolved["ipmi_port"], resolved["ipmi_sol_port"]) == (623, "ttyS1")
        resolved = foundation_type("ipmi").resolve_attributes(IPMI_STORED, {"ipmi_port": 6230})
        assert resolved["ipmi_port"] == 6230

    def test_secret_and_runtime_never_fall_back(self) -> None:
        config = {
            "awsec2_secret_access_key": "leak",
            "awsec2_access_key_id": "A",
            "awsec2_instance_id": "i-123",
        }
        with pytest.raises(ValidationError):  # the id falls back, its secret may not
            foundation_type("aws").resolve_attributes({}, config)
        resolved = foundation_type("aws").resolve_attributes({}, {"awsec2_instance_id": "i-1"})
        assert resolved["awsec2_instance_id"] is None

    def test_invalid_config_fallback_refused(self) -> None:
        with pytest.raises(ValidationError):
            foundation_type("ipmi").resolve_attributes(IPMI_STORED, {"ipmi_port": "many"})


class TestVmSpec:
    def test_defaults(self) -> None:
        values = foundation_type("virtualbox").type_values({}, {}, complex_name="vbox1")
        assert values["virtualbox_complex"] == "vbox1"
        assert values["virtualbox_vmspec"] == {
            "cpu_count": 1,
            "memory_size": 512,
            "disk_size": 10,
            "guest_type": "Other",
            "interfaces": [],
        }
        assert values["virtualbox_uuid"] is None

    def test_config_then_attribute(self) -> None:
        config = {"cpu_count": 4, "memory_size": "2048", "virtualbox_guest_type": "Ubuntu_64"}
        stored = {"virtualbox_vm_spec": {"cpu_count": 8}, "virtualbox_uuid": "u-1"}
        values = foundation_type("virtualbox").type_values(stored, config, interfaces=INTERFACES)
        assert values["virtualbox_vmspec"] == {
            "cpu_count": 8,
            "memory_size": 2048,
            "disk_size": 10,
            "guest_type": "Ubuntu_64",
            "interfaces": INTERFACES,
        }
        assert values["virtualbox_uuid"] == "u-1"

    @pytest.mark.parametrize(
        ("config", "message"),
        [
            ({"cpu_count": 65}, "cpu_count: must be from 1 to 64"),
            ({"cpu_count": 0}, "cpu_count: must be from 1 to 64"),
            ({"memory_size": 511}, "memory_size: must be from 512 to 1048510"),
            ({"memory_size": 1048511}, "memory_size"),
            ({"cpu_count": "lots"}, "must be an integer"),
            ({"cpu_count": True}, "must be an integer"),
            ({"disk_size": 0}, "disk_size: must be at least 1"),
        ],
    )
    def test_ranges(self, config: dict[str, Any], message: str) -> None:
        with pytest.raises(SpecError, match=message):
            foundation_type("sim").type_values({}, config)

    def test_vcenter_keys(self) -> None:
        config = {"vcenter_guest_id": "ubuntu64Guest", "vcenter_property_map": {"a": "b"}}
        spec = foundation_type("vcenter").type_values({}, config)["vcenter_vmspec"]
        assert spec["guest_id"] == "ubuntu64Guest"
        assert spec["property_map"] == {"a": "b"}
        assert "ova" not in spec and "template" not in spec

    def test_docker_containerspec(self) -> None:
        config = {"docker_image": "nginx", "docker_port_list": [80], "cpu_count": 4}
        stored = {"docker_container_spec": {"command": ["nginx", "-g", "daemon off;"]}}
        values = foundation_type("docker").type_values(stored, config, complex_name="d1")
        assert values["docker_containerspec"] == {
            "image": "nginx",
            "ports": [80],
            "command": ["nginx", "-g", "daemon off;"],
            "interfaces": [],
        }
        assert values["docker_complex"] == "d1"

    def test_azure_vmspec(self) -> None:
        stored = {"azure_image": {"publisher": "Canonical", "offer": "o", "sku": "s"}}
        spec = foundation_type("azure").type_values(stored, {"azure_admin_username": "ops"})[
            "azure_vmspec"
        ]
        assert spec == {
            "size": "Standard_D1_v2",
            "image": {"publisher": "Canonical", "offer": "o", "sku": "s", "version": "latest"},
            "admin_username": "ops",
            "interfaces": [],
        }


class TestTypeValues:
    def test_ipmi(self) -> None:
        assert foundation_type("ipmi").type_values(IPMI_STORED, {}) == {
            "ipmi_ip_address": "10.0.0.5"
        }

    def test_aws_settings_fall_back(self) -> None:
        values = foundation_type("aws").type_values({}, {"awsec2_region": "us-east-1"})
        assert values["awsec2_region"] == "us-east-1"
        assert "awsec2_secret_access_key" not in values
        assert "awsec2_access_key_id" not in values

    def test_manual_has_none(self) -> None:
        assert foundation_type("manual").type_values({}, {}) == {}

    @pytest.mark.parametrize(
        ("name", "readonly", "writable"),
        [
            ("ipmi", ["ipmi_ip_address"], []),
            ("redfish", ["redfish_ip_address"], []),
            ("amt", ["amt_ip_address"], []),
            ("docker", ["docker_complex", "docker_containerspec"], ["docker_id"]),
            ("virtualbox", ["virtualbox_complex", "virtualbox_vmspec"], ["virtualbox_uuid"]),
            ("vcenter", ["vcenter_complex", "vcenter_vmspec"], ["vcenter_uuid"]),
            ("azure", ["azure_complex", "azure_vmspec"], ["azure_resource_name"]),
            ("sim", ["sim_vmspec"], ["sim_id"]),
        ],
    )
    def test_declared_values(self, name: str, readonly: list[str], writable: list[str]) -> None:
        ftype = foundation_type(name)
        assert [v.name for v in ftype.values if not v.writable] == readonly
        assert [v.name for v in ftype.values if v.writable] == writable
        assert set(writable) == set(ftype.runtime_fields)

    def test_common_values(self) -> None:
        assert COMMON_VALUES == (
            "locator",
            "type",
            "type_name",
            "id",
            "class_list",
            "site",
            "blueprint",
            "state",
            "complex",
            "interface_list",
            "provisioning_interface",
        )
