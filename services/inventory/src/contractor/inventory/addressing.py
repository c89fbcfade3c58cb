"""IP arithmetic for IPAM (§7.1): every IP is a 128-bit integer; IPv4 lives in ::ffff:0:0/96.

Columns hold 16-byte big-endian binaries, which sort numerically on both databases.
"""

from __future__ import annotations

import ipaddress

V4_BASE = 0xFFFF00000000
V4_BITS, V6_BITS = 32, 128


def parse(text: str) -> tuple[int, bool]:
    """An IP as ``(128-bit integer, is_ipv4)``; ``::ffff:a.b.c.d`` counts as IPv4.

    Raises:
        ValueError: Not an IP address.
    """
    ip = ipaddress.ip_address(text)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if isinstance(ip, ipaddress.IPv4Address):
        return V4_BASE + int(ip), True
    return int(ip), False


def show(value: int, is_ipv4: bool) -> str:
    """Dotted quad for IPv4, RFC 5952 for IPv6."""
    if is_ipv4:
        return str(ipaddress.IPv4Address(value - V4_BASE))
    return str(ipaddress.IPv6Address(value))


def pack(value: int) -> bytes:
    """16 bytes, big-endian."""
    return value.to_bytes(16, "big")


def unpack(data: bytes) -> int:
    """The inverse of :func:`pack`."""
    return int.from_bytes(data, "big")


def host_bits(prefix: int, is_ipv4: bool) -> int:
    """Bits left for hosts."""
    return (V4_BITS if is_ipv4 else V6_BITS) - prefix


def clear_host_bits(value: int, prefix: int, is_ipv4: bool) -> int:
    """The subnet address of ``value``/``prefix``."""
    bits = host_bits(prefix, is_ipv4)
    return value >> bits << bits


def bounds(prefix: int, is_ipv4: bool) -> tuple[int, int]:
    """Usable offsets: /32,/128 → [0, 0]; /31,/127 → [0, 1]; else [1, 2^bits − 2]."""
    bits = host_bits(prefix, is_ipv4)
    if bits == 0:
        return 0, 0
    if bits == 1:
        return 0, 1
    return 1, 2**bits - 2


def netmask(prefix: int, is_ipv4: bool) -> str:
    """The netmask (IPv4) or prefix mask (IPv6) as an address string."""
    width = V4_BITS if is_ipv4 else V6_BITS
    mask = (2**width - 1) ^ (2 ** (width - prefix) - 1)
    return show(mask + (V4_BASE if is_ipv4 else 0), is_ipv4)
