"""DNS record sets (§11): forward zones of site zones, reverse zones of their addresses.

Inventory computes the records; the dns service renders text, keeps serials and reloads BIND.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
from dataclasses import dataclass, field
from typing import Any

from contractor.inventory import addressing, orm
from contractor.inventory.config import ConfigRenderer
from contractor.inventory.settings import Settings
from contractor.inventory.store import address_blocks, configs
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

TYPE_ORDER = {
    t: i for i, t in enumerate(("SOA", "NS", "MX", "A", "AAAA", "CNAME", "PTR", "SRV", "TXT"))
}


@dataclass
class Zone:
    """One zone's record set as it is being built."""

    name: str
    kind: str
    governing_site: str
    records: list[tuple[str, str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Bound:
    """A static address with what its records need."""

    address: orm.Address
    block: orm.AddressBlock
    structure: orm.Structure
    label: str
    ip: int


def txt(text: str) -> str:
    """TXT data: quoted, quotes and backslashes escaped, split into 255-byte strings."""
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return " ".join(f'"{escaped[i : i + 255]}"' for i in range(0, max(len(escaped), 1), 255))


def _label_key(label: str) -> tuple[int, int, str]:
    return (0, int(label), "") if label.isdigit() else (1, 0, label.lower())


def owner_key(owner: str) -> tuple[Any, ...]:
    """Canonical owner order: ``@`` first, then by reversed labels."""
    if owner == "@":
        return (0,)
    return (1, *[_label_key(label) for label in reversed(owner.split("."))])


def ordered(records: list[tuple[str, str, str]]) -> list[dict[str, str]]:
    """Records in canonical order, exact duplicates dropped."""
    unique = sorted(set(records), key=lambda r: (owner_key(r[0]), TYPE_ORDER.get(r[1], 99), r[2]))
    return [{"name": n, "type": t, "data": d} for n, t, d in unique]


async def _statics(session: AsyncSession) -> list[Bound]:
    found: list[Bound] = []
    rows = await session.execute(
        select(orm.Address, orm.Structure)
        .join(orm.Structure, orm.Structure.id == orm.Address.structure)
        .where(orm.Address.kind == "address")
        .order_by(orm.Address.id)
    )
    for address, structure in rows.all():
        source = address
        while source.pointer is not None:
            pointed = await session.get(orm.Address, source.pointer)
            if pointed is None:
                break
            source = pointed
        if source.address_block is None or source.offset is None:
            continue
        block = await session.get(orm.AddressBlock, source.address_block)
        if block is None:
            continue
        ip = addressing.unpack(block.subnet) + addressing.unpack(source.offset)
        label = await _label(session, address, structure, block)
        found.append(Bound(address, block, structure, label, ip))
    return found


async def _label(
    session: AsyncSession, address: orm.Address, structure: orm.Structure, block: orm.AddressBlock
) -> str:
    label = (address.interface_name or "").lower().replace("_", "-")
    if address.alias_index:
        label += f"-{address.alias_index}"
    iface = await session.scalar(
        select(orm.Interface).where(
            orm.Interface.foundation == structure.foundation,
            orm.Interface.name == address.interface_name,
        )
    )
    if iface is None:
        iface = await session.scalar(
            select(orm.Interface).where(
                orm.Interface.structure == structure.id,
                orm.Interface.name == address.interface_name,
            )
        )
    if iface is not None:
        vlan = await session.scalar(
            select(orm.NetworkLink.vlan).where(
                orm.NetworkLink.network == iface.network, orm.NetworkLink.address_block == block.id
            )
        )
        if vlan:
            label = f"v{vlan}.{label}"
    return label


def _v4_zone(ip: int) -> str:
    a, b, c, _ = str(ipaddress.IPv4Address(ip - addressing.V4_BASE)).split(".")
    return f"{c}.{b}.{a}.in-addr.arpa"


def _reverse_v4(ip: int, block: orm.AddressBlock, covered: set[str]) -> tuple[str, str, str | None]:
    """(zone, owner, RFC 2317 child label or None) of an IPv4 address."""
    a, b, c, d = str(ipaddress.IPv4Address(ip - addressing.V4_BASE)).split(".")
    parent = f"{c}.{b}.{a}.in-addr.arpa"
    if parent in covered or block.prefix <= 24:
        return parent, d, None
    first = str(ipaddress.IPv4Address(addressing.unpack(block.subnet) - addressing.V4_BASE)).split(
        "."
    )[3]
    child = f"{first}/{block.prefix}"
    return f"{child}.{parent}", d, child


def _reverse_v6(ip: int, prefix: int) -> tuple[str, str]:
    nibbles = f"{ip:032x}"
    keep = prefix // 4
    zone = ".".join(reversed(nibbles[:keep])) + ".ip6.arpa"
    return zone, ".".join(reversed(nibbles[keep:]))


async def build(
    session: AsyncSession, settings: Settings, renderer: ConfigRenderer
) -> dict[str, Zone]:
    """Every zone's records (not yet ordered; SOA/NS/MX come from :func:`parameters`)."""
    site_rows = list(await session.scalars(select(orm.Site).order_by(orm.Site.name)))
    zone_of = {s.name: s.zone for s in site_rows}
    zones: dict[str, Zone] = {}
    for site in site_rows:
        if site.zone and site.zone not in zones:
            zones[site.zone] = Zone(site.zone, "forward", site.name)
    blocks = list(await session.scalars(select(orm.AddressBlock).order_by(orm.AddressBlock.site)))
    covered = {
        _v4_zone(addressing.unpack(b.subnet)) for b in blocks if b.is_ipv4 and b.prefix <= 24
    }
    rfc2317: dict[str, orm.AddressBlock] = {}
    for bound in await _statics(session):
        zone = zone_of.get(bound.structure.site)
        if zone is None or zone_of.get(bound.block.site) != zone:
            continue
        host = bound.structure.hostname
        locator = bound.structure.foundation
        fq = f"{bound.label}.{host}"
        zones[zone].records += [
            (
                fq,
                "A" if bound.block.is_ipv4 else "AAAA",
                addressing.show(bound.ip, bound.block.is_ipv4),
            ),
            (fq, "TXT", txt(locator)),
        ]
        if bound.address.is_primary:
            zones[zone].records.append((host, "CNAME", fq))
        if bound.address.pointer is not None:
            continue
        if bound.block.is_ipv4:
            rzone, owner, child = _reverse_v4(bound.ip, bound.block, covered)
            if child is not None:
                rfc2317[rzone] = bound.block
        else:
            rzone, owner = _reverse_v6(bound.ip, bound.block.prefix)
        target = zones.setdefault(rzone, Zone(rzone, "reverse", bound.block.site))
        target.records += [(owner, "PTR", f"{host}.{zone}."), (owner, "TXT", txt(f"{fq}.{zone}"))]
    for child_zone, block in rfc2317.items():
        child, parent = child_zone.split(".", 1)
        target = zones.setdefault(parent, Zone(parent, "reverse", block.site))
        low, high = address_blocks.bounds(block)
        base = addressing.unpack(block.subnet) - addressing.V4_BASE
        for offset in range(low, high + 1):
            last = str(ipaddress.IPv4Address(base + offset)).split(".")[3]
            target.records.append((last, "CNAME", f"{last}.{child}"))
        target.records.append((child, "NS", "__NS__"))
    return zones


async def parameters(
    session: AsyncSession, zone: Zone, settings: Settings, renderer: ConfigRenderer
) -> dict[str, Any]:
    """SOA, NS, MX and extra records of a zone from its governing site's rendered config."""
    site = await session.get(orm.Site, zone.governing_site)
    assert site is not None
    values = configs.render(await configs.site(session, site, settings), renderer)
    ns = [str(n) for n in values.get("dns_ns") or []]
    if not ns:
        zone.problems.append("dns_ns is not set: the zone is not served")
    email = str(values.get("dns_soa_email") or f"hostmaster@{zone.name}")
    local, _, domain = email.partition("@")
    rname = f"{local.replace('.', chr(92) + '.')}.{domain}." if domain else f"{email.rstrip('.')}."
    soa = {
        "mname": str(values.get("dns_soa_mname") or (ns[0] if ns else "")),
        "rname": rname,
        **{
            k: int(values.get(f"dns_{k}", d))
            for k, d in (
                ("ttl", 3600),
                ("refresh", 86400),
                ("retry", 7200),
                ("expire", 3600000),
                ("minimum", 3600),
            )
        },
    }
    extra: list[tuple[str, str, str]] = []
    if zone.kind == "forward":
        for mx in values.get("dns_mx") or []:
            extra.append(("@", "MX", f"{mx.get('priority')} {mx.get('target')}"))
        extra += _extra_records(zone, values.get("dns_records") or [])
    zone.records = [(o, t, d) for o, t, d in zone.records if d != "__NS__"] + [
        (o, t, n) for o, t, d in zone.records if d == "__NS__" for n in ns
    ]
    return {"soa": soa, "ns": ns, "extra": extra}


EXTRA_FIELDS = {
    "A": ("address",),
    "AAAA": ("address",),
    "CNAME": ("target",),
    "TXT": ("text",),
    "MX": ("priority", "target"),
    "SRV": ("priority", "weight", "port", "target"),
}


def _extra_data(kind: str, item: dict[str, Any]) -> str:
    parts = [item[name] for name in EXTRA_FIELDS[kind]]
    return txt(str(parts[0])) if kind == "TXT" else " ".join(str(p) for p in parts)


def _extra_records(zone: Zone, wanted: list[Any]) -> list[tuple[str, str, str]]:
    cname_owners = {o for o, t, _ in zone.records if t == "CNAME"}
    owners = {o for o, _, _ in zone.records}
    kept: list[tuple[str, str, str]] = []
    for item in wanted:
        name, kind = str(item.get("name", "@")), str(item.get("type", "")).upper()
        if kind not in EXTRA_FIELDS:
            zone.problems.append(f"record {name} {kind}: unknown type")
        elif name in cname_owners or (kind == "CNAME" and name in owners):
            zone.problems.append(f"record {name} {kind} clashes with a generated name: dropped")
        elif any(field not in item for field in EXTRA_FIELDS[kind]):
            zone.problems.append(f"record {name} {kind}: missing fields")
        else:
            kept.append((name, kind, _extra_data(kind, item)))
    return kept


def digest(body: dict[str, Any]) -> str:
    """SHA-256 over the canonical JSON of a zone's record set."""
    return hashlib.sha256(
        json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()


async def all_zones(
    session: AsyncSession, settings: Settings, renderer: ConfigRenderer
) -> dict[str, dict[str, Any]]:
    """``{zone: {zone, kind, soa, ns, records, problems}}`` for every zone."""
    result: dict[str, dict[str, Any]] = {}
    for zone in (await build(session, settings, renderer)).values():
        params = await parameters(session, zone, settings, renderer)
        records = ordered(zone.records + params["extra"])
        result[zone.name] = {
            "zone": zone.name,
            "kind": zone.kind,
            "soa": params["soa"],
            "ns": params["ns"],
            "records": records,
            "problems": zone.problems,
        }
    return dict(sorted(result.items()))


async def reverse_zones_of(session: AsyncSession, block: orm.AddressBlock, ip: int) -> list[str]:
    """The reverse zone(s) an address of ``block`` appears in (for events' ``dns_zones``)."""
    if not block.is_ipv4:
        return [_reverse_v6(ip, block.prefix)[0]]
    covering = await session.scalar(
        select(orm.AddressBlock.id).where(
            orm.AddressBlock.is_ipv4.is_(True),
            orm.AddressBlock.prefix <= 24,
            orm.AddressBlock.subnet <= addressing.pack(ip),
            orm.AddressBlock.max_address >= addressing.pack(ip),
        )
    )
    parent = _v4_zone(ip)
    zone, _, child = _reverse_v4(ip, block, {parent} if covering is not None else set())
    return [zone] if child is None else [zone, parent]
