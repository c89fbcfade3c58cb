from __future__ import annotations

import json

import pytest
from contractor.foundation_types import (
    BUILTIN_COMPLEX_TYPES,
    BUILTIN_FOUNDATION_TYPES,
    UnknownTypeError,
    complex_type,
    foundation_type,
    load_complex_types,
    load_foundation_types,
)

# inventory spec §4.2: name → (display name, class list, complex mode, complex types)
TABLE = {
    "manual": ("Manual", ["Metal", "VM", "Container", "Switch", "Manual"], "optional", ["manual"]),
    "sim": ("Sim", ["Physical", "VM", "Sim"], "optional", ["sim"]),
    "ipmi": ("IPMI", ["Physical", "IPMI"], "forbidden", []),
    "redfish": ("RedFish", ["Physical", "RedFish"], "forbidden", []),
    "amt": ("AMT", ["Physical", "AMT"], "forbidden", []),
    "docker": ("Docker", ["Container", "Docker"], "required", ["docker"]),
    "virtualbox": ("VirtualBox", ["VM", "VirtualBox"], "required", ["virtualbox"]),
    "vcenter": ("VCenter", ["VM", "VCenter"], "required", ["vcenter"]),
    "libvirt": ("LibVirt", ["VM", "LibVirt"], "required", ["libvirt"]),
    "proxmox": ("Proxmox", ["VM", "Proxmox"], "required", ["proxmox"]),
    "aws": ("AWSEC2", ["VM", "AWSEC2"], "forbidden", []),
    "azure": ("Azure", ["VM", "Azure"], "required", ["azure"]),
}


@pytest.mark.parametrize("name", sorted(TABLE))
def test_builtin_declarations_match_the_spec(name: str) -> None:
    ftype = foundation_type(name)
    display, classes, mode, complexes = TABLE[name]
    assert (ftype.name, ftype.display_name, list(ftype.class_list)) == (name, display, classes)
    assert (ftype.complex.mode, list(ftype.complex.types)) == (mode, complexes)
    for complex_name in complexes:
        assert complex_type(complex_name).name == complex_name


def test_entry_points_register_every_builtin() -> None:
    assert load_foundation_types() == dict(BUILTIN_FOUNDATION_TYPES)
    assert set(BUILTIN_FOUNDATION_TYPES) == set(TABLE)
    assert load_complex_types() == dict(BUILTIN_COMPLEX_TYPES)
    assert set(BUILTIN_COMPLEX_TYPES) == {
        "manual",
        "sim",
        "docker",
        "virtualbox",
        "vcenter",
        "libvirt",
        "proxmox",
        "azure",
    }


def test_unknown_names() -> None:
    with pytest.raises(UnknownTypeError):
        foundation_type("IPMI")
    with pytest.raises(UnknownTypeError):
        complex_type("aws")


@pytest.mark.parametrize("name", sorted(TABLE))
def test_every_field_carries_the_prefix(name: str) -> None:
    ftype = foundation_type(name)
    assert all(field.startswith(ftype.prefix) for field in ftype.attributes_model.model_fields)


@pytest.mark.parametrize("name", sorted(TABLE))
def test_describe_is_json(name: str) -> None:
    described = foundation_type(name).describe()
    assert json.loads(json.dumps(described)) == described
    assert described["values"][:3] == ["locator", "type", "type_name"]


@pytest.mark.parametrize("name", sorted(BUILTIN_COMPLEX_TYPES))
def test_complex_describe_is_json(name: str) -> None:
    described = complex_type(name).describe()
    assert json.loads(json.dumps(described)) == described
    ctype = complex_type(name)
    assert all(f.startswith(f"{name}_") for f in ctype.attributes_model.model_fields)


def test_complex_rules() -> None:
    assert complex_type("virtualbox").members == "one"
    assert complex_type("azure").members == "none"
    assert complex_type("azure").built == "always"
    assert (complex_type("vcenter").host_field, complex_type("vcenter").built) == (
        "vcenter_host",
        "host",
    )
    assert complex_type("docker").secret_fields == ("docker_tls_key",)
    assert complex_type("vcenter").secret_fields == ("vcenter_password",)
    assert complex_type("azure").secret_fields == ("azure_client_secret",)


class TestComplexRuleCheck:
    def test_forbidden(self) -> None:
        rule = foundation_type("ipmi").complex
        assert rule.check(None) is None
        assert rule.check("docker") is not None

    def test_required(self) -> None:
        rule = foundation_type("docker").complex
        assert rule.check(None) == "a complex is required"
        assert rule.check("docker") is None
        assert rule.check("vcenter") is not None

    def test_optional(self) -> None:
        rule = foundation_type("manual").complex
        assert rule.check(None) is None and rule.check("manual") is None
