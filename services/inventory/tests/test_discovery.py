"""Hardware discovery over HTTP (§8): reports, matching, rules, enrolment, operator actions."""

from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from typing import Any

import httpx
import pytest

Headers = Callable[[str], dict[str, str]]
REPORTS = "/api/v1/discovery/reports"

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
IDENTIFIER = hashlib.sha256(
    b"Dell Inc.\nPowerEdge R650\n7XK2F93\n4c4c4544-0058-4b10-8032-b7c04f463933\nCNFCP0019M0123"
).hexdigest()
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
RULE_5 = "rule 5 (hardware.nics[*].speed_mbps): 1 matching, need >= 2"


def report(**changes: Any) -> dict[str, Any]:
    """A deep copy of the §8.2 report with top-level members replaced."""
    body = copy.deepcopy(REPORT)
    body.update(changes)
    return body


def machine(serial: str, mac: str, *, name: str = "eno1", **extra: Any) -> dict[str, Any]:
    """Another machine: its own DMI serial and UUID, one NIC."""
    body = report(**{"boot_mac": mac, "ip_address": None, **extra})
    body["hardware"]["dmi"] = {"system": {"manufacturer": "Acme", "serial": serial}}
    body["hardware"]["nics"] = [{"name": name, "mac": mac}]
    return body


class Lab:
    """Request builders for the discovery tests."""

    def __init__(self, client: httpx.AsyncClient, as_role: Headers, seed: Any) -> None:
        self.client, self.as_role, self.seed = client, as_role, seed
        self.admin, self.op = as_role("admin"), as_role("operator")
        self.svc, self.viewer = as_role("service"), as_role("viewer")

    async def ok(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        headers = self.admin if "/sites" in path or "/blueprints" in path else self.op
        if path.startswith("/api/v1/networks") or path.startswith("/api/v1/pxes"):
            headers = self.admin
        if path.startswith("/api/v1/address-blocks"):
            headers = self.admin
        r = await self.client.request(method, path, json=body, headers=headers)
        assert r.status_code == status, r.text
        return r.json() if r.content else None

    async def network(self, site: str = "dc1", name: str = "prov") -> int:
        made = await self.ok("POST", "/api/v1/networks", {"site": site, "name": name}, 201)
        return int(made["id"])

    async def blueprint(
        self, name: str, rules: list[dict[str, Any]], types: list[str] | None = None
    ) -> None:
        body = {
            "name": name,
            "description": name,
            "foundation_types": types or ["manual", "ipmi", "sim"],
            "hardware_rules": rules,
        }
        await self.ok("POST", "/api/v1/blueprints/foundation", body, 201)

    async def site(self, name: str, parent: str | None = None, **extra: Any) -> None:
        body = {"name": name, "description": name, "parent": parent, **extra}
        await self.ok("POST", "/api/v1/sites", body, 201)

    async def discovery(self, site: str = "dc1", **policy: Any) -> None:
        await self.ok("PATCH", f"/api/v1/sites/{site}", {"discovery": policy})

    async def rack2_u07(self, rules: list[dict[str, Any]]) -> int:
        """The §8.5 example: rack2-u07 on r650-compute, eno1 cabled to leaf-a1/Ethernet1/7."""
        await self.blueprint("r650-compute", rules)
        net = await self.network()
        await self.ok("POST", "/api/v1/pxes", {"name": "bootstrap", "boot_script": "x"}, 201)
        port = {
            "physical_location": "eno1",
            "name": "eno1",
            "network": net,
            "link_name": "leaf-a1/Ethernet1/7",
            "pxe": "bootstrap",
        }
        await self.seed.foundation(
            self.op, "rack2-u07", blueprint="r650-compute", interfaces=[port]
        )
        return net

    async def post(self, body: dict[str, Any], headers: dict[str, str] | None = None) -> Any:
        r = await self.client.post(REPORTS, json=body, headers=headers or self.svc)
        assert r.status_code == 200, r.text
        return r.json()

    async def events(self, types: str = "") -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = await self.seed.events(self.svc, types)
        return found

    async def types(self, prefixes: str = "hardware.*,foundation.*,interface.*") -> list[str]:
        return [e["type"] for e in await self.events(prefixes)]

    async def foundation(self, locator: str) -> dict[str, Any]:
        found: dict[str, Any] = await self.ok("GET", f"/api/v1/foundations/{locator}")
        return found

    async def port(self, locator: str, location: str) -> dict[str, Any]:
        found: dict[str, Any] = await self.ok(
            "GET", f"/api/v1/foundations/{locator}/interfaces/{location}"
        )
        return found

    async def records(self) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = (await self.ok("GET", "/api/v1/discovery"))["items"]
        return found


@pytest.fixture
def lab(client: httpx.AsyncClient, as_role: Headers, world: dict[str, Any], seed: Any) -> Lab:
    return Lab(client, as_role, seed)


# -- the worked example and the rules --------------------------------------------------------------


async def test_worked_example_locates_rack2_u07_by_lldp(lab: Lab) -> None:
    await lab.rack2_u07(R650_RULES[:4])
    answer = await lab.post(report())
    assert answer == {
        "identifier": IDENTIFIER,
        "status": "located",
        "locator": "rack2-u07",
        "matched_by": "lldp",
        "messages": [],
        "next": "poweroff",
        "retry_after_s": 30,
    }
    eno1 = await lab.port("rack2-u07", "eno1")
    assert eno1["mac"] == "3c:fd:fe:a1:00:10" and eno1["pxe"] is None
    f = await lab.foundation("rack2-u07")
    assert f["state"] == "located" and f["located_at"] is not None
    assert f["hardware"]["identifier"] == IDENTIFIER and f["hardware"]["matched_by"] == "lldp"
    assert f["hardware"]["cpu_count"] == 64 and f["hardware"]["memory_mib"] == 524288
    assert (f["hardware"]["disks"], f["hardware"]["nics"]) == (1, 1)
    assert f["hardware"]["product"] == "PowerEdge R650" and f["hardware"]["serial"] == "7XK2F93"
    full = await lab.ok("GET", "/api/v1/foundations/rack2-u07/hardware")
    assert full["locator"] == "rack2-u07" and full["identifier"] == IDENTIFIER
    assert full["report"]["hardware"]["pci"][0]["class"] == "0200"  # unknown keys are kept
    assert full["report"]["hardware"]["bmc"]["mac"] == "3c:fd:fe:a1:00:1f"
    config = await lab.ok("GET", "/api/v1/foundations/rack2-u07/config")
    assert config["_foundation_hardware"]["cpu"]["count"] == 64
    types = await lab.types()
    tail = [t for t in types if t != "interface.updated"][-3:]
    assert tail == ["hardware.reported", "hardware.attached", "foundation.located"]
    attached = (await lab.events("hardware.attached"))[0]
    assert attached["data"] == {
        "identifier": IDENTIFIER,
        "locator": "rack2-u07",
        "matched_by": "lldp",
        "messages": [],
    }
    located = (await lab.events("foundation.located"))[0]
    assert located["data"]["reason"] == "discovery" and located["data"]["from"] == "planned"
    updated = (await lab.events("interface.updated"))[0]["data"]
    assert updated["changed"] == ["mac", "pxe"] and updated["mac"] == "3c:fd:fe:a1:00:10"
    record = await lab.ok("GET", f"/api/v1/discovery/{IDENTIFIER}")
    assert record["status"] == "located" and record["locator"] == "rack2-u07"
    assert record["report"]["hardware"]["dmi"]["system"]["serial"] == "7XK2F93"


async def test_located_foundation_with_rules_can_be_built(lab: Lab) -> None:
    await lab.rack2_u07(R650_RULES[:4])
    await lab.post(report())
    r = await lab.client.post(
        "/api/v1/foundations/rack2-u07/state",
        json={"from": "located", "to": "built"},
        headers=lab.op,
    )
    assert r.status_code == 200 and r.json()["state"] == "built", r.text


async def test_structure_config_follows_hardware_accept_and_removal(lab: Lab) -> None:
    # The structure config reads the foundation's accepted hardware in the query that loads
    # the structure (a join); it must show a report from its acceptance on, and none once
    # the foundation goes back to planned (which removes the report).
    await lab.rack2_u07(R650_RULES[:4])
    sbp = {"name": "r650-web", "description": "web", "foundation_blueprints": ["r650-compute"]}
    await lab.ok("POST", "/api/v1/blueprints/structure", sbp, 201)
    structure = await lab.seed.structure(lab.op, "web7", "rack2-u07", blueprint="r650-web")
    path = f"/api/v1/structures/{structure['id']}/config"
    assert (await lab.ok("GET", path))["_foundation_hardware"] is None
    await lab.post(report())
    config = await lab.ok("GET", path)
    assert config["_foundation_hardware"]["cpu"]["count"] == 64
    assert config["_foundation_state"] == "located"
    r = await lab.client.post(
        "/api/v1/foundations/rack2-u07/state",
        json={"from": "located", "to": "planned"},
        headers=lab.op,
    )
    assert r.status_code == 200, r.text
    config = await lab.ok("GET", path)
    assert config["_foundation_hardware"] is None and config["_foundation_state"] == "planned"
    r = await lab.client.get("/api/v1/structures/999999/config", headers=lab.viewer)
    assert r.status_code == 404 and r.json()["type"] == "urn:contractor:problem:not-found"


async def test_failing_rules_reject_and_change_nothing_else(lab: Lab) -> None:
    await lab.rack2_u07(R650_RULES)
    before = await lab.foundation("rack2-u07")
    answer = await lab.post(report())
    assert answer["status"] == "rejected" and answer["messages"] == [RULE_5]
    assert answer["locator"] == "rack2-u07" and answer["matched_by"] == "lldp"
    assert answer["next"] == "wait" and answer["retry_after_s"] == 30
    after = await lab.foundation("rack2-u07")
    assert after["state"] == "planned" and after["hardware"] is None
    assert after["version"] == before["version"]
    eno1 = await lab.port("rack2-u07", "eno1")
    assert eno1["mac"] is None and eno1["pxe"] == "bootstrap"
    r = await lab.client.get("/api/v1/foundations/rack2-u07/hardware", headers=lab.viewer)
    assert r.status_code == 404
    rejected = await lab.events("hardware.rejected")
    assert [e["data"] for e in rejected] == [
        {
            "identifier": IDENTIFIER,
            "locator": "rack2-u07",
            "matched_by": "lldp",
            "messages": [RULE_5],
        }
    ]
    types = await lab.types()
    assert "hardware.attached" not in types and "foundation.located" not in types
    assert "interface.updated" not in types


async def test_a_repeated_report_emits_no_event(lab: Lab) -> None:
    await lab.rack2_u07(R650_RULES)
    await lab.post(report())
    count = len(await lab.events())
    again = await lab.post(report())
    assert again["status"] == "rejected" and again["messages"] == [RULE_5]
    assert len(await lab.events()) == count
    # Relaxing the blueprint changes the outcome: the same report now locates.
    await lab.ok(
        "PATCH", "/api/v1/blueprints/foundation/r650-compute", {"hardware_rules": R650_RULES[:4]}
    )
    count = len(await lab.events())
    assert (await lab.post(report()))["status"] == "located"
    assert len(await lab.events()) > count
    count = len(await lab.events())
    repeat = await lab.post(report())
    assert repeat["status"] == "located" and repeat["matched_by"] == "lldp"
    assert repeat["next"] == "poweroff"
    assert len(await lab.events()) == count
    # Changed content (another IP) is news, but the foundation is not moved again.
    moved = await lab.post(report(ip_address="10.0.0.202"))
    assert moved["status"] == "located"
    new = (await lab.events())[count:]
    assert [e["type"] for e in new] == ["hardware.reported"]
    assert new[0]["data"]["ip_address"] == "10.0.0.202"
    assert new[0]["data"]["summary"]["cpu_count"] == 64


# -- matching steps --------------------------------------------------------------------------------


async def test_step_a_config_uuid_wins_and_unknown_uuid_falls_through(lab: Lab) -> None:
    await lab.seed.foundation(lab.op, "by-uuid")
    structure = await lab.seed.structure(lab.op, "web1", "by-uuid")
    await lab.seed.foundation(lab.op, "by-serial", serial="7XK2F93")
    answer = await lab.post(report(config_uuid=structure["config_uuid"]))
    assert (answer["locator"], answer["matched_by"]) == ("by-uuid", "config_uuid")
    assert answer["status"] == "located"


async def test_unknown_config_uuid_falls_through(lab: Lab) -> None:
    await lab.seed.foundation(lab.op, "by-serial", serial="7XK2F93")
    unknown = "00000000-0000-4000-8000-000000000000"
    answer = await lab.post(report(config_uuid=unknown))
    assert (answer["locator"], answer["matched_by"]) == ("by-serial", "serial")


async def test_step_b_mac_beats_serial(lab: Lab) -> None:
    net = await lab.network()
    port = {"physical_location": "p1", "name": "p1", "network": net, "mac": "3C-FD-FE-A1-00-10"}
    await lab.seed.foundation(lab.op, "by-mac", interfaces=[port])
    await lab.seed.foundation(lab.op, "by-serial", serial="7XK2F93")
    answer = await lab.post(report())
    assert (answer["status"], answer["locator"], answer["matched_by"]) == (
        "located",
        "by-mac",
        "mac",
    )
    assert (await lab.foundation("by-serial"))["state"] == "planned"


@pytest.mark.parametrize(
    ("link_name", "matches"),
    [
        ("leaf-a1/Ethernet1/7", True),
        ("LEAF-A1/Ethernet1/7", True),
        ("00:1C:73:AA:BB:CC/Ethernet1/7", True),
        ("leaf-a1/ethernet1/7", False),
        ("leaf-a2/Ethernet1/7", False),
    ],
)
async def test_step_c_lldp_switch_case_insensitive_port_exact(
    lab: Lab, link_name: str, matches: bool
) -> None:
    net = await lab.network()
    port = {"physical_location": "x1", "name": "x1", "network": net, "link_name": link_name}
    await lab.seed.foundation(lab.op, "cabled", interfaces=[port])
    answer = await lab.post(report())
    if matches:
        assert (answer["locator"], answer["matched_by"]) == ("cabled", "lldp")
        # x1 is not eno1 by name, but LLDP matched its link name: it gets eno1's MAC.
        assert (await lab.port("cabled", "x1"))["mac"] == "3c:fd:fe:a1:00:10"
    else:
        assert answer["status"] == "unmatched" and answer["locator"] is None


@pytest.mark.parametrize("field", ["system", "baseboard"])
async def test_step_d_serial(lab: Lab, field: str) -> None:
    serial = "7XK2F93" if field == "system" else "CNFCP0019M0123"
    await lab.seed.foundation(lab.op, "by-serial", serial=serial)
    answer = await lab.post(report())
    assert (answer["status"], answer["locator"], answer["matched_by"]) == (
        "located",
        "by-serial",
        "serial",
    )


async def test_step_e_ip_of_a_static_address(lab: Lab) -> None:
    await lab.seed.foundation(lab.op, "by-ip")
    structure = await lab.seed.structure(lab.op, "db1", "by-ip")
    block = await lab.ok(
        "POST",
        "/api/v1/address-blocks",
        {"site": "dc1", "name": "b1", "subnet": "10.0.0.0", "prefix": 24},
        201,
    )
    await lab.ok(
        "POST",
        f"/api/v1/address-blocks/{block['id']}/addresses",
        {"offset": 201, "structure": structure["id"], "interface_name": "eth0"},
        201,
    )
    answer = await lab.post(report())
    assert (answer["locator"], answer["matched_by"]) == ("by-ip", "ip")
    other = await lab.post(machine("S-OTHER", "02:00:00:00:00:99", ip_address="10.0.0.202"))
    assert other["status"] == "unmatched"


async def test_candidates_are_the_report_site_and_its_descendants(lab: Lab) -> None:
    await lab.site("dc2")
    await lab.site("dc1-row1", parent="dc1")
    body = {"locator": "far", "site": "dc2", "blueprint": "fbp", "type": "manual"}
    await lab.ok("POST", "/api/v1/foundations", {**body, "serial": "7XK2F93"}, 201)
    answer = await lab.post(report())
    assert answer["status"] == "unmatched" and answer["messages"] == ["no foundation matches"]
    body = {"locator": "near", "site": "dc1-row1", "blueprint": "fbp", "type": "manual"}
    await lab.ok("POST", "/api/v1/foundations", {**body, "serial": "CNFCP0019M0123"}, 201)
    answer = await lab.post(report())
    assert (answer["status"], answer["locator"]) == ("located", "near")


# -- conflicts -------------------------------------------------------------------------------------


async def test_two_foundations_at_one_step_are_a_conflict(lab: Lab) -> None:
    await lab.seed.foundation(lab.op, "a", serial="7XK2F93")
    await lab.seed.foundation(lab.op, "b", serial="CNFCP0019M0123")
    answer = await lab.post(report())
    assert answer["status"] == "conflict" and answer["locator"] is None
    assert answer["matched_by"] == "serial" and answer["next"] == "wait"
    assert answer["messages"] == ["serial matches a, b"]
    for locator in ("a", "b"):
        assert (await lab.foundation(locator))["state"] == "planned"
    assert await lab.types("hardware.attached,foundation.located") == []


async def test_a_built_foundation_is_a_conflict(lab: Lab) -> None:
    await lab.seed.foundation(lab.op, "done", serial="7XK2F93")
    r = await lab.client.post(
        "/api/v1/foundations/done/state", json={"from": "planned", "to": "built"}, headers=lab.op
    )
    assert r.status_code == 200, r.text
    answer = await lab.post(report())
    assert (answer["status"], answer["locator"]) == ("conflict", "done")
    assert answer["messages"] == ["foundation done is built"]
    assert (await lab.foundation("done"))["hardware"] is None


async def test_a_foundation_located_with_other_hardware_is_a_conflict(lab: Lab) -> None:
    await lab.seed.foundation(lab.op, "taken", serial="7XK2F93")
    first = await lab.post(machine("7XK2F93", "02:00:00:00:00:01"))  # the same serial
    assert (first["status"], first["locator"]) == ("located", "taken")
    answer = await lab.post(report())
    assert (answer["status"], answer["locator"]) == ("conflict", "taken")
    assert answer["messages"] == ["foundation taken is located with other hardware"]
    hardware = await lab.ok("GET", "/api/v1/foundations/taken/hardware")
    assert hardware["identifier"] == first["identifier"]


async def test_a_structure_job_blocks_the_system_transition(lab: Lab) -> None:
    await lab.seed.foundation(lab.op, "busy", serial="7XK2F93")
    structure = await lab.seed.structure(lab.op, "web1", "busy")
    r = await lab.client.put(
        f"/api/v1/structures/{structure['id']}/job",
        json={"job_id": 9, "script": "create", "wait": True},
        headers=lab.svc,
    )
    assert r.status_code == 201 and r.json()["outcome"] == "blocked", r.text
    answer = await lab.post(report())
    assert (answer["status"], answer["locator"]) == ("conflict", "busy")
    assert answer["messages"] == ["job 9 holds the structure on foundation busy"]
    assert (await lab.foundation("busy"))["state"] == "planned"


async def test_a_waiting_create_job_does_not_block(lab: Lab) -> None:
    await lab.seed.foundation(lab.op, "waiting", serial="7XK2F93")
    r = await lab.client.put(
        "/api/v1/foundations/waiting/job",
        json={"job_id": 11, "script": "create", "wait": True},
        headers=lab.svc,
    )
    assert r.status_code == 201 and r.json()["outcome"] == "blocked", r.text
    answer = await lab.post(report())
    assert (answer["status"], answer["locator"]) == ("located", "waiting")
    f = await lab.foundation("waiting")
    assert f["state"] == "located" and f["job"]["job_id"] == 11
    r = await lab.client.get("/api/v1/foundations/waiting/job", headers=lab.svc)
    assert r.json()["can_start"] is True  # the waiting create job can start now


async def test_mac_already_used_elsewhere_is_skipped_with_a_message(lab: Lab) -> None:
    net = await lab.network()
    await lab.seed.foundation(
        lab.op,
        "holder",
        interfaces=[
            {"physical_location": "z", "name": "z", "network": net, "mac": "3c:fd:fe:a1:00:10"}
        ],
    )
    await lab.site("dc2")
    net2 = await lab.network("dc2")
    body = {
        "locator": "target",
        "site": "dc2",
        "blueprint": "fbp",
        "type": "manual",
        "serial": "7XK2F93",
        "interfaces": [{"physical_location": "eno1", "name": "eno1", "network": net2}],
    }
    await lab.ok("POST", "/api/v1/foundations", body, 201)
    answer = await lab.post(report(site="dc2"))
    assert (answer["status"], answer["locator"], answer["matched_by"]) == (
        "located",
        "target",
        "serial",
    )
    assert answer["messages"] == [
        "MAC 3c:fd:fe:a1:00:10 of NIC eno1 is used by interface "
        f"{(await lab.port('holder', 'z'))['id']}; eno1 left without a MAC"
    ]
    assert (await lab.port("target", "eno1"))["mac"] is None


# -- destroy clears the accepted hardware ------------------------------------------------------


async def test_destroy_clears_hardware_and_the_machine_can_report_again(lab: Lab) -> None:
    await lab.rack2_u07(R650_RULES[:4])
    await lab.post(report())
    r = await lab.client.post(
        "/api/v1/foundations/rack2-u07/state",
        json={"from": "located", "to": "planned"},
        headers=lab.op,
    )
    assert r.status_code == 200 and r.json()["hardware"] is None, r.text
    r = await lab.client.get("/api/v1/foundations/rack2-u07/hardware", headers=lab.op)
    assert r.status_code == 404
    assert (await lab.port("rack2-u07", "eno1"))["mac"] is None
    r = await lab.client.post(
        "/api/v1/foundations/rack2-u07/state",
        json={"from": "planned", "to": "located"},
        headers=lab.op,
    )
    assert r.status_code == 409 and r.json()["type"].endswith("hardware-required")
    again = await lab.post(report())
    assert (again["status"], again["matched_by"]) == ("located", "lldp")
    assert (await lab.foundation("rack2-u07"))["state"] == "located"


async def test_deleting_a_located_foundation_deletes_its_hardware(lab: Lab) -> None:
    await lab.seed.foundation(lab.op, "gone", serial="7XK2F93")
    await lab.post(report())
    r = await lab.client.delete("/api/v1/foundations/gone", headers=lab.op)
    assert r.status_code == 204, r.text
    await lab.seed.foundation(lab.op, "gone", serial="7XK2F93")
    assert (await lab.foundation("gone"))["hardware"] is None
    assert (await lab.post(report()))["status"] == "located"


# -- auto-enrolment --------------------------------------------------------------------------------


async def test_hold_policy_leaves_the_report_unmatched(lab: Lab) -> None:
    await lab.blueprint("any", [{"path": "hardware.cpu.count", "min": 1}])
    answer = await lab.post(report())
    assert answer["status"] == "unmatched" and answer["next"] == "wait"
    records = await lab.records()
    assert [r["identifier"] for r in records] == [IDENTIFIER]
    assert records[0]["status"] == "unmatched" and records[0]["boot_mac"] == "3c:fd:fe:a1:00:10"
    r = await lab.client.get("/api/v1/foundations", headers=lab.op)
    assert r.json()["items"] == []


async def test_enrolment_creates_a_located_foundation(lab: Lab) -> None:
    net = await lab.network()
    await lab.discovery(policy="enroll", network="prov")
    await lab.blueprint("one-rule", [{"path": "hardware.cpu.count", "min": 8}])
    await lab.blueprint("r650", R650_RULES[:4])
    await lab.blueprint("too-strict", R650_RULES)  # five rules, one fails
    answer = await lab.post(report())
    locator = f"dc1-{IDENTIFIER[:8]}"
    assert answer == {
        "identifier": IDENTIFIER,
        "status": "located",
        "locator": locator,
        "matched_by": "enrolled",
        "messages": [],
        "next": "poweroff",
        "retry_after_s": 30,
    }
    f = await lab.foundation(locator)
    assert (f["blueprint"], f["type"], f["site"], f["state"]) == (
        "r650",
        "manual",
        "dc1",
        "located",
    )
    assert f["serial"] == "7XK2F93" and f["hardware"]["matched_by"] == "enrolled"
    # The accepted report sizes the bare-metal foundation (usage statistics read these).
    assert f["resources"] == {
        "cpu_count": 64,
        "memory_mb": 524288,
        "disk_gb": 960197124096 // 2**30,
    }
    eno1 = await lab.port(locator, "eno1")
    assert eno1["name"] == "eno1" and eno1["mac"] == "3c:fd:fe:a1:00:10"
    assert eno1["network"] == net and eno1["is_provisioning"] is True
    assert eno1["link_name"] == "leaf-a1/Ethernet1/7"
    types = [t for t in await lab.types() if t != "interface.created"]
    assert types == [
        "hardware.reported",
        "foundation.created",
        "hardware.enrolled",
        "foundation.located",
    ]
    located = (await lab.events("foundation.located"))[0]
    assert located["data"]["reason"] == "enrolled"
    enrolled = (await lab.events("hardware.enrolled"))[0]
    assert enrolled["data"]["locator"] == locator and enrolled["data"]["matched_by"] == "enrolled"
    # Reporting again is a repeat of a located foundation matched (now) by MAC: no new event.
    count = len(await lab.events())
    again = await lab.post(report())
    assert (again["status"], again["locator"], again["matched_by"]) == (
        "located",
        locator,
        "enrolled",
    )
    assert len(await lab.events()) == count


async def test_equal_rule_counts_tie_by_blueprint_name(lab: Lab) -> None:
    await lab.network()
    await lab.discovery(policy="enroll", network="prov")
    await lab.blueprint("zeta", [{"path": "hardware.cpu.count", "min": 8}])
    await lab.blueprint("alpha", [{"path": "hardware.memory_mib", "min": 8}])
    answer = await lab.post(report())
    assert (await lab.foundation(answer["locator"]))["blueprint"] == "alpha"


async def test_enrolment_without_a_fitting_blueprint_is_unmatched(lab: Lab) -> None:
    await lab.network()
    await lab.discovery(policy="enroll", network="prov")
    await lab.blueprint("strict", R650_RULES)
    answer = await lab.post(report())
    assert answer["status"] == "unmatched" and answer["messages"] == ["no blueprint matches"]


async def test_enrolment_needs_the_discovery_network(lab: Lab) -> None:
    await lab.discovery(policy="enroll")
    await lab.blueprint("r650", R650_RULES[:4])
    answer = await lab.post(report())
    assert answer["status"] == "unmatched"
    assert answer["messages"] == ["site dc1 has no discovery.network"]
    r = await lab.client.get("/api/v1/foundations", headers=lab.op)
    assert r.json()["items"] == []


async def test_enrolment_needs_a_usable_type(lab: Lab) -> None:
    await lab.network()
    await lab.discovery(policy="enroll", network="prov")
    await lab.blueprint("cloudy", R650_RULES[:1], types=["aws"])
    answer = await lab.post(report())
    assert answer["status"] == "unmatched"
    assert answer["messages"] == ["blueprint cloudy allows no usable type"]


async def test_enrolment_with_bmc_credentials_picks_the_bmc_type(lab: Lab) -> None:
    await lab.network()
    await lab.discovery(policy="enroll", network="prov", bmc_username="root", bmc_password="calvin")
    await lab.blueprint("r650", R650_RULES[:4], types=["manual", "redfish", "ipmi"])
    answer = await lab.post(report())
    f = await lab.foundation(answer["locator"])
    assert f["type"] == "redfish" and f["secrets_set"] == ["redfish_password"]
    assert f["attributes"]["redfish_ip_address"] == "10.9.0.57"
    assert f["attributes"]["redfish_username"] == "root"
    events = await lab.events()
    assert "calvin" not in repr(events)


async def test_enrolment_without_a_bmc_address_falls_back_to_manual(lab: Lab) -> None:
    await lab.network()
    await lab.discovery(policy="enroll", network="prov", bmc_username="root", bmc_password="calvin")
    await lab.blueprint("r650", R650_RULES[:4], types=["ipmi", "manual"])
    body = report()
    del body["hardware"]["bmc"]
    answer = await lab.post(body)
    assert (await lab.foundation(answer["locator"]))["type"] == "manual"


async def test_sim_reports_enrol_as_sim(lab: Lab) -> None:
    await lab.network()
    await lab.discovery(policy="enroll", network="prov")
    await lab.blueprint("r650", R650_RULES[:4], types=["manual", "sim"])
    answer = await lab.post(report(source="sim"))
    assert (await lab.foundation(answer["locator"]))["type"] == "sim"


async def test_locator_template_sanitising_and_collisions(lab: Lab) -> None:
    await lab.network()
    await lab.discovery(policy="enroll", network="prov", locator_template="{site}/{serial}")
    await lab.blueprint("r650", R650_RULES[:4])
    await lab.seed.foundation(lab.op, "dc1-7XK2F93")
    await lab.seed.foundation(lab.op, "dc1-7XK2F93-2")
    answer = await lab.post(report())
    assert answer["locator"] == "dc1-7XK2F93-3"
    assert (await lab.foundation("dc1-7XK2F93-3"))["state"] == "located"


async def test_enrolled_interfaces_get_valid_unique_names(lab: Lab) -> None:
    await lab.network()
    await lab.discovery(policy="enroll", network="prov")
    await lab.blueprint("any", [{"path": "hardware.dmi.system.serial", "regex": "."}])
    body = machine("S-1", "02:00:00:00:00:01", name="eth0.100")
    body["hardware"]["nics"] += [
        {"name": "eth0:100", "mac": "02:00:00:00:00:02"},
        {"mac": "02:00:00:00:00:03"},
    ]
    answer = await lab.post(body)
    r = await lab.client.get(
        f"/api/v1/foundations/{answer['locator']}/interfaces", headers=lab.viewer
    )
    ports = {p["name"]: p for p in r.json()["items"]}
    assert sorted(ports) == ["eth0-100", "eth0-100-2", "nic2"]
    assert ports["eth0-100"]["is_provisioning"] is True
    assert ports["nic2"]["is_provisioning"] is False and ports["nic2"]["link_name"] is None


async def test_the_discovery_policy_is_inherited_from_the_parent_site(lab: Lab) -> None:
    await lab.site("dc1-row1", parent="dc1")
    await lab.network("dc1-row1")
    await lab.discovery(policy="enroll", network="prov")
    await lab.blueprint("r650", R650_RULES[:4])
    answer = await lab.post(report(site="dc1-row1"))
    assert answer["locator"] == f"dc1-row1-{IDENTIFIER[:8]}"
    assert (await lab.foundation(answer["locator"]))["site"] == "dc1-row1"
    await lab.discovery("dc1-row1", policy="hold")
    other = await lab.post(machine("S-2", "02:00:00:00:00:22", site="dc1-row1"))
    assert other["status"] == "unmatched"


# -- operator actions ------------------------------------------------------------------------------


async def test_assign_runs_the_rules_and_locates(lab: Lab) -> None:
    await lab.blueprint("r650", R650_RULES)
    await lab.seed.foundation(lab.op, "strict", blueprint="r650")
    await lab.seed.foundation(lab.op, "loose")
    await lab.post(report())
    path = f"/api/v1/discovery/{IDENTIFIER}/assign"
    rejected = await lab.ok("POST", path, {"locator": "strict"})
    assert (rejected["status"], rejected["locator"], rejected["matched_by"]) == (
        "rejected",
        "strict",
        "assigned",
    )
    assert rejected["messages"] == [RULE_5]
    assert (await lab.foundation("strict"))["state"] == "planned"
    located = await lab.ok("POST", path, {"locator": "loose"})
    assert (located["status"], located["locator"], located["matched_by"]) == (
        "located",
        "loose",
        "assigned",
    )
    f = await lab.foundation("loose")
    assert f["state"] == "located" and f["hardware"]["matched_by"] == "assigned"
    event = (await lab.events("foundation.located"))[-1]
    assert event["data"]["locator"] == "loose" and event["data"]["reason"] == "discovery"
    r = await lab.client.post(path, json={"locator": "strict"}, headers=lab.op)
    assert r.status_code == 409  # already the hardware of loose


async def test_assign_refusals(lab: Lab) -> None:
    await lab.seed.foundation(lab.op, "f1")
    await lab.post(report())
    path = f"/api/v1/discovery/{IDENTIFIER}/assign"
    r = await lab.client.post(path, json={"locator": "nope"}, headers=lab.op)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "locator"]
    await lab.client.post(
        "/api/v1/foundations/f1/state", json={"from": "planned", "to": "built"}, headers=lab.op
    )
    r = await lab.client.post(path, json={"locator": "f1"}, headers=lab.op)
    assert r.status_code == 409 and r.json()["type"].endswith("state-conflict")
    r = await lab.client.post(
        "/api/v1/discovery/ffff/assign", json={"locator": "f1"}, headers=lab.op
    )
    assert r.status_code == 404
    r = await lab.client.post(path, json={"locator": "f1", "x": 1}, headers=lab.op)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "x"]
    assert (await lab.records())[0]["status"] == "unmatched"


async def test_enroll_by_an_operator(lab: Lab) -> None:
    await lab.network()
    await lab.discovery(network="prov")  # policy hold: nothing enrols by itself
    await lab.blueprint("r650", R650_RULES[:4])
    assert (await lab.post(report()))["status"] == "unmatched"
    path = f"/api/v1/discovery/{IDENTIFIER}/enroll"
    r = await lab.client.post(path, json={"blueprint": "r650", "type": "aws"}, headers=lab.op)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "type"]
    assert r.json()["type"].endswith("type-not-allowed")
    r = await lab.client.post(path, json={"blueprint": "nope"}, headers=lab.op)
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "blueprint"]
    await lab.seed.foundation(lab.op, "taken")
    r = await lab.client.post(path, json={"blueprint": "r650", "locator": "taken"}, headers=lab.op)
    assert r.status_code == 409
    assert await lab.types("foundation.created") == ["foundation.created"]  # only "taken"
    r = await lab.client.post(
        path, json={"blueprint": "r650", "locator": "rack2-u07"}, headers=lab.op
    )
    assert r.status_code == 200, r.text
    assert r.headers["Location"] == "/api/v1/foundations/rack2-u07"
    record = r.json()
    assert (record["status"], record["locator"], record["matched_by"]) == (
        "located",
        "rack2-u07",
        "enrolled",
    )
    f = await lab.foundation("rack2-u07")
    assert (f["state"], f["blueprint"], f["type"]) == ("located", "r650", "manual")
    r = await lab.client.post(path, json={"blueprint": "r650"}, headers=lab.op)
    assert r.status_code == 409  # the report is already rack2-u07's hardware


async def test_enroll_runs_the_rules(lab: Lab) -> None:
    await lab.network()
    await lab.discovery(network="prov")
    await lab.blueprint("strict", R650_RULES)
    await lab.post(report())
    record = await lab.ok("POST", f"/api/v1/discovery/{IDENTIFIER}/enroll", {"blueprint": "strict"})
    assert record["status"] == "rejected" and record["messages"] == [RULE_5]
    r = await lab.client.get("/api/v1/foundations", headers=lab.op)
    assert r.json()["items"] == []


async def test_list_filter_read_and_delete_records(lab: Lab) -> None:
    await lab.seed.foundation(lab.op, "f1", serial="S-1")
    await lab.post(report())
    located = await lab.post(machine("S-1", "02:00:00:00:00:01"))
    assert located["status"] == "located"
    r = await lab.client.get("/api/v1/discovery?status=located", headers=lab.viewer)
    assert [i["identifier"] for i in r.json()["items"]] == [located["identifier"]]
    r = await lab.client.get("/api/v1/discovery?limit=1", headers=lab.viewer)
    first = r.json()
    assert len(first["items"]) == 1 and first["next_cursor"] is not None
    r = await lab.client.get(
        f"/api/v1/discovery?limit=1&cursor={first['next_cursor']}", headers=lab.viewer
    )
    assert len(r.json()["items"]) == 1
    assert r.json()["items"][0]["identifier"] != first["items"][0]["identifier"]
    r = await lab.client.get(f"/api/v1/discovery/{IDENTIFIER}", headers=lab.viewer)
    assert r.status_code == 200 and r.headers["ETag"] == '"1"'
    r = await lab.client.delete(
        f"/api/v1/discovery/{IDENTIFIER}", headers={**lab.op, "If-Match": '"7"'}
    )
    assert r.status_code == 412
    r = await lab.client.delete(f"/api/v1/discovery/{IDENTIFIER}", headers=lab.op)
    assert r.status_code == 204
    r = await lab.client.get(f"/api/v1/discovery/{IDENTIFIER}", headers=lab.viewer)
    assert r.status_code == 404
    assert (await lab.foundation("f1"))["hardware"] is not None  # hardware stays


# -- permissions -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["viewer", "operator", "admin"])
async def test_only_agents_and_services_post_reports(lab: Lab, role: str) -> None:
    r = await lab.client.post(REPORTS, json=report(), headers=lab.as_role(role))
    assert r.status_code == 403
    assert await lab.records() == []


async def test_agents_post_only_for_their_sites(
    lab: Lab, agent_headers: Callable[[list[str]], Any]
) -> None:
    await lab.site("dc1-row1", parent="dc1")
    await lab.site("dc2")
    agent = await agent_headers(["dc1"])
    assert (await lab.post(report(site="dc1-row1"), agent))["status"] == "unmatched"
    r = await lab.client.post(REPORTS, json=report(site="dc2"), headers=agent)
    assert r.status_code == 403
    r = await lab.client.get("/api/v1/discovery", headers=agent)
    assert r.status_code == 403


async def test_viewers_read_but_do_not_act(lab: Lab) -> None:
    await lab.seed.foundation(lab.op, "f1")
    await lab.post(report())
    base = f"/api/v1/discovery/{IDENTIFIER}"
    assert (await lab.client.get(base, headers=lab.viewer)).status_code == 200
    for method, path, body in (
        ("POST", f"{base}/assign", {"locator": "f1"}),
        ("POST", f"{base}/enroll", {"blueprint": "fbp"}),
        ("DELETE", base, None),
    ):
        for role in ("viewer", "service"):
            r = await lab.client.request(method, path, json=body, headers=lab.as_role(role))
            assert r.status_code == 403, (method, path, role)
    assert (await lab.records())[0]["status"] == "unmatched"


# -- validation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mutate", "loc"),
    [
        (lambda b: b.update(identifier="0" * 64), ["body", "identifier"]),
        (lambda b: b["hardware"]["dmi"].pop("system"), ["body", "hardware", "dmi", "system"]),
        (lambda b: b.pop("hardware"), ["body", "hardware"]),
        (lambda b: b.update(colour="red"), ["body", "colour"]),
        (lambda b: b.update(site="nowhere"), ["body", "site"]),
        (lambda b: b.update(site="bad site"), ["body", "site"]),
        (lambda b: b.update(source="camera"), ["body", "source"]),
        (lambda b: b.update(ip_address="10.0.0.300"), ["body", "ip_address"]),
        (lambda b: b.update(boot_mac="sdf"), ["body", "boot_mac"]),
        (
            lambda b: b["hardware"]["nics"][0].update(mac="xx"),
            ["body", "hardware", "nics", 0, "mac"],
        ),
    ],
)
async def test_invalid_reports_name_the_field_and_write_nothing(
    lab: Lab, mutate: Callable[[dict[str, Any]], Any], loc: list[Any]
) -> None:
    body = report()
    mutate(body)
    r = await lab.client.post(REPORTS, json=body, headers=lab.svc)
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["loc"] == loc
    assert await lab.records() == []
    assert await lab.types("hardware.*") == []


async def test_the_right_identifier_may_be_sent(lab: Lab) -> None:
    assert (await lab.post(report(identifier=IDENTIFIER)))["identifier"] == IDENTIFIER


async def test_nic_macs_are_normalised_in_the_stored_report(lab: Lab) -> None:
    body = report()
    body["hardware"]["nics"][0]["mac"] = "3CFD.FEA1.0010"
    await lab.post(body)
    record = await lab.ok("GET", f"/api/v1/discovery/{IDENTIFIER}")
    assert record["report"]["hardware"]["nics"][0]["mac"] == "3c:fd:fe:a1:00:10"


@pytest.mark.parametrize(
    ("rules", "loc"),
    [
        ([{"path": "hardware.nics.speed_mbps", "count_min": 2}], [0, "count_min"]),
        ([{"path": "a"}, {"path": "hardware.cpu.count", "min": "many"}], [1, "min"]),
        ([{"regex": "x"}], [0, "path"]),
    ],
)
async def test_blueprint_rules_are_checked_on_create_and_update(
    lab: Lab, rules: list[dict[str, Any]], loc: list[Any]
) -> None:
    body = {"name": "bad", "description": "bad", "foundation_types": ["manual"]}
    r = await lab.client.post(
        "/api/v1/blueprints/foundation", json={**body, "hardware_rules": rules}, headers=lab.admin
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "hardware_rules", *loc]
    r = await lab.client.get("/api/v1/blueprints/foundation/bad", headers=lab.admin)
    assert r.status_code == 404
    r = await lab.client.patch(
        "/api/v1/blueprints/foundation/fbp", json={"hardware_rules": rules}, headers=lab.admin
    )
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "hardware_rules", *loc]
    r = await lab.client.get("/api/v1/blueprints/foundation/fbp", headers=lab.admin)
    assert r.json()["hardware_rules"] == [] and r.json()["version"] == 1
