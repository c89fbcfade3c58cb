"""Realistic provisioning scripts (data/scripts/*.ts): they lint, and they run to the end.

The scripts are written in the style of blueprint scripts: power on, PXE boot, waiting for a
port with retries, blocks with description / expected_time / max_time, ``config.<key>`` lookups,
``pause`` / ``error`` for the operator and goto-based retry loops.

They run through the interpreter with a small fake :class:`Registry`. ``FakeLab`` below is a
MOCK OF THE HARDWARE: the ``foundation`` functions are remote functions sent to module ``ipmi``
and ``iputils`` ones to module ``iputils``; instead of a subcontractor, ``FakeLab.answer`` computes
each result from a tiny simulated machine, and the test delivers it with ``deliver_result``.
``config`` values come from a plain dict. Delays run on a virtual clock.
"""

from __future__ import annotations

import copy
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from tscript.codec import to_json
from tscript.context import VIRTUAL_EPOCH, VirtualContext, from_micros
from tscript.machine import Interpreter
from tscript.plugins import Module, Registry, ValueDef, remote
from tscript.program import compile_program

SCRIPTS = Path(__file__).parent / "data" / "scripts"
SCRIPT_FILES = sorted(SCRIPTS.glob("*.ts"))


# ------------------------------------------------------------------------------ the mock


@dataclass
class FakeLab:
    """A simulated machine and network that answers remote requests (the hardware mock)."""

    power: str = "off"
    boot: str = "disk"
    power_on_failures: int = 0  # how many power_on requests are ignored
    off_lag: int = 0  # power_state still says "on" this many times after power_off
    port_failures: dict[int, int] = field(default_factory=dict)  # failed checks before success
    ping_failures: dict[str, int | None] = field(default_factory=dict)  # None: never answers
    wipe_results: list[str] = field(default_factory=lambda: ["ok"])
    firmware: dict[str, str] = field(default_factory=dict)
    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    cycles: int = 0
    _port_checks: dict[int, int] = field(default_factory=dict)
    _pings: dict[str, int] = field(default_factory=dict)

    def answer(self, request: dict[str, Any]) -> Any:
        module, function, params = request["module"], request["function"], request["parameters"]
        self.calls.append((module, function, params))
        handler = getattr(self, f"_{module}_{function}")
        return handler(**(params or {}))

    # ipmi: what foundation.* is sent to
    def _ipmi_set_pxe_boot(self) -> None:
        self.boot = "pxe"

    def _ipmi_set_disk_boot(self) -> None:
        self.boot = "disk"

    def _ipmi_power_on(self) -> None:
        if self.power_on_failures > 0:
            self.power_on_failures -= 1
            return
        self.power = "on"

    def _ipmi_power_off(self) -> None:
        self.power = "off"

    def _ipmi_power_cycle(self) -> None:
        self.cycles += 1
        self.power = "on"

    def _ipmi_power_state(self) -> str:
        if self.power == "off" and self.off_lag > 0:
            self.off_lag -= 1
            return "on"
        return self.power

    def _ipmi_wipe_disks(self, passes: int) -> str:
        assert passes == 1
        return self.wipe_results.pop(0)

    def _ipmi_firmware_version(self, component: str) -> str:
        return self.firmware[component]

    def _ipmi_update_firmware(self, component: str, version: str) -> None:
        self.firmware[component] = version

    # iputils
    def _iputils_wait_for_port(self, port: int, timeout: int) -> bool:
        assert isinstance(port, int) and isinstance(timeout, int)
        if self.power != "on":
            return False
        checks = self._port_checks[port] = self._port_checks.get(port, 0) + 1
        return checks > self.port_failures.get(port, 0)

    def _iputils_ping(self, ip: str) -> bool:
        failures = self.ping_failures.get(ip, 0)
        count = self._pings[ip] = self._pings.get(ip, 0) + 1
        return failures is not None and count > failures


def make_registry(config: dict[str, Any]) -> Registry:
    """foundation → ipmi requests, iputils → iputils requests, config → the dict."""
    foundation = Module(
        "foundation",
        functions={
            name: remote(name, module="ipmi", required=required)
            for name, required in [
                ("set_pxe_boot", ()),
                ("set_disk_boot", ()),
                ("power_on", ()),
                ("power_off", ()),
                ("power_cycle", ()),
                ("power_state", ()),
                ("wipe_disks", ("passes",)),
                ("firmware_version", ("component",)),
                ("update_firmware", ("component", "version")),
            ]
        },
    )
    iputils = Module(
        "iputils",
        functions={
            "wait_for_port": remote(
                "wait_for_port", module="iputils", required=("port", "timeout")
            ),
            "ping": remote("ping", module="iputils", required=("ip",)),
        },
    )

    def resolve(name: str) -> ValueDef | None:
        if name not in config and name != "provisioned":
            return None
        return ValueDef(
            getter=lambda: copy.deepcopy(config[name]),
            setter=lambda value: config.__setitem__(name, value),
        )

    return Registry(
        {
            "foundation": foundation,
            "iputils": iputils,
            "config": Module("config", resolve_value=resolve),
        }
    )


@dataclass
class Outcome:
    job: Interpreter
    ctx: VirtualContext
    stops: list[tuple[str, str | None, int | None]]


def run_with_lab(
    source: str,
    lab: FakeLab,
    config: dict[str, Any],
    on_stop: Any = None,
    max_stops: int = 5,
) -> Outcome:
    """Run to the end: answer every request from the lab, jump the clock over delays.

    A paused job is resumed and a job in error is reset (after ``on_stop(lab, status)``),
    at most ``max_stops`` times; each stop is recorded.
    """
    ctx = VirtualContext()
    job = Interpreter.start(compile_program(source), make_registry(config), ctx)
    stops: list[tuple[str, str | None, int | None]] = []
    for _ in range(10_000):
        result = job.run(1000)
        if result.status == "yielded":
            continue
        if result.status == "waiting":
            if result.request is not None:
                request_id = result.request["request_id"]
                job.mark_dispatched(request_id)
                job.deliver_result(request_id, lab.answer(result.request))
            else:
                assert result.wake_at is not None
                ctx.advance_to(from_micros(result.wake_at))
            continue
        if result.status in ("paused", "error") and len(stops) < max_stops:
            stops.append((result.status, result.message, result.line))
            if on_stop is not None:
                on_stop(lab, result.status)
            if result.status == "paused":
                job.resume()
            else:
                job.reset()
            continue
        return Outcome(job, ctx, stops)
    raise AssertionError("the job never finished")


def elapsed(outcome: Outcome) -> timedelta:
    return outcome.ctx.now() - VIRTUAL_EPOCH


def final_vars(outcome: Outcome) -> dict[str, Any]:
    return {name: to_json(value) for name, value in outcome.job.vars.items()}


def functions(lab: FakeLab) -> list[str]:
    return [function for _, function, _ in lab.calls]


def load(name: str) -> str:
    return (SCRIPTS / name).read_text(encoding="utf-8")


# ------------------------------------------------------------------------------ lint


def test_there_are_enough_scripts() -> None:
    assert len(SCRIPT_FILES) >= 10


def test_all_scripts_pass_lint() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tscript", "lint", *map(str, SCRIPT_FILES)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "", "")


@pytest.mark.parametrize("path", SCRIPT_FILES, ids=[path.stem for path in SCRIPT_FILES])
def test_script_compiles(path: Path) -> None:
    compile_program(path.read_bytes())


# ------------------------------------------------------------------------------ runs

HOST = {"hostname": "web01", "bmc_ip": "10.0.1.5"}


def test_power_on_wait_ssh() -> None:
    lab = FakeLab(port_failures={22: 2})
    outcome = run_with_lab(load("power_on_wait_ssh.ts"), lab, dict(HOST))
    assert outcome.job.status == "done"
    assert final_vars(outcome) == {
        "attempts": 3,
        "ssh_up": True,
        "summary": "web01 is up after 3 attempts",
    }
    assert functions(lab) == ["set_pxe_boot", "power_on"] + ["wait_for_port"] * 3
    assert lab.calls[2] == ("iputils", "wait_for_port", {"port": 22, "timeout": 300})
    assert (lab.power, lab.boot) == ("on", "pxe")
    assert elapsed(outcome) == timedelta(seconds=60)


def test_power_on_wait_ssh_gives_up() -> None:
    lab = FakeLab(port_failures={22: 100})
    outcome = run_with_lab(load("power_on_wait_ssh.ts"), lab, dict(HOST))
    assert outcome.job.status == "aborted"
    assert outcome.job.message == "SSH never came up on web01"
    assert outcome.job.position == (16, 20)
    assert final_vars(outcome) == {"attempts": 5, "ssh_up": False}


def test_goto_power_retry() -> None:
    lab = FakeLab(power_on_failures=1)
    outcome = run_with_lab(load("goto_power_retry.ts"), lab, dict(HOST))
    assert outcome.job.status == "done"
    assert outcome.stops == []
    assert final_vars(outcome) == {"tries": 3, "state": "on"}
    assert functions(lab) == ["power_state", "power_on", "power_state", "power_on", "power_state"]
    assert elapsed(outcome) == timedelta(seconds=20)


def test_goto_power_retry_error_then_reset() -> None:
    lab = FakeLab(power_on_failures=100)

    def fix_the_bmc(lab: FakeLab, status: str) -> None:
        assert status == "error"
        lab.power_on_failures = 0

    outcome = run_with_lab(load("goto_power_retry.ts"), lab, dict(HOST), on_stop=fix_the_bmc)
    assert outcome.job.status == "done"
    assert outcome.stops == [("error", "power did not come on after 4 tries", 8)]
    # after reset error() yields none; the next power_on works and the goto re-checks
    assert final_vars(outcome) == {"tries": 5, "state": "on"}
    assert functions(lab).count("power_on") == 4


def test_destroy_power_off() -> None:
    lab = FakeLab(power="on", off_lag=3, boot="pxe")
    config = dict(HOST, provisioned=True)
    outcome = run_with_lab(load("destroy_power_off.ts"), lab, config)
    assert outcome.job.status == "done"
    assert final_vars(outcome) == {"polls": 3}
    assert functions(lab) == ["power_off"] + ["power_state"] * 4 + ["set_disk_boot"]
    assert (lab.power, lab.boot) == ("off", "disk")
    assert config["provisioned"] is False
    assert elapsed(outcome) == timedelta(seconds=15)


def test_pxe_install() -> None:
    lab = FakeLab(port_failures={22: 2})
    config = dict(HOST)
    outcome = run_with_lab(load("pxe_install.ts"), lab, config)
    assert outcome.job.status == "done"
    assert outcome.stops == []
    assert final_vars(outcome) == {"installer_up": True, "ready": True}
    assert functions(lab) == [
        "set_pxe_boot",
        "power_cycle",
        "wait_for_port",
        "wait_for_port",
        "wait_for_port",
        "wait_for_port",
        "set_disk_boot",
        "power_cycle",
        "wait_for_port",
    ]
    assert lab.calls[2][2] == {"port": 8080, "timeout": 600}
    assert config["provisioned"] is True
    assert lab.boot == "disk"
    assert elapsed(outcome) == timedelta(minutes=12)


def test_pxe_install_installer_missing_stops_in_error() -> None:
    lab = FakeLab(port_failures={8080: 1})
    outcome = run_with_lab(load("pxe_install.ts"), lab, dict(HOST))
    # the operator resets once: error() yields none and the installation goes on
    assert outcome.stops == [("error", "installer did not start", 9)]
    assert outcome.job.status == "done"
    assert final_vars(outcome) == {"installer_up": False, "ready": True}


def test_config_defaults() -> None:
    config = {
        "hostname": "db02",
        "domain": "lab.example",
        "dns_servers": ["10.0.0.2", "10.0.0.3"],
        "swap_size": "4G",
    }
    outcome = run_with_lab(load("config_defaults.ts"), FakeLab(), config)
    assert outcome.job.status == "done"
    assert final_vars(outcome) == {
        "ntp": "pool.ntp.org",
        "fqdn": "db02.lab.example",
        "settings": {
            "hostname": "db02",
            "fqdn": "db02.lab.example",
            "ntp": "pool.ntp.org",
            "dns": ["10.0.0.2", "10.0.0.3"],
            "swap": "4G",
        },
        "primary_dns": "10.0.0.2",
        "dns_count": 2,
    }


def test_config_defaults_other_host() -> None:
    config = {"hostname": "db03", "ntp_server": "10.0.0.1", "dns_servers": ["10.0.0.9"]}
    outcome = run_with_lab(load("config_defaults.ts"), FakeLab(), config)
    assert outcome.job.status == "done"
    got = final_vars(outcome)
    assert got["ntp"] == "10.0.0.1"
    assert got["fqdn"] == "db03"
    assert got["settings"]["swap"] is None
    assert got["dns_count"] == 1


def test_interface_checks() -> None:
    interfaces = [
        {"name": "eth0", "ip": "10.0.0.5"},
        {"name": "eth1", "ip": None},
        {"name": "ipmi", "ip": "10.0.1.5"},
        {"name": "eth2", "ip": "10.0.0.6"},
    ]
    lab = FakeLab(ping_failures={"10.0.1.5": 1, "10.0.0.6": None})
    outcome = run_with_lab(load("interface_checks.ts"), lab, dict(HOST, interfaces=interfaces))
    assert outcome.job.status == "done"
    assert final_vars(outcome) == {
        "interfaces": interfaces,
        "failed": ["eth2"],
        "checked": 3,
        "ii": 4,
        "nic": {"name": "eth2", "ip": "10.0.0.6"},
        "tries": 3,
        "ok": False,
    }
    pinged = [params["ip"] for _, _, params in lab.calls]
    assert pinged == ["10.0.0.5", "10.0.1.5", "10.0.1.5"] + ["10.0.0.6"] * 3
    assert elapsed(outcome) == timedelta(seconds=20)


def test_bmc_operator_pause() -> None:
    lab = FakeLab(ping_failures={"10.0.1.5": 3})
    outcome = run_with_lab(load("bmc_operator_pause.ts"), lab, dict(HOST))
    assert outcome.job.status == "done"
    assert outcome.stops == [
        ("paused", "Check the BMC cabling of web01", 6),
        ("paused", "Check the BMC cabling of web01", 6),
    ]
    assert final_vars(outcome) == {"bmc_checks": 3, "ssh": True}
    assert functions(lab) == ["ping"] * 4 + ["power_on", "wait_for_port"]


def test_wipe_with_error() -> None:
    lab = FakeLab(wipe_results=["busy", "ok"])
    outcome = run_with_lab(load("wipe_with_error.ts"), lab, dict(HOST))
    assert outcome.job.status == "done"
    assert outcome.stops == [("error", "wipe failed: busy", 9)]
    assert final_vars(outcome) == {"wiped": "ok", "rounds": 2}
    assert functions(lab) == ["power_on", "wipe_disks", "wipe_disks", "power_off"]
    assert lab.calls[1][2] == {"passes": 1}


def test_firmware_update() -> None:
    lab = FakeLab(power="on", firmware={"bios": "2.4.1", "bmc": "7.02"})
    outcome = run_with_lab(load("firmware_update.ts"), lab, dict(HOST))
    assert outcome.job.status == "done"
    assert outcome.stops == []
    assert final_vars(outcome) == {
        "wanted": {"bios": "2.4.1", "bmc": "7.10"},
        "updated": ["bmc 7.02 -> 7.10"],
        "parts": [],
        "part": "bmc",
        "current": "7.02",
    }
    assert lab.firmware == {"bios": "2.4.1", "bmc": "7.10"}
    assert lab.cycles == 1
    assert elapsed(outcome) == timedelta(minutes=5)


def test_reboot_utility() -> None:
    lab = FakeLab(power="on", port_failures={22: 3})
    outcome = run_with_lab(load("reboot_utility.ts"), lab, dict(HOST))
    assert outcome.job.status == "done"
    assert final_vars(outcome) == {"up": True, "waited": 4, "uptime_ok": True}
    assert functions(lab) == ["power_off", "power_on"] + ["wait_for_port"] * 4
    assert elapsed(outcome) == timedelta(seconds=30)


@pytest.mark.parametrize(
    ("hostname", "expected"),
    [
        (
            "node2",
            {
                "position": 1,
                "peers": ["node1"],
                "role": "member",
                "leader": "node1",
                "ready": True,
                "attempt": 1,
                "labels": {"role": "member", "rack": "r12", "index": 1},
            },
        ),
        (
            "node1",
            {
                "position": 0,
                "peers": [],
                "role": "leader",
                "labels": {"role": "leader", "rack": "r12", "index": 0},
            },
        ),
    ],
)
def test_cluster_join(hostname: str, expected: dict[str, Any]) -> None:
    nodes = ["node1", "node2", "node3"]
    config = {"hostname": hostname, "cluster_nodes": nodes, "rack": "r12"}
    lab = FakeLab(power="on")
    outcome = run_with_lab(load("cluster_join.ts"), lab, config)
    assert outcome.job.status == "done"
    assert final_vars(outcome) == {"nodes": nodes, "me": hostname, **expected}
    assert lab.calls == [
        ("iputils", "wait_for_port", {"port": 6443, "timeout": 600 if hostname == "node1" else 120})
    ]


def test_join_goto_retry() -> None:
    lab = FakeLab(power="on", port_failures={6443: 3})
    outcome = run_with_lab(load("join_goto_retry.ts"), lab, dict(HOST))
    assert outcome.job.status == "done"
    assert final_vars(outcome) == {
        "attempt": 4,
        "backoff": 40,
        "ready": True,
        "result": {"attempts": 4, "last_backoff": 40},
    }
    assert functions(lab) == ["wait_for_port"] * 4 + ["power_cycle"]
    assert elapsed(outcome) == timedelta(seconds=35)


def test_join_goto_retry_gives_up() -> None:
    lab = FakeLab(power="on", port_failures={6443: 100})
    outcome = run_with_lab(load("join_goto_retry.ts"), lab, dict(HOST))
    assert outcome.job.status == "aborted"
    assert outcome.job.message == "leader never answered"
    assert outcome.job.position == (8, 22)
    assert final_vars(outcome)["attempt"] == 6
    assert "power_cycle" not in functions(lab)


def test_max_time_pauses_slow_install() -> None:
    # the installer needs far more than the block's max_time of one hour: the job pauses
    lab = FakeLab(port_failures={22: 200})
    outcome = run_with_lab(load("pxe_install.ts"), lab, dict(HOST), max_stops=1)
    assert outcome.job.status == "paused"
    assert outcome.stops == [("paused", "max_time of Install OS exceeded", 7)]
    assert outcome.job.message == "max_time of Install OS exceeded"
    assert outcome.job.position == (7, 1)
