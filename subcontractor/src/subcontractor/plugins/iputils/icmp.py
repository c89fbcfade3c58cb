"""ICMP echo without icmplib: an unprivileged datagram socket, a raw socket as root, or ``ping``.

Blocking code: the plugin runs it in a worker thread (foreman.md §8.4 step 3).
"""

from __future__ import annotations

import ipaddress
import os
import re
import select
import shutil
import socket
import struct
import subprocess
import time
from dataclasses import dataclass
from typing import Literal

Method = Literal["auto", "datagram", "raw", "command"]

ECHO_REQUEST, ECHO_REPLY = 8, 0


@dataclass(frozen=True)
class PingReport:
    """How many echoes were sent and answered, and the mean round trip."""

    sent: int
    received: int
    rtt_avg_ms: float | None

    @property
    def percent(self) -> float:
        """Share of echoes answered, 0–100."""
        return 100.0 * self.received / self.sent if self.sent else 0.0


class PingUnavailable(Exception):
    """No way to send ICMP echoes here (no permission, no ``ping`` command)."""


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071)."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF


def echo_request(identifier: int, sequence: int, payload: bytes = b"contractor-ping") -> bytes:
    """An ICMP echo request with a correct checksum."""
    header = struct.pack("!BBHHH", ECHO_REQUEST, 0, 0, identifier, sequence)
    value = checksum(header + payload)
    return struct.pack("!BBHHH", ECHO_REQUEST, 0, value, identifier, sequence) + payload


def parse_reply(packet: bytes, *, has_ip_header: bool) -> tuple[int, int, int] | None:
    """``(type, identifier, sequence)`` of an ICMP message, skipping an IPv4 header if present."""
    if has_ip_header:
        if not packet:
            return None
        packet = packet[(packet[0] & 0x0F) * 4 :]
    if len(packet) < 8:
        return None
    kind, _code, _sum, identifier, sequence = struct.unpack("!BBHHH", packet[:8])
    return kind, identifier, sequence


def open_socket(method: Method) -> tuple[socket.socket, bool]:
    """An ICMP socket and whether its packets carry the IP header (raw sockets do).

    Raises:
        PingUnavailable: Neither kind of socket may be opened here.
    """
    kinds = {"datagram": [socket.SOCK_DGRAM], "raw": [socket.SOCK_RAW]}
    for kind in kinds.get(method, [socket.SOCK_DGRAM, socket.SOCK_RAW]):
        try:
            return socket.socket(socket.AF_INET, kind, socket.IPPROTO_ICMP), kind == socket.SOCK_RAW
        except PermissionError:
            continue  # datagram ICMP needs net.ipv4.ping_group_range; raw needs CAP_NET_RAW
    raise PingUnavailable("no ICMP socket permitted (need ping_group_range or CAP_NET_RAW)")


def ping_socket(address: str, count: int, timeout: float, method: Method = "auto") -> PingReport:
    """Send ``count`` echoes one after another, waiting up to ``timeout`` s for each reply."""
    sock, raw = open_socket(method)
    identifier = os.getpid() & 0xFFFF
    rtts: list[float] = []
    with sock:
        for sequence in range(1, count + 1):
            sent_at = time.monotonic()
            sock.sendto(echo_request(identifier, sequence), (address, 0))
            if _await_reply(sock, raw, identifier, sequence, sent_at + timeout):
                rtts.append((time.monotonic() - sent_at) * 1000.0)
    average = sum(rtts) / len(rtts) if rtts else None
    return PingReport(sent=count, received=len(rtts), rtt_avg_ms=average)


def _await_reply(
    sock: socket.socket, raw: bool, ident: int, sequence: int, deadline: float
) -> bool:
    while (left := deadline - time.monotonic()) > 0:
        readable, _, _ = select.select([sock], [], [], left)
        if not readable:
            return False
        parsed = parse_reply(sock.recv(65535), has_ip_header=raw)
        if parsed is None or parsed[0] != ECHO_REPLY or parsed[2] != sequence:
            continue  # our own request on loopback, or someone else's traffic
        if raw and parsed[1] != ident:
            continue  # datagram sockets get the kernel's identifier; raw ones see every reply
        return True
    return False


_RECEIVED = re.compile(r"(\d+) packets transmitted, (\d+) (?:packets )?received")
_RTT = re.compile(r"= [\d.]+/([\d.]+)/")


def ping_command(address: str, count: int, timeout: float, command: str = "ping") -> PingReport:
    """Run the system ``ping`` (iputils or busybox) and read its summary.

    Raises:
        PingUnavailable: The command is not on the path or its output is not understood.
    """
    path = shutil.which(command)
    if path is None:
        raise PingUnavailable(f"{command!r} is not on the path")
    wait = str(max(1, round(timeout)))
    argv = [path, "-c", str(count), "-W", wait, address]
    completed = subprocess.run(  # fixed argv, address validated as an IP
        argv, capture_output=True, text=True, timeout=count * (timeout + 1) + 5, check=False
    )
    return parse_ping_output(completed.stdout)


def parse_ping_output(text: str) -> PingReport:
    """Read ``N packets transmitted, M received`` and the rtt line of ``ping`` output."""
    found = _RECEIVED.search(text)
    if found is None:
        raise PingUnavailable("ping output not understood")
    rtt = _RTT.search(text)
    average = float(rtt.group(1)) if rtt else None
    return PingReport(sent=int(found.group(1)), received=int(found.group(2)), rtt_avg_ms=average)


def resolve(target: str) -> str:
    """The IPv4 address of ``target`` (an address or a host name)."""
    try:
        return str(ipaddress.IPv4Address(target))
    except ValueError:
        return socket.gethostbyname(target)


def ping(address: str, count: int, timeout: float, method: Method, command: str) -> PingReport:
    """Ping by the first method that works here (foreman.md §8.7 order)."""
    if method in ("auto", "datagram", "raw"):
        try:
            return ping_socket(address, count, timeout, method)
        except PingUnavailable:
            if method != "auto":
                raise
    return ping_command(address, count, timeout, command)
