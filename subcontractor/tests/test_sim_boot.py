"""Simulated network boots through the real agent: DHCP event, render relay, signal, discovery."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sc_fake_foreman import FakeForeman
from sc_run import Plugins, running
from subcontractor.agent import Agent

MAC = "02:00:5e:10:00:01"
MakeAgent = Callable[..., Agent]


def machine(**extra: Any) -> dict[str, Any]:
    return {"id": "rack1-u12", "macs": [MAC], "ips": ["10.0.0.30"], "boot_delay_s": 0, **extra}


async def pxe_then_power_on(foreman: FakeForeman, **extra: Any) -> Any:
    """Select a network boot, then (once that is done) power on; the agent must be running."""
    pxe = foreman.add_task("sim", "boot_device", {"machine": machine(**extra), "device": "pxe"})
    await foreman.wait_until(lambda: pxe.state == "succeeded")
    return foreman.add_task("sim", "power", {"machine": machine(**extra), "state": "on"})


class TestNetworkBoot:
    async def test_a_boot_instruction_is_signalled_by_mac_then_the_machine_powers_off(
        self, foreman: FakeForeman, make_agent: MakeAgent, plugins: Plugins
    ) -> None:
        foreman.pxe_by_mac[MAC] = "disk-wipe"
        async with running(make_agent()):
            await pxe_then_power_on(foreman)
            await foreman.wait_until(lambda: bool(foreman.calls("boot_signal")))
            await foreman.wait_until(lambda: plugins.sim.registry.get("rack1-u12").power == "off")
        ack = foreman.events[0]
        assert (ack["kind"], ack["mac"], ack["ip"], ack["site"]) == (
            "dhcp.ack",
            MAC,
            "10.0.0.30",
            "dc1",
        )
        render = foreman.calls("boot_render")[0]
        assert render["kind"] == "boot_script"
        assert render["selector"] == {"mac": MAC}
        signal = foreman.calls("boot_signal")[0]
        assert (signal["mac"], signal["origin"], signal["status"]) == (MAC, "agent", "complete")

    async def test_bootstrap_posts_the_profile_as_a_discovery_report(
        self, foreman: FakeForeman, make_agent: MakeAgent, plugins: Plugins
    ) -> None:
        foreman.pxe_by_mac[MAC] = "bootstrap"
        profile = {"cpu": {"count": 4}, "memory_mib": 8192}
        async with running(make_agent()):
            await pxe_then_power_on(foreman, profile=profile)
            await foreman.wait_until(lambda: bool(foreman.calls("boot_discovery")))
        report = foreman.calls("boot_discovery")[0]["report"]
        assert report["source"] == "sim"
        assert report["boot_mac"] == MAC
        assert report["hardware"] == profile
        assert plugins.sim.registry.get("rack1-u12").power == "on"

    async def test_a_local_disk_instruction_leaves_the_machine_up(
        self, foreman: FakeForeman, make_agent: MakeAgent, plugins: Plugins
    ) -> None:
        foreman.pxe_by_mac[MAC] = "normal-boot"
        after = None
        async with running(make_agent()):
            task = await pxe_then_power_on(foreman)
            await foreman.wait_until(
                lambda: task.state == "succeeded" and bool(foreman.calls("boot_render"))
            )
            after = foreman.add_task("sim", "power_state", {"machine": machine()})
            await foreman.wait_until(lambda: after is not None and after.state == "succeeded")
        assert after.outcomes[0]["data"] == {"state": "on"}
        assert foreman.calls("boot_signal") == [] and foreman.calls("boot_discovery") == []

    async def test_a_disk_boot_asks_foreman_nothing(
        self, foreman: FakeForeman, make_agent: MakeAgent
    ) -> None:
        task = foreman.add_task("sim", "power", {"machine": machine(), "state": "on"})
        async with running(make_agent()):
            await foreman.wait_until(lambda: task.state == "succeeded")
        assert foreman.calls("boot_render") == [] and foreman.events == []
