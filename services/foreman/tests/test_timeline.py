"""Boot cycles, phases and scopes of job timelines (spec §12.3)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from contractor.foreman.store.timeline import Mark, cycles, scopes
from foreman_agentkit import TestAgent
from foreman_fake_inventory import FakeInventory
from foreman_testkit import ShiftedClock, job_in

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
MAC = "52:54:00:12:34:56"


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_a_cycle_per_power_on_with_the_phases_it_holds() -> None:
    marks = [
        Mark(at(0), "scope.enter", {"description": "Wipe Disks"}),
        Mark(at(1), "power.on", {}),
        Mark(at(42), "dhcp.ack", {}),
        Mark(at(43), "dhcp.ack", {}),  # only the first ACK of a cycle counts
        Mark(at(45), "boot.script", {}),
        Mark(at(430), "signal.received", {}),
        Mark(at(450), "power.off", {}),
        Mark(at(451), "scope.exit", {"description": "Wipe Disks"}),
        Mark(at(500), "power.on", {}),  # a second cycle, outside any scope
        Mark(at(530), "boot.script", {}),  # no ACK seen: no phase touching dhcp
    ]
    assert cycles(marks) == [
        {
            "scope": "Wipe Disks",
            "phases": {
                "power_on_to_dhcp": 41.0,
                "dhcp_to_boot_script": 3.0,
                "boot_script_to_signal": 385.0,
                "signal_to_power_off": 20.0,
            },
        },
        {"scope": None, "phases": {}},
    ]


def test_marks_before_the_first_power_on_make_no_cycle() -> None:
    assert cycles([Mark(at(0), "dhcp.ack", {}), Mark(at(1), "boot.script", {})]) == []


def test_scopes_nest_and_an_open_one_has_no_duration() -> None:
    marks = [
        Mark(at(0), "scope.enter", {"description": "outer"}),
        Mark(at(2), "scope.enter", {"description": "inner"}),
        Mark(at(7.5), "scope.exit", {"description": "inner"}),
    ]
    assert scopes(marks) == [
        {"description": "outer", "started_at": at(0), "seconds": None},
        {"description": "inner", "started_at": at(2), "seconds": 5.5},
    ]


SCRIPT = """\
begin( description="Wipe Disks" )
  foundation.power_on()
  signaling.reset(pxe_name='installer')
  signaling.wait_for_completion()
  foundation.power_off()
end
"""


async def test_a_boot_through_the_agent_gives_a_timed_cycle(
    client: httpx.AsyncClient, inventory: FakeInventory, clock: ShiftedClock
) -> None:
    agent = TestAgent(client)
    await agent.register()
    inventory.add("foundation", "sim1", state="located", scripts={"create": SCRIPT})
    inventory.macs[MAC] = ("foundation", "sim1")
    job = (await client.post("/api/v1/foundations/sim1/jobs", json={"script": "create"})).json()
    power_on = await agent.next_task()
    assert power_on["parameters"]["state"] == "on"
    await agent.result(power_on, {"state": "on"})
    await job_in(client, job["id"], "waiting_signal")
    clock.advance(40)
    events = [
        {"kind": "dhcp.offer", "at": clock.now().isoformat(), "site": "dc1", "mac": MAC},
        {"kind": "dhcp.ack", "at": clock.now().isoformat(), "site": "dc1", "mac": MAC,
         "ip": "10.0.0.30"},
        {"kind": "dhcp.ack", "site": "dc1", "mac": "02:00:00:00:00:99"},  # nobody's MAC
    ]  # fmt: skip
    r = await agent.call("/events", {"agent_id": agent.agent_id, "events": events})
    assert r.status_code == 202 and r.json() == {"accepted": 3}
    clock.advance(3)
    render = {"kind": "boot_script", "selector": {"mac": MAC}, "boot_base": "http://b:8071"}
    assert (await agent.call("/boot/render", render)).status_code == 200
    clock.advance(300)
    signal = {"mac": MAC, "origin": "agent", "status": "complete"}
    assert (await agent.call("/boot/signal", signal)).json()["result"] == "received"
    power_off = await agent.next_task()
    assert power_off["parameters"]["state"] == "off"
    clock.advance(20)
    await agent.result(power_off, {"state": "off"})
    await job_in(client, job["id"], "done")

    timeline = (await client.get(f"/api/v1/jobs/{job['id']}/timeline")).json()
    names = [m["mark"] for m in timeline["marks"]]
    wanted = ["scope.enter", "power.on", "dhcp.ack", "boot.script", "signal.received",
              "power.off", "scope.exit"]  # fmt: skip
    assert [n for n in names if n in wanted] == wanted
    [ack] = [m for m in timeline["marks"] if m["mark"] == "dhcp.ack"]
    assert ack["detail"] == {"mac": MAC, "ip": "10.0.0.30"}
    [cycle] = timeline["cycles"]
    assert cycle["scope"] == "Wipe Disks"
    phases = cycle["phases"]
    assert set(phases) == {
        "power_on_to_dhcp",
        "dhcp_to_boot_script",
        "boot_script_to_signal",
        "signal_to_power_off",
    }
    # The clock moved 40, 3, 300 and 20 s between the marks (plus the test's own run time).
    for name, moved in (("power_on_to_dhcp", 40), ("dhcp_to_boot_script", 3),
                        ("boot_script_to_signal", 300), ("signal_to_power_off", 20)):  # fmt: skip
        assert moved <= phases[name] < moved + 5, (name, phases[name])
    [scope] = timeline["scopes"]
    assert scope["description"] == "Wipe Disks" and 363 <= scope["seconds"] < 380

    unknown = {"mac": "02:00:00:00:00:98", "origin": "agent", "status": "complete"}
    assert (await agent.call("/boot/signal", unknown)).status_code == 404

    text = (await client.get("/metrics", headers={"Authorization": ""})).text
    for name in phases:
        assert f'contractor_foreman_boot_phase_seconds_count{{phase="{name}"}} 1.0' in text
    prefix = "contractor_foreman_"
    for line in (
        'task_dispatch_seconds_count{module="sim"} 2.0',
        'task_roundtrip_seconds_count{function="power",module="sim"} 2.0',
        'boot_requests_total{kind="boot_script",status="200"} 1.0',
        'boot_requests_total{kind="signal",status="200"} 1.0',
        'boot_requests_total{kind="signal",status="404"} 1.0',
        'inventory_seconds_count{op="resolve",outcome="refused"} 2.0',  # the unknown MACs
    ):
        assert prefix + line in text, line
    assert prefix + 'agent_last_seen_seconds{agent="a1",site="dc1"}' in text
