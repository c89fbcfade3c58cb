"""Hardware rules (§8.3), the identifier (§8.2) and enrolment locators (§8.5): pure functions."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

import pytest
from contractor.inventory.store import discovery, hardware_rules
from contractor.servicekit.errors import FieldError

REPORT: dict[str, Any] = {
    "site": "dc1",
    "ip_address": "10.0.0.201",
    "boot_mac": "3c:fd:fe:a1:00:10",
    "config_uuid": None,
    "source": "image",
    "hardware": {
        "cpu": {"count": 64, "sockets": 2, "model": "Intel(R) Xeon(R) Gold 6338"},
        "memory_mib": 524288,
        "disks": [
            {
                "name": "nvme0n1",
                "size_bytes": 960197124096,
                "model": "SAMSUNG MZQL2960",
                "serial": "S64F",
                "ssd": True,
                "path": "pci-0000:5e:00.0-nvme-1",
            }
        ],
        "nics": [
            {
                "name": "eno1",
                "mac": "3c:fd:fe:a1:00:10",
                "speed_mbps": 25000,
                "pci": "0000:18:00.0",
                "lldp": {
                    "chassis_id": "00:1c:73:aa:bb:cc",
                    "system_name": "leaf-a1",
                    "port_id": "Ethernet1/7",
                    "port_description": "rack2-u07",
                },
            }
        ],
        "pci": [
            {"slot": "0000:18:00.0", "vendor_id": "8086", "device_id": "1593", "class": "0200"}
        ],
        "dmi": {
            "system": {
                "manufacturer": "Dell Inc.",
                "product": "PowerEdge R650",
                "serial": "7XK2F93",
                "uuid": "4c4c4544-0058-4b10-8032-b7c04f463933",
            },
            "baseboard": {"product": "0PYXKY", "serial": "CNFCP0019M0123", "asset_tag": ""},
            "chassis": {"serial": "7XK2F93", "asset_tag": ""},
        },
        "bmc": {"type": "ipmi", "address": "10.9.0.57", "mac": "3c:fd:fe:a1:00:1f"},
    },
}

R650_RULES: list[dict[str, Any]] = [
    {"path": "hardware.cpu.count", "min": 32},
    {"path": "hardware.memory_mib", "min": 262144},
    {"path": "hardware.dmi.system.product", "regex": "^PowerEdge R6[45]0$"},
    {
        "path": "hardware.disks[*]",
        "where": {"ssd": {"equals": True}, "size_bytes": {"min": 900000000000}},
        "count_min": 1,
    },
    {"path": "hardware.nics[*].speed_mbps", "min": 25000, "count_min": 2},
]


def test_the_spec_example_fails_only_rule_5() -> None:
    assert hardware_rules.evaluate(REPORT, R650_RULES) == [
        "rule 5 (hardware.nics[*].speed_mbps): 1 matching, need >= 2"
    ]
    assert hardware_rules.evaluate(REPORT, R650_RULES[:4]) == []


def test_a_second_fast_nic_passes_rule_5_and_a_slow_one_does_not() -> None:
    report = copy.deepcopy(REPORT)
    report["hardware"]["nics"].append({"name": "eno2", "mac": "3c:fd:fe:a1:00:11"})
    assert hardware_rules.evaluate(report, R650_RULES) == [
        "rule 5 (hardware.nics[*].speed_mbps): 1 matching, need >= 2"
    ]
    report["hardware"]["nics"][1]["speed_mbps"] = 10000
    assert hardware_rules.evaluate(report, R650_RULES)[0].startswith("rule 5 ")
    report["hardware"]["nics"][1]["speed_mbps"] = 100000
    assert hardware_rules.evaluate(report, R650_RULES) == []


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"path": "hardware.gpu.count"}, "rule 1 (hardware.gpu.count): not found"),
        ({"path": "hardware.cpu.count", "min": 128}, "rule 1 (hardware.cpu.count): 64 < min 128"),
        ({"path": "hardware.cpu.count", "max": 16}, "rule 1 (hardware.cpu.count): 64 > max 16"),
        (
            {"path": "hardware.dmi.system.product", "regex": "^PowerEdge R7"},
            'rule 1 (hardware.dmi.system.product): "PowerEdge R650" does not match "^PowerEdge R7"',
        ),
        (
            {"path": "hardware.cpu.count", "regex": "^32$"},
            'rule 1 (hardware.cpu.count): "64" does not match "^32$"',
        ),
        (
            {"path": "hardware.disks[*]", "where": {"ssd": {"equals": False}}, "count_min": 1},
            "rule 1 (hardware.disks[*]): 0 matching, need >= 1",
        ),
        (
            {"path": "hardware.nics[*]", "count_max": 0},
            "rule 1 (hardware.nics[*]): 1 matching, need <= 0",
        ),
        ({"path": "hardware.disks", "min": 2}, "rule 1 (hardware.disks): 1 < min 2"),
        ({"path": "hardware.dmi.system", "max": 2}, "rule 1 (hardware.dmi.system): 4 > max 2"),
        (
            {"path": "hardware.nics[*].speed_mbps", "min": 40000},
            "rule 1 (hardware.nics[*].speed_mbps): 25000 < min 40000",
        ),
        ({"path": "hardware.fans[*]"}, "rule 1 (hardware.fans[*]): not found"),
        ({"path": "hardware.nics[3].name"}, "rule 1 (hardware.nics[3].name): not found"),
        (
            {"path": "hardware.disks[0].ssd", "equals": 1},
            "rule 1 (hardware.disks[0].ssd): true != 1",
        ),
    ],
)
def test_failure_messages(rule: dict[str, Any], message: str) -> None:
    hardware_rules.check([rule], ["body", "hardware_rules"])
    assert hardware_rules.evaluate(REPORT, [rule]) == [message]


@pytest.mark.parametrize(
    "rule",
    [
        {"path": "hardware.gpu.count", "optional": True},
        {"path": "hardware.gpu.count", "optional": True, "min": 1},
        {"path": "hardware.fans[*].rpm", "optional": True, "min": 1},
        {"path": "hardware.cpu.count", "equals": 64.0},
        {"path": "hardware.disks[0].ssd", "equals": True},
        {"path": "hardware.disks[0].ssd", "regex": "^true$"},
        {"path": "hardware.pci[0].class", "equals": "0200"},
        {"path": "hardware.dmi.system", "equals": REPORT["hardware"]["dmi"]["system"]},
        {"path": "hardware.nics[*].lldp.system_name", "regex": "^leaf-"},
        {"path": "hardware.disks[*]", "where": {"model": {"regex": "SAMSUNG"}}},
        {"path": "hardware.nics[*]", "count_max": 1},
        {"path": "hardware.nics", "min": 1, "max": 1},
        {"path": "site", "equals": "dc1"},
    ],
)
def test_passing_rules(rule: dict[str, Any]) -> None:
    hardware_rules.check([rule], ["body", "hardware_rules"])
    assert hardware_rules.evaluate(REPORT, [rule]) == []


def test_rules_are_numbered_and_every_failure_is_listed() -> None:
    rules = [
        {"path": "hardware.cpu.count", "min": 1},
        {"path": "hardware.cpu.count", "min": 100},
        {"path": "hardware.memory_mib", "max": 1},
    ]
    assert hardware_rules.evaluate(REPORT, rules) == [
        "rule 2 (hardware.cpu.count): 64 < min 100",
        "rule 3 (hardware.memory_mib): 524288 > max 1",
    ]


def test_where_failures_name_the_element_path_without_a_count() -> None:
    rule = {"path": "hardware.disks[*]", "where": {"size_bytes": {"min": 10**12}}}
    assert hardware_rules.evaluate(REPORT, [rule]) == [
        "rule 1 (hardware.disks[*].size_bytes): 960197124096 < min 1000000000000"
    ]


def test_star_without_count_needs_every_element_to_pass() -> None:
    report = copy.deepcopy(REPORT)
    report["hardware"]["nics"].append({"name": "eno2", "speed_mbps": 1000})
    rule = {"path": "hardware.nics[*].speed_mbps", "min": 10000}
    assert hardware_rules.evaluate(report, [rule]) == [
        "rule 1 (hardware.nics[*].speed_mbps): 1000 < min 10000"
    ]
    report["hardware"]["nics"][1].pop("speed_mbps")
    assert hardware_rules.evaluate(report, [rule]) == [
        "rule 1 (hardware.nics[*].speed_mbps): not found"
    ]


@pytest.mark.parametrize(
    ("rule", "loc"),
    [
        ({"path": "hardware.nics.speed", "count_min": 1}, ["count_min"]),
        ({"path": "hardware.nics[0]", "count_max": 1}, ["count_max"]),
        ({"path": "hardware.disks", "where": {"ssd": {"equals": True}}}, ["where"]),
        ({"min": 1}, ["path"]),
        ({"path": ""}, ["path"]),
        ({"path": "a..b"}, ["path"]),
        ({"path": "a[x]"}, ["path"]),
        ({"path": "a", "regex": "("}, ["regex"]),
        ({"path": "a", "min": "3"}, ["min"]),
        ({"path": "a", "max": True}, ["max"]),
        ({"path": "a", "colour": "red"}, ["colour"]),
        ({"path": "a[*]", "count_min": -1}, ["count_min"]),
        ({"path": "a[*]", "count_min": 1.5}, ["count_min"]),
        ({"path": "a", "optional": "yes"}, ["optional"]),
        ({"path": "a[*]", "where": {"b": {"between": 1}}}, ["where", "b", "between"]),
        ({"path": "a[*]", "where": {"b": {"regex": "["}}}, ["where", "b", "regex"]),
        ({"path": "a[*]", "where": {"b[*]": {"min": 1}}}, ["where", "b[*]"]),
        ({"path": "a[*]", "where": {}}, ["where"]),
    ],
)
def test_malformed_rules_name_the_member(rule: dict[str, Any], loc: list[str]) -> None:
    with pytest.raises(FieldError) as caught:
        hardware_rules.check([{"path": "ok"}, rule], ["body", "hardware_rules"])
    assert caught.value.extra["errors"][0]["loc"] == ["body", "hardware_rules", 1, *loc]


def test_a_rule_must_be_an_object() -> None:
    with pytest.raises(FieldError) as caught:
        hardware_rules.check(["hardware.cpu.count"], ["body", "hardware_rules"])
    assert caught.value.extra["errors"][0]["loc"] == ["body", "hardware_rules", 0]


def test_paths_parse_into_steps() -> None:
    assert hardware_rules.parse_path("hardware.nics[*].lldp.port_id") == [
        "hardware",
        "nics",
        "*",
        "lldp",
        "port_id",
    ]
    assert hardware_rules.parse_path("a[0][*][2].b") == ["a", 0, "*", 2, "b"]


def test_json_equality_keeps_booleans_apart_from_numbers() -> None:
    assert hardware_rules.json_equal(1, 1.0)
    assert not hardware_rules.json_equal(True, 1)
    assert not hardware_rules.json_equal(0, False)
    assert hardware_rules.json_equal({"a": [1, True]}, {"a": [1.0, True]})
    assert not hardware_rules.json_equal({"a": [1, True]}, {"a": [1, 1]})
    assert not hardware_rules.json_equal("1", 1)


def test_the_identifier_hashes_the_dmi_fields() -> None:
    text = (
        "Dell Inc.\nPowerEdge R650\n7XK2F93\n4c4c4544-0058-4b10-8032-b7c04f463933\nCNFCP0019M0123"
    )
    assert discovery.identifier_of(REPORT["hardware"]) == hashlib.sha256(text.encode()).hexdigest()
    bare = {"dmi": {"system": {"serial": "S1"}}}
    assert discovery.identifier_of(bare) == hashlib.sha256(b"\n\nS1\n\n").hexdigest()


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("{site}-{id8}", "dc1-abcdef01"),
        ("{site}/{serial}", "dc1-7XK2F93"),
        ("m{mac}", "m3cfdfea10010"),
        ("{serial} (rack 2)", "7XK2F93--rack-2-"),
        ("__{site}", "dc1"),
        ("{unknown}-x", "unknown--x"),
        ("x" * 150, "x" * 100),
    ],
)
def test_locator_templates_are_sanitised(template: str, expected: str) -> None:
    identifier = "abcdef0123456789"
    assert discovery.render_locator(template, "dc1", REPORT, identifier) == expected


def test_an_empty_rendering_falls_back_to_the_default_template() -> None:
    report = copy.deepcopy(REPORT)
    report["hardware"]["dmi"]["system"]["serial"] = ""
    assert discovery.render_locator("{serial}", "dc1", report, "0123456789") == "dc1-01234567"


def test_collision_suffixes_keep_within_100_characters() -> None:
    assert discovery.with_suffix("dc1-abc", 2) == "dc1-abc-2"
    long = "y" * 100
    assert discovery.with_suffix(long, 12) == "y" * 97 + "-12"


def test_summary_counts_the_report() -> None:
    assert discovery.summary(REPORT) == {
        "cpu_count": 64,
        "memory_mib": 524288,
        "disks": 1,
        "nics": 1,
        "product": "PowerEdge R650",
        "serial": "7XK2F93",
    }
