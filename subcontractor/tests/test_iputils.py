"""The iputils plugin against 127.0.0.1 only: a listening socket, a closed port, ICMP echo."""

from __future__ import annotations

import os
import socket
import struct
from collections.abc import Iterator
from typing import Any

import pytest
from sc_fake_foreman import FakeForeman
from sc_run import running, task_context
from subcontractor.errors import PluginError
from subcontractor.plugins.iputils import IputilsConfig, IputilsPlugin, icmp


@pytest.fixture
def listening_port() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        yield server.getsockname()[1]


@pytest.fixture
def closed_port() -> Iterator[int]:
    # Bound but never listening: connections are refused, and no one else can take the port.
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        yield holder.getsockname()[1]


def can_ping() -> bool:
    try:
        icmp.open_socket("auto")[0].close()
        return True
    except icmp.PingUnavailable:
        return False


async def port_check(params: dict[str, Any]) -> Any:
    plugin = IputilsPlugin(IputilsConfig())
    fn = plugin.functions()["port_check"]
    assert fn.handler is not None
    return await fn.handler(fn.params.model_validate(params), task_context())


class TestPortCheck:
    async def test_open(self, listening_port: int) -> None:
        result = await port_check({"target": "127.0.0.1", "port": listening_port, "timeout": 5})
        assert result["state"] == "open"
        assert result["elapsed_ms"] >= 0

    async def test_closed(self, closed_port: int) -> None:
        result = await port_check({"target": "127.0.0.1", "port": closed_port, "timeout": 5})
        assert result["state"] == "closed"

    async def test_through_the_agent(
        self, foreman: FakeForeman, make_agent: Any, listening_port: int, closed_port: int
    ) -> None:
        good = foreman.add_task(
            "iputils", "port_check", {"target": "127.0.0.1", "port": listening_port}
        )
        bad = foreman.add_task(
            "iputils", "port_check", {"target": "127.0.0.1", "port": closed_port}
        )
        async with running(make_agent()):
            await foreman.wait_until(lambda: good.state == bad.state == "succeeded")
        assert good.outcomes[0]["data"]["state"] == "open"
        assert bad.outcomes[0]["data"]["state"] == "closed"


class TestPing:
    @pytest.mark.skipif(
        not can_ping() and not os.environ.get("CI"),  # in CI a missing ICMP socket fails
        reason="no ICMP socket allowed here (no ping_group_range, no CAP_NET_RAW)",
    )
    def test_loopback_answers(self) -> None:
        plugin = IputilsPlugin(IputilsConfig())
        result = plugin.ping(
            plugin.functions()["ping"].params.model_validate(
                {"target": "127.0.0.1", "count": 3, "timeout": 1}
            ),
            task_context(),
        )
        assert result["sent"] == 3
        assert result["received"] == 3
        assert result["percent"] == 100.0
        assert result["rtt_avg_ms"] is not None

    @pytest.mark.skipif(
        not can_ping() and not os.environ.get("CI"), reason="no ICMP socket allowed here"
    )
    async def test_through_the_agent_in_a_worker_thread(
        self, foreman: FakeForeman, make_agent: Any
    ) -> None:
        task = foreman.add_task("iputils", "ping", {"target": "127.0.0.1", "count": 2})
        async with running(make_agent()):
            await foreman.wait_until(lambda: task.state == "succeeded")
        assert task.outcomes[0]["data"]["percent"] == 100.0

    def test_unavailable_method_is_a_plugin_error(self) -> None:
        plugin = IputilsPlugin(IputilsConfig(ping_method="command", ping_command="no-such-ping"))
        params = plugin.functions()["ping"].params.model_validate({"target": "127.0.0.1"})
        with pytest.raises(PluginError, match="unavailable"):
            plugin.ping(params, task_context())

    def test_parse_iputils_and_busybox_output(self) -> None:
        iputils = (
            "--- 127.0.0.1 ping statistics ---\n"
            "3 packets transmitted, 2 received, 33.3333% packet loss, time 2003ms\n"
            "rtt min/avg/max/mdev = 0.031/0.045/0.060/0.012 ms\n"
        )
        report = icmp.parse_ping_output(iputils)
        assert (report.sent, report.received, report.rtt_avg_ms) == (3, 2, 0.045)
        busybox = (
            "--- 127.0.0.1 ping statistics ---\n"
            "4 packets transmitted, 4 packets received, 0% packet loss\n"
            "round-trip min/avg/max = 0.050/0.070/0.090 ms\n"
        )
        report = icmp.parse_ping_output(busybox)
        assert (report.sent, report.received, report.percent, report.rtt_avg_ms) == (
            4,
            4,
            100.0,
            0.07,
        )
        with pytest.raises(icmp.PingUnavailable):
            icmp.parse_ping_output("ping: unknown host")

    def test_echo_request_checksum_verifies(self) -> None:
        packet = icmp.echo_request(0x1234, 7)
        assert icmp.checksum(packet) == 0
        assert icmp.parse_reply(packet, has_ip_header=False) == (8, 0x1234, 7)
        ip_header = struct.pack(
            "!BBHHHBBH4s4s",
            0x45,
            0,
            20 + len(packet),
            0,
            0,
            64,
            1,
            0,
            socket.inet_aton("127.0.0.1"),
            socket.inet_aton("127.0.0.1"),
        )
        assert icmp.parse_reply(ip_header + packet, has_ip_header=True) == (8, 0x1234, 7)

    def test_parameters_are_bounded(self) -> None:
        params = IputilsPlugin(IputilsConfig()).functions()["ping"].params
        with pytest.raises(ValueError, match="count"):
            params.model_validate({"target": "127.0.0.1", "count": 0})
