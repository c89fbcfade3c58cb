from __future__ import annotations

from typing import Any

import pytest
from contractor.foundation_types import foundation_type
from pydantic import ValidationError

VALID: dict[str, dict[str, Any]] = {
    "manual": {},
    "sim": {},
    "ipmi": {"ipmi_ip_address": "10.0.0.5", "ipmi_username": "admin", "ipmi_password": "pw"},
    "redfish": {"redfish_url": "https://bmc", "redfish_username": "u", "redfish_password": "p"},
    "amt": {"amt_ip_address": "10.0.0.6", "amt_password": "pw"},
    "docker": {},
    "virtualbox": {},
    "vcenter": {},
    "libvirt": {},
    "proxmox": {},
    "aws": {},
    "azure": {},
}

SECRETS = {
    "ipmi": ("ipmi_password",),
    "redfish": ("redfish_password",),
    "amt": ("amt_password",),
    "aws": ("awsec2_secret_access_key",),
    "azure": ("azure_admin_password",),
}
RUNTIME = {
    "sim": ("sim_id",),
    "docker": ("docker_id",),
    "virtualbox": ("virtualbox_uuid",),
    "vcenter": ("vcenter_uuid",),
    "libvirt": ("libvirt_uuid",),
    "proxmox": ("proxmox_id",),
    "aws": ("awsec2_instance_id",),
    "azure": ("azure_resource_name",),
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_minimal_attributes_validate(name: str) -> None:
    foundation_type(name).validate_attributes(VALID[name])


@pytest.mark.parametrize("name", sorted(VALID))
def test_unknown_field_refused(name: str) -> None:
    with pytest.raises(ValidationError):
        foundation_type(name).validate_attributes({**VALID[name], "bogus": 1})


@pytest.mark.parametrize("name", sorted(VALID))
def test_secret_and_runtime_fields(name: str) -> None:
    ftype = foundation_type(name)
    assert ftype.secret_fields == SECRETS.get(name, ())
    assert ftype.runtime_fields == RUNTIME.get(name, ())
    properties = ftype.attributes_schema()["properties"]
    for field in ftype.secret_fields:
        assert properties[field]["writeOnly"] is True and properties[field]["x-secret"] is True
    for field in ftype.runtime_fields:
        assert properties[field]["readOnly"] is True and properties[field]["x-runtime"] is True


class TestIpmi:
    def test_defaults(self) -> None:
        model = foundation_type("ipmi").validate_attributes(VALID["ipmi"]).model_dump()
        assert model["ipmi_port"] == 623
        assert model["ipmi_cipher_suite"] is None
        assert model["ipmi_sol_port"] == "ttyS1"

    @pytest.mark.parametrize("missing", ["ipmi_ip_address", "ipmi_username", "ipmi_password"])
    def test_required(self, missing: str) -> None:
        data = {k: v for k, v in VALID["ipmi"].items() if k != missing}
        with pytest.raises(ValidationError):
            foundation_type("ipmi").validate_attributes(data)

    def test_sol_port_choices(self) -> None:
        with pytest.raises(ValidationError):
            foundation_type("ipmi").validate_attributes({**VALID["ipmi"], "ipmi_sol_port": "ttyS4"})

    def test_console(self) -> None:
        ipmi = foundation_type("ipmi")
        assert ipmi.console({}) == "ttyS1"
        assert ipmi.console({"ipmi_sol_port": "console"}) == "console"
        assert foundation_type("manual").console({}) == "console"
        assert foundation_type("redfish").console({}) == "console"
        assert foundation_type("redfish").console({"redfish_sol_port": "ttyS0"}) == "ttyS0"


def test_redfish_needs_address_or_url() -> None:
    redfish = foundation_type("redfish")
    data = {"redfish_username": "u", "redfish_password": "p"}
    with pytest.raises(ValidationError, match="redfish_ip_address or redfish_url"):
        redfish.validate_attributes(data)
    redfish.validate_attributes({**data, "redfish_ip_address": "10.0.0.1"})


def test_amt_username_defaults_to_admin() -> None:
    model = foundation_type("amt").validate_attributes(VALID["amt"])
    assert model.model_dump()["amt_username"] == "admin"


class TestAws:
    def test_credentials_both_or_neither(self) -> None:
        aws = foundation_type("aws")
        aws.validate_attributes({"awsec2_access_key_id": "A", "awsec2_secret_access_key": "S"})
        with pytest.raises(ValidationError, match="or neither"):
            aws.validate_attributes({"awsec2_access_key_id": "A"})
        with pytest.raises(ValidationError, match="or neither"):
            aws.validate_attributes({"awsec2_secret_access_key": "S"})

    def test_located_on_creation(self) -> None:
        aws = foundation_type("aws")
        assert aws.is_located_on_create(aws.validate_attributes({})) is True


class TestSim:
    def test_defaults(self) -> None:
        model = foundation_type("sim").validate_attributes({}).model_dump()
        assert model["sim_power_delay_s"] == 2
        assert model["sim_boot_delay_s"] == 10
        assert model["sim_variance"] == 0.3
        assert model["sim_fail_rate"] == 0
        assert model["sim_fail_mode"] == "error"
        assert model["sim_fail_functions"] == []
        assert model["sim_auto_locate"] is False

    @pytest.mark.parametrize(
        "bad",
        [
            {"sim_variance": 1.5},
            {"sim_fail_rate": -0.1},
            {"sim_fail_mode": "explode"},
            {"sim_vm_spec": {"cpu_count": 65}},
            {"sim_vm_spec": {"memory_size": 256}},
        ],
    )
    def test_invalid(self, bad: dict[str, Any]) -> None:
        with pytest.raises(ValidationError):
            foundation_type("sim").validate_attributes(bad)

    def test_auto_locate(self) -> None:
        sim = foundation_type("sim")
        assert sim.is_located_on_create(sim.validate_attributes({})) is False
        assert sim.is_located_on_create(sim.validate_attributes({"sim_auto_locate": True}))

    def test_others_not_located_on_creation(self) -> None:
        for name in ("manual", "ipmi", "docker", "virtualbox"):
            ftype = foundation_type(name)
            assert ftype.is_located_on_create(ftype.validate_attributes(VALID[name])) is False


def test_vcenter_ova_or_template() -> None:
    vcenter = foundation_type("vcenter")
    vcenter.validate_attributes({"vcenter_vm_spec": {"ova": "http://x/a.ova"}})
    with pytest.raises(ValidationError, match="not both"):
        vcenter.validate_attributes({"vcenter_vm_spec": {"ova": "a", "template": "b"}})


def test_azure_defaults_and_image() -> None:
    azure = foundation_type("azure")
    assert azure.validate_attributes({}).model_dump()["azure_size"] == "Standard_D1_v2"
    with pytest.raises(ValidationError):
        azure.validate_attributes({"azure_image": {"publisher": "Canonical"}})


def test_config_fields_drop_secrets() -> None:
    fields = foundation_type("ipmi").config_fields(VALID["ipmi"])
    assert fields == {
        "ipmi_ip_address": "10.0.0.5",
        "ipmi_port": None,
        "ipmi_username": "admin",
        "ipmi_cipher_suite": None,
        "ipmi_sol_port": None,
    }


def test_default_sim_profile_is_deterministic() -> None:
    from contractor.foundation_types.builtin.sim import default_sim_profile

    profile = default_sim_profile("rack1-u12")
    assert profile == default_sim_profile("rack1-u12")
    assert profile != default_sim_profile("rack1-u13")
    macs = [nic["mac"] for nic in profile["nics"]]
    assert all(mac.startswith("02:") and len(mac) == 17 for mac in macs)
    assert len(set(macs)) == 2
    assert set(profile["dmi"]["system"]) == {"manufacturer", "product", "serial", "uuid"}
