"""What a simulated machine does after it powers on into a network boot (foreman.md §8.7).

It takes a DHCP lease (a ``dhcp.ack`` event), asks foreman for its boot script through the
render relay, and after ``boot_delay_s``: with PXE ``bootstrap`` it posts its ``profile`` as a
discovery report; with a local-disk instruction it is simply up; with any other instruction it
signals completion by MAC and powers off. No instruction yet: it stays up, idle.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from subcontractor.plugin import PluginContext
from subcontractor.plugins.sim.machines import Registry, SimMachine
from subcontractor.retry import classify
from subcontractor.wire import AgentEvent

BOOT_BASE = "http://sim.invalid"  # sim machines reach no boot server; the relay only needs a base
IPXE_ARCH = 7  # DHCP option 93: EFI x86-64
LOCAL_DISK_MARKERS = ("sanboot", "\nexit")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


async def simulate_boot(
    ctx: PluginContext,
    registry: Registry,
    machine: SimMachine,
    boots: int,
    wait: Callable[[], Awaitable[None]],
) -> None:
    """Play one network boot of ``machine`` (the ``boots``-th power-on) against foreman."""
    if not machine.macs:
        return  # no interface: nothing to boot from
    mac, ip = machine.macs[0], (machine.ips[0] if machine.ips else None)
    client: dict[str, Any] = {"ip": ip, "mac": mac}
    try:
        answer = await _fetch_instruction(ctx, mac, client)
        await wait()
        state = registry.machines.get(machine.id)
        if state is None or state.power != "on" or state.boots != boots:
            return  # switched off or rebooted meanwhile: this boot never finished
        pxe, body = answer.get("pxe"), str(answer.get("body", ""))
        if pxe == "bootstrap":
            await ctx.foreman.boot_discovery(
                {"client": client, "report": _report(ctx, machine, client)}
            )
        elif pxe and not any(marker in body for marker in LOCAL_DISK_MARKERS):
            await ctx.foreman.boot_signal(
                {
                    "mac": mac,
                    "origin": "agent",
                    "status": "complete",
                    "message": f"sim: {pxe} done",
                    "client": client,
                }
            )
            state.power_off()
    except Exception as exc:  # a real machine would retry; the sim gives up and logs
        ctx.log.warning("sim boot of %s stopped: %s", machine.id, classify(exc).message)


async def _fetch_instruction(
    ctx: PluginContext, mac: str, client: dict[str, Any]
) -> dict[str, Any]:
    site = ctx.sites[0]
    ack: AgentEvent = {
        "kind": "dhcp.ack",
        "at": _now(),
        "site": site,
        "mac": mac,
        "ip": client["ip"],
        "arch": IPXE_ARCH,
        "user_class": "iPXE",
    }
    await ctx.foreman.post_events([ack])
    return await ctx.foreman.boot_render(
        {
            "kind": "boot_script",
            "selector": {"mac": mac},
            "client": {**client, "arch": IPXE_ARCH, "user_class": "iPXE"},
            "boot_base": BOOT_BASE,
            "request_url": f"{BOOT_BASE}/boot/v1/ipxe?mac={mac}",
        }
    )


def _report(ctx: PluginContext, machine: SimMachine, client: dict[str, Any]) -> dict[str, Any]:
    return {
        "site": ctx.sites[0],
        "ip_address": client["ip"],
        "boot_mac": client["mac"],
        "config_uuid": None,
        "source": "sim",
        "hardware": machine.profile or {},
    }
