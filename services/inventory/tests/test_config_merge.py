"""Merge order of inventory spec §6.3 and worked examples C, E and F."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

import pytest
from contractor.inventory.config import (
    ConfigValueError,
    Layer,
    Source,
    address_layers,
    blueprint_chain,
    blueprint_layers,
    config_globals,
    foundation_attributes,
    foundation_layers,
    merge_layers,
    render,
    site_layers,
    structure_attributes,
    structure_layers,
)

MANUAL_CLASSES = ["Metal", "VM", "Container", "Switch", "Manual"]
GLOBALS = config_globals(
    last_modified=datetime(2030, 1, 1, tzinfo=UTC),
    now=datetime(2030, 1, 2, tzinfo=UTC),
    contractor_host="http://contractor:8080",
    pxe_location="http://pxe/",
)


def user_keys(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if not k.startswith("_")}


def manual_foundation(locator: str) -> dict[str, Any]:
    return foundation_attributes(
        locator=locator, type_display_name="Manual", state="planned", class_list=MANUAL_CLASSES
    )


class TestWorkedExampleC:
    blueprints: ClassVar[list[Source]] = [
        Source(
            "linux-base",
            {"packages": ["openssh-server"], "ntp_servers": ["pool.ntp.org"], "swap_size": "2G"},
        ),
        Source(
            "ubuntu-base",
            {">packages": ["ubuntu-minimal"], "installer_pxe": "ubuntu", "swap_size:VM": "512M"},
        ),
    ]
    sites: ClassVar[list[Source]] = [
        Source("root", {"domain_name": "example.com", "ntp_servers": ["ntp1.example.com"]}),
        Source(
            "dc1",
            {
                ">ntp_servers": ["10.0.0.5"],
                "dns_servers": ["10.0.0.10"],
                "-packages": "openssh-server",
            },
        ),
    ]
    structure = Source(
        "web01",
        {">packages": ["nginx"], "alias": "www.{{domain_name}}", "<ntp_servers": "10.0.0.4"},
    )

    def layers(self) -> list[Layer]:
        return structure_layers(
            blueprint_chain=self.blueprints,
            site_chain=self.sites,
            foundation_attributes=manual_foundation("rack1-u20"),
            structure=self.structure,
            structure_attributes=structure_attributes(
                structure_id=7,
                state="planned",
                config_uuid="u-1",
                hostname="web01",
                zone="dc1.example.com",
            ),
            globals_=GLOBALS,
        )

    def test_after_each_layer(self) -> None:
        layers = self.layers()
        after_blueprints = merge_layers(layers[:3], MANUAL_CLASSES)
        assert after_blueprints == {
            "packages": ["openssh-server", "ubuntu-minimal"],
            "ntp_servers": ["pool.ntp.org"],
            "swap_size": "512M",
            "installer_pxe": "ubuntu",
            "_blueprint": "ubuntu-base",
        }
        after_sites = merge_layers(layers[:6], MANUAL_CLASSES)
        assert after_sites["ntp_servers"] == ["ntp1.example.com", "10.0.0.5"]
        assert after_sites["packages"] == ["ubuntu-minimal"]
        assert after_sites["_site"] == "dc1"

    def test_merged_and_rendered(self) -> None:
        merged = merge_layers(self.layers(), MANUAL_CLASSES)
        assert user_keys(merged) == {
            "packages": ["ubuntu-minimal", "nginx"],
            "ntp_servers": ["10.0.0.4", "ntp1.example.com", "10.0.0.5"],
            "swap_size": "512M",
            "installer_pxe": "ubuntu",
            "domain_name": "example.com",
            "dns_servers": ["10.0.0.10"],
            "alias": "www.{{domain_name}}",
        }
        assert merged["_foundation_locator"] == "rack1-u20"
        assert merged["_hostname"] == "web01"
        assert merged["_fqdn"] == "web01.dc1.example.com"
        assert merged["__contractor_host"] == "http://contractor:8080"
        assert render(merged)["alias"] == "www.example.com"

    def test_without_vm_class_swap_stays(self) -> None:
        merged = merge_layers(self.layers(), ["Physical", "IPMI"])
        assert merged["swap_size"] == "2G"


def test_worked_example_e_diamond() -> None:
    parents = {"base": [], "left": ["base"], "right": ["base"], "top": ["left", "right"]}
    values = {
        "base": {"pkgs": ["base"]},
        "left": {">pkgs": ["l"]},
        "right": {">pkgs": ["r"]},
        "top": {">pkgs": ["t"]},
    }
    chain = blueprint_chain("top", parents.__getitem__)
    assert chain == ["base", "left", "right", "top"]
    layers = blueprint_layers([Source(name, values[name]) for name in chain], {})
    assert merge_layers(layers, []) == {"pkgs": ["base", "l", "r", "t"], "_blueprint": "top"}


class TestWorkedExampleF:
    def test_site_chain(self) -> None:
        chain = [
            Source("site1", {"under": "or over"}),
            Source("site2", {">under": " here", "<under": "going "}),
        ]
        merged = merge_layers(site_layers(chain, GLOBALS), [])
        assert merged["under"] == "going or over here"
        assert merged["_site"] == "site2"
        assert merged["__timestamp"] == "2030-01-02T00:00:00Z"

    def test_site_beats_foundation_blueprint(self) -> None:
        layers = foundation_layers(
            blueprint_chain=[Source("fbp", {"lucky": "blueprint"})],
            site_chain=[Source("s", {"lucky": "site"})],
            foundation_attributes=manual_foundation("f1"),
            globals_=GLOBALS,
        )
        assert merge_layers(layers, MANUAL_CLASSES)["lucky"] == "site"


class TestOrder:
    def test_class_list_filters_every_layer(self) -> None:
        layers = foundation_layers(
            blueprint_chain=[
                Source("bare-base", {"raid_level": "raid1", "raid_level:VM": "none", "cs": "9600"})
            ],
            site_chain=[Source("lab", {"cs:Metal": "115200", "cs:IPMI": "57600"})],
            foundation_attributes=manual_foundation("lab-r1-u07"),
            globals_={},
        )
        merged = merge_layers(layers, MANUAL_CLASSES)
        assert (merged["raid_level"], merged["cs"]) == ("none", "115200")
        assert (merged["_blueprint"], merged["_site"]) == ("bare-base", "lab")

    def test_attributes_and_globals_win(self) -> None:
        layers = structure_layers(
            blueprint_chain=[Source("b", {})],
            site_chain=[Source("s", {})],
            foundation_attributes={"_console": "console", "_provisioning_interface": "eth0"},
            complex_attributes={"_complex_type": "docker", "_console": "from-complex"},
            structure=Source("h", {"x": 1}),
            structure_attributes={"_provisioning_interface": "prov", "_hostname": "h"},
            structure_job_id=11,
            foundation_job_id=12,
            globals_={"__timestamp": "t", "_hostname": "global wins"},
        )
        merged = merge_layers(layers, [])
        assert merged["_console"] == "from-complex"
        assert merged["_provisioning_interface"] == "prov"
        assert merged["_structure_job_id"] == 11
        assert merged["_foundation_job_id"] == 12
        assert merged["_hostname"] == "global wins"
        assert [layer.label for layer in layers] == [
            "blueprint b",
            "_blueprint",
            "site s",
            "_site",
            "foundation attributes",
            "complex attributes",
            "structure h",
            "structure attributes",
            "_structure_job_id",
            "_foundation_job_id",
            "globals",
        ]

    def test_foundation_order(self) -> None:
        layers = foundation_layers(
            blueprint_chain=[Source("b", {})],
            site_chain=[Source("s", {})],
            foundation_attributes={},
            complex_attributes={},
            structure_id=5,
            foundation_job_id=9,
            globals_={},
        )
        assert [layer.label for layer in layers] == [
            "blueprint b",
            "_blueprint",
            "site s",
            "_site",
            "foundation attributes",
            "complex attributes",
            "_structure_id",
            "_foundation_job_id",
            "globals",
        ]
        assert merge_layers(layers, [])["_structure_id"] == 5

    def test_structure_values_override_site_and_blueprint(self) -> None:
        layers = structure_layers(
            blueprint_chain=[Source("b", {"x": "bp"})],
            site_chain=[Source("s", {"x": "site"})],
            foundation_attributes={},
            structure=Source("h", {"x": "structure"}),
            structure_attributes={},
            globals_={},
        )
        assert merge_layers(layers, [])["x"] == "structure"

    def test_blueprint_and_address_targets(self) -> None:
        merged = merge_layers(blueprint_layers([Source("a", {"k:VM": 1, "j": 2})], GLOBALS), [])
        assert user_keys(merged) == {"j": 2}
        assert merged["_blueprint"] == "a"
        merged = merge_layers(address_layers([Source("r", {"a": 1}), Source("s", {})], {}), [])
        assert merged == {"a": 1, "_site": "s"}


class TestErrors:
    def test_error_names_layer(self) -> None:
        layers = site_layers([Source("root", {"m": {"a": 1}}), Source("dc1", {"<m": 3})], {})
        with pytest.raises(ConfigValueError) as caught:
            merge_layers(layers, [])
        assert caught.value.key == "<m"
        assert caught.value.layer == "site dc1"
        assert "site dc1" in str(caught.value)

    def test_empty_chain_refused(self) -> None:
        with pytest.raises(ValueError, match="never empty"):
            site_layers([], {})

    def test_stored_values_not_mutated(self) -> None:
        root = {"m": {"a": 1}, "l": [1]}
        merge_layers(
            site_layers([Source("r", root), Source("s", {">m": {"b": 2}, ">l": 2})], {}), []
        )
        assert root == {"m": {"a": 1}, "l": [1]}


class TestApiCasesThroughPureFunctions:
    """The published getConfig scenarios, laid out by hand as the service will feed them."""

    def without_globals(self, config: dict[str, Any]) -> dict[str, Any]:
        return {
            k: v
            for k, v in config.items()
            if not k.startswith("__") and k != "_structure_config_uuid"
        }

    def test_site_grandchild_operators(self) -> None:
        chain = [
            Source("region-eu", {"ntp_servers": ["ntp.eu.example.test"], "motd": "EU"}),
            Source("dc-fra", {">ntp_servers": ["10.20.0.1"], "<motd": "Frankfurt, "}),
            Source(
                "room-3",
                {"-ntp_servers": "ntp.eu.example.test", ">motd": ", room 3", "rack_row": "C"},
            ),
        ]
        merged = merge_layers(site_layers(chain, GLOBALS), [])
        assert self.without_globals(merged) == {
            "ntp_servers": ["10.20.0.1"],
            "motd": "Frankfurt, EU, room 3",
            "rack_row": "C",
            "_site": "room-3",
        }

    def test_foundation_class_filters_every_layer(self) -> None:
        layers = foundation_layers(
            blueprint_chain=[
                Source(
                    "bare-base",
                    {"raid_level": "raid1", "raid_level:VM": "none", "console_speed": "9600"},
                )
            ],
            site_chain=[
                Source(
                    "lab",
                    {
                        "console_speed:Metal": "115200",
                        "console_speed:IPMI": "57600",
                        "serial_console": "ttyS0,{{ console_speed }}",
                    },
                )
            ],
            foundation_attributes=manual_foundation("lab-r1-u07"),
            globals_=GLOBALS,
        )
        rendered = render(merge_layers(layers, MANUAL_CLASSES))
        assert self.without_globals(rendered) == {
            "raid_level": "none",
            "console_speed": "115200",
            "_blueprint": "bare-base",
            "serial_console": "ttyS0,115200",
            "_site": "lab",
            "_foundation_id": "lab-r1-u07",
            "_foundation_locator": "lab-r1-u07",
            "_foundation_type": "Manual",
            "_foundation_state": "planned",
            "_foundation_class_list": MANUAL_CLASSES,
            "_foundation_hardware": None,
            "_foundation_complex": None,
            "_provisioning_interface": None,
            "_provisioning_interface_mac": None,
            "_console": "console",
        }

    def test_structure_merge_order_and_render(self) -> None:
        layers = structure_layers(
            blueprint_chain=[
                Source("app-base", {"packages": ["curl"], "app_port": 8080}),
                Source("app-api", {">packages": ["python3"], "app_port:VM": 9090}),
            ],
            site_chain=[
                Source("edge", {">packages": ["chrony"], "log_host": "logs.{{ _domain_name }}"})
            ],
            foundation_attributes=manual_foundation("vm-0042"),
            structure=Source(
                "api-1",
                {
                    ">packages": ["gunicorn"],
                    "-packages": "curl",
                    "url": "http://{{ _fqdn }}:{{ app_port }}/",
                },
            ),
            structure_attributes=structure_attributes(
                structure_id=1,
                state="planned",
                config_uuid="00000000-0000-0000-0000-000000000001",
                hostname="api-1",
                zone="edge.example.test",
            ),
            globals_=GLOBALS,
        )
        rendered = render(merge_layers(layers, MANUAL_CLASSES))
        assert self.without_globals(rendered) == {
            "packages": ["python3", "chrony", "gunicorn"],
            "app_port": 9090,
            "_blueprint": "app-api",
            "log_host": "logs.edge.example.test",
            "_site": "edge",
            "_foundation_id": "vm-0042",
            "_foundation_locator": "vm-0042",
            "_foundation_type": "Manual",
            "_foundation_state": "planned",
            "_foundation_class_list": MANUAL_CLASSES,
            "_foundation_hardware": None,
            "_foundation_complex": None,
            "_provisioning_interface": None,
            "_provisioning_interface_mac": None,
            "_console": "console",
            "url": "http://api-1.edge.example.test:9090/",
            "_structure_id": 1,
            "_structure_state": "planned",
            "_hostname": "api-1",
            "_domain_name": "edge.example.test",
            "_fqdn": "api-1.edge.example.test",
            "_provisioning_address": None,
            "_primary_interface": None,
            "_primary_interface_mac": None,
            "_primary_address": None,
            "_interface_map": {},
        }
