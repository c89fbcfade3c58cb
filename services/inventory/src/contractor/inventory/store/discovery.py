"""Hardware discovery (§8): records, matching, accepted hardware and auto-enrolment.

A report is first *planned* (which foundation it matches, whether the rules pass, what an
enrolment would create) without writing anything; then the record is written, the events
announced, and the plan's action (attach or enrol) applied, all in the caller's transaction.
A report whose content, outcome and match equal the stored record's emits no event.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any, Final

from contractor.inventory import orm
from contractor.inventory.encryption import SecretBox
from contractor.inventory.errors import (
    AlreadyExists,
    JobExists,
    ResourceNotFound,
    StateConflict,
    invalid,
)
from contractor.inventory.foundation_types import REGISTRY
from contractor.inventory.store import (
    addresses,
    blueprint_graph,
    blueprints,
    complex_state,
    events,
    foundations,
    hardware_rules,
    interfaces,
    listing,
    resources,
    rows,
    sites,
    structures,
)
from contractor.servicekit.db import utcnow
from contractor.servicekit.errors import Conflict, ServiceError
from sqlalchemy import Select, func, select
from sqlalchemy.ext.asyncio import AsyncSession

RETRY_AFTER_S: Final = 30
DEFAULT_TEMPLATE: Final = "{site}-{id8}"
BMC_TYPES: Final = ("ipmi", "redfish", "amt")
LOCATOR_MAX: Final = 100
INTERFACE_NAME_MAX: Final = 20
_TEMPLATE_FIELD = re.compile(r"\{(site|serial|mac|id8)\}")
_NOT_NAME = re.compile(r"[^a-zA-Z0-9_-]")
_EDGE = "-_"


# -- pure helpers --------------------------------------------------------------------------------


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def identifier_of(hardware: dict[str, Any]) -> str:
    """SHA-256 (hex) of the DMI system fields and the baseboard serial, newline-joined (§8.2)."""
    dmi = hardware.get("dmi") or {}
    system = dmi.get("system") or {}
    board = dmi.get("baseboard") or {}
    parts = [
        _text(system.get("manufacturer")),
        _text(system.get("product")),
        _text(system.get("serial")),
        _text(system.get("uuid")),
        _text(board.get("serial")),
    ]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def summary(report: dict[str, Any]) -> dict[str, Any]:
    """``{cpu_count, memory_mib, disks, nics, product, serial}`` of a report."""
    hardware = report.get("hardware") or {}
    cpu = hardware.get("cpu") or {}
    system = (hardware.get("dmi") or {}).get("system") or {}
    count = cpu.get("count") if isinstance(cpu, dict) else None
    memory = hardware.get("memory_mib")
    return {
        "cpu_count": count if isinstance(count, int) and not isinstance(count, bool) else None,
        "memory_mib": memory if isinstance(memory, int) and not isinstance(memory, bool) else None,
        "disks": len(hardware.get("disks") or []),
        "nics": len(hardware.get("nics") or []),
        "product": system.get("product"),
        "serial": system.get("serial"),
    }


def _nics(report: dict[str, Any]) -> list[dict[str, Any]]:
    found = (report.get("hardware") or {}).get("nics") or []
    return [nic for nic in found if isinstance(nic, dict)]


def _lldp_pairs(nic: dict[str, Any]) -> list[tuple[str, str]]:
    """(switch lower-cased, port) pairs a NIC's LLDP neighbour can be named by."""
    lldp = nic.get("lldp") or {}
    port = lldp.get("port_id")
    if not isinstance(port, str) or not port:
        return []
    switches = [lldp.get("system_name"), lldp.get("chassis_id")]
    return [(s.lower(), port) for s in switches if isinstance(s, str) and s]


def link_matches(link_name: str | None, nic: dict[str, Any]) -> bool:
    """Whether ``<switch>/<port>`` names the NIC's LLDP neighbour (switch case-insensitive)."""
    if not link_name or "/" not in link_name:
        return False
    switch, port = link_name.split("/", 1)
    return (switch.lower(), port) in _lldp_pairs(nic)


def sanitize(text: str, limit: int, *, alnum_end: bool = False) -> str:
    """Characters outside the name pattern → ``-``, no leading ``-``/``_``, cut to ``limit``.

    ``alnum_end`` also strips trailing ``-``/``_`` (the interface name pattern needs it).
    """
    cleaned = _NOT_NAME.sub("-", text).lstrip(_EDGE)[:limit]
    return cleaned.rstrip(_EDGE) if alnum_end else cleaned


def render_locator(template: str, site: str, report: dict[str, Any], identifier: str) -> str:
    """The locator a template gives (§8.5), sanitised and cut to 100 characters."""
    system = ((report.get("hardware") or {}).get("dmi") or {}).get("system") or {}
    values = {
        "site": site,
        "serial": _text(system.get("serial")),
        "mac": (report.get("boot_mac") or "").replace(":", ""),
        "id8": identifier[:8],
    }
    rendered = sanitize(_TEMPLATE_FIELD.sub(lambda m: values[m[1]], template), LOCATOR_MAX)
    if not rendered and template != DEFAULT_TEMPLATE:
        return render_locator(DEFAULT_TEMPLATE, site, report, identifier)
    return rendered


def with_suffix(base: str, n: int) -> str:
    """``base`` with ``-n`` appended, cut so that the whole stays within 100 characters."""
    suffix = f"-{n}"
    return base[: LOCATOR_MAX - len(suffix)] + suffix


# -- records -------------------------------------------------------------------------------------


async def get(session: AsyncSession, identifier: str, *, lock: bool = False) -> orm.DiscoveryRecord:
    """Load one discovery record.

    Raises:
        ResourceNotFound: No such record.
    """
    stmt = select(orm.DiscoveryRecord).where(orm.DiscoveryRecord.identifier == identifier)
    if lock:
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    found = await session.scalar(stmt)
    if found is None:
        raise ResourceNotFound("discovery record", identifier)
    return found


def filtered(*, sites: list[str] | None = None, status: str | None = None) -> Select[Any]:
    """The list query with its filters."""
    stmt = select(orm.DiscoveryRecord)
    if sites is not None:
        stmt = stmt.where(orm.DiscoveryRecord.site.in_(sites))
    if status is not None:
        stmt = stmt.where(orm.DiscoveryRecord.status == status)
    return stmt


async def list_page(
    session: AsyncSession, stmt: Select[Any], *, limit: int, cursor: str | None
) -> tuple[list[orm.DiscoveryRecord], str | None]:
    """One page of records ordered by identifier."""
    return await listing.page(
        session, stmt, orm.DiscoveryRecord.identifier, limit=limit, cursor=cursor
    )


async def delete(session: AsyncSession, record: orm.DiscoveryRecord, expected: int | None) -> None:
    """Forget a record (the accepted hardware of a foundation stays)."""
    rows.check_version(record, expected)
    await session.delete(record)
    await session.flush()


# -- accepted hardware ---------------------------------------------------------------------------


async def accepted(session: AsyncSession, locator: str) -> orm.FoundationHardware | None:
    """The accepted hardware of a foundation, if any."""
    return await session.get(orm.FoundationHardware, locator)


def hardware_summary(row: orm.FoundationHardware) -> dict[str, Any]:
    """The ``hardware`` member of a foundation's representation."""
    return {
        "identifier": row.identifier,
        "matched_by": row.matched_by,
        "accepted_at": row.accepted_at,
        **summary(row.report),
    }


async def summaries(session: AsyncSession, locators: list[str]) -> dict[str, dict[str, Any]]:
    """The hardware summary of each of ``locators`` that has accepted hardware."""
    if not locators:
        return {}
    found = await session.scalars(
        select(orm.FoundationHardware).where(orm.FoundationHardware.foundation.in_(locators))
    )
    return {row.foundation: hardware_summary(row) for row in found}


# -- site policy ---------------------------------------------------------------------------------


async def effective_policy(session: AsyncSession, site_name: str) -> dict[str, Any]:
    """The site's ``discovery`` object, inherited from the nearest ancestor that has one."""
    current: str | None = site_name
    seen: set[str] = set()
    while current is not None and current not in seen:
        seen.add(current)
        site = await session.get(orm.Site, current)
        if site is None:
            break
        if site.discovery is not None:
            return dict(site.discovery)
        current = site.parent
    return {"policy": "hold"}


# -- planning ------------------------------------------------------------------------------------


@dataclass
class Enrolment:
    """What auto-enrolment (or an operator's enrol) creates."""

    locator: str
    site: str
    blueprint: str
    type: str
    serial: str | None
    attributes: dict[str, Any]
    ports: list[dict[str, Any]]
    messages: list[str] = field(default_factory=list)


@dataclass
class Plan:
    """The outcome of a report before anything is written."""

    status: str
    locator: str | None = None
    matched_by: str | None = None
    messages: list[str] = field(default_factory=list)
    foundation: orm.Foundation | None = None
    macs: dict[int, str] = field(default_factory=dict)
    enrolment: Enrolment | None = None
    repeat: bool = False

    @property
    def attaches(self) -> bool:
        """Whether applying the plan attaches hardware to an existing foundation."""
        return self.status == "located" and self.foundation is not None and not self.repeat


async def _distinct(session: AsyncSession, stmt: Select[Any]) -> list[str]:
    return sorted({str(v) for v in (await session.scalars(stmt)).all() if v is not None})


async def _by_config_uuid(
    session: AsyncSession, report: dict[str, Any], site_names: list[str]
) -> list[str]:
    uuid = report.get("config_uuid")
    if not uuid:
        return []
    return await _distinct(
        session,
        select(orm.Structure.foundation)
        .join(orm.Foundation, orm.Foundation.locator == orm.Structure.foundation)
        .where(orm.Structure.config_uuid == uuid, orm.Foundation.site.in_(site_names)),
    )


async def _by_mac(
    session: AsyncSession, report: dict[str, Any], site_names: list[str]
) -> list[str]:
    macs = sorted({nic["mac"] for nic in _nics(report) if nic.get("mac")})
    if not macs:
        return []
    return await _distinct(
        session,
        select(orm.Interface.foundation)
        .join(orm.Foundation, orm.Foundation.locator == orm.Interface.foundation)
        .where(orm.Interface.mac.in_(macs), orm.Foundation.site.in_(site_names)),
    )


async def _by_lldp(
    session: AsyncSession, report: dict[str, Any], site_names: list[str]
) -> list[str]:
    nics = [nic for nic in _nics(report) if _lldp_pairs(nic)]
    names = sorted({f"{s}/{p}".lower() for nic in nics for s, p in _lldp_pairs(nic)})
    if not names:
        return []
    found = await session.execute(
        select(orm.Interface.foundation, orm.Interface.link_name)
        .join(orm.Foundation, orm.Foundation.locator == orm.Interface.foundation)
        .where(func.lower(orm.Interface.link_name).in_(names), orm.Foundation.site.in_(site_names))
    )
    return sorted(
        {str(loc) for loc, link in found.all() if any(link_matches(link, n) for n in nics)}
    )


async def _by_serial(
    session: AsyncSession, report: dict[str, Any], site_names: list[str]
) -> list[str]:
    dmi = (report.get("hardware") or {}).get("dmi") or {}
    serials = sorted(
        {
            s
            for s in (
                (dmi.get("system") or {}).get("serial"),
                (dmi.get("baseboard") or {}).get("serial"),
            )
            if isinstance(s, str) and s
        }
    )
    if not serials:
        return []
    return await _distinct(
        session,
        select(orm.Foundation.locator).where(
            orm.Foundation.serial.in_(serials), orm.Foundation.site.in_(site_names)
        ),
    )


async def _by_ip(session: AsyncSession, report: dict[str, Any], site_names: list[str]) -> list[str]:
    ip = report.get("ip_address")
    if not ip:
        return []
    try:
        found = await addresses.find_by_ip(session, ip, None)
    except ServiceError:
        return []  # not an address inventory can place: nothing to match
    ids = [a.structure for a in found if a.kind == "address" and a.structure is not None]
    if not ids:
        return []
    return await _distinct(
        session,
        select(orm.Structure.foundation)
        .join(orm.Foundation, orm.Foundation.locator == orm.Structure.foundation)
        .where(orm.Structure.id.in_(ids), orm.Foundation.site.in_(site_names)),
    )


STEPS: Final = (
    ("config_uuid", _by_config_uuid),
    ("mac", _by_mac),
    ("lldp", _by_lldp),
    ("serial", _by_serial),
    ("ip", _by_ip),
)


async def match(
    session: AsyncSession, report: dict[str, Any], site_names: list[str]
) -> tuple[str | None, list[str]]:
    """The first decisive step (§8.4 a–e) and the foundations it yields (none: ``(None, [])``)."""
    for name, step in STEPS:
        found = await step(session, report, site_names)
        if found:
            return name, found
    return None, []


async def system_block(session: AsyncSession, foundation: orm.Foundation) -> str | None:
    """Why a system transition may not move the foundation now (§5.2), else ``None``."""
    if foundation.job_id is not None:
        if foundation.job_kind != "create":
            return f"job {foundation.job_id} ({foundation.job_kind}) holds foundation"
        return None
    held = await session.scalar(
        select(orm.Structure.job_id).where(
            orm.Structure.foundation == foundation.locator, orm.Structure.job_id.is_not(None)
        )
    )
    if held is not None:
        return f"job {held} holds the structure on foundation"
    return None


async def _fill_macs(
    session: AsyncSession, foundation: orm.Foundation, report: dict[str, Any]
) -> tuple[dict[int, str], list[str]]:
    """MACs for real interfaces without one (§8.4), and a message for each one skipped."""
    nics = [nic for nic in _nics(report) if nic.get("mac")]
    chosen: dict[int, str] = {}
    messages: list[str] = []
    taken: set[str] = set()
    for iface in await interfaces.of_foundation(session, foundation.locator):
        if iface.mac is not None:
            continue
        nic = next((n for n in nics if n.get("name") == iface.physical_location), None)
        if nic is None:
            nic = next((n for n in nics if link_matches(iface.link_name, n)), None)
        if nic is None:
            continue
        mac = str(nic["mac"])
        user = await session.scalar(select(orm.Interface.id).where(orm.Interface.mac == mac))
        if user is not None or mac in taken:
            where = f"interface {user}" if user is not None else "another port"
            messages.append(
                f"MAC {mac} of NIC {nic.get('name')} is used by {where}; "
                f"{iface.physical_location} left without a MAC"
            )
            continue
        taken.add(mac)
        chosen[iface.id] = mac
    return chosen, messages


async def plan_for(
    session: AsyncSession,
    foundation: orm.Foundation,
    identifier: str,
    report: dict[str, Any],
    matched_by: str,
) -> Plan:
    """Check a matched (or assigned) foundation: state, rules, whether it may be located."""
    locator = foundation.locator
    if foundation.state != "planned":
        hardware = await accepted(session, locator)
        if foundation.state == "located" and hardware and hardware.identifier == identifier:
            return Plan("located", locator, hardware.matched_by, foundation=foundation, repeat=True)
        held = "other hardware" if hardware is not None else "no hardware"
        if foundation.state == "built":
            reason = f"foundation {locator} is built"
        else:
            reason = f"foundation {locator} is located with {held}"
        return Plan("conflict", locator, matched_by, [reason], foundation=foundation)
    graph = await blueprints.graph(session)
    rules = blueprint_graph.effective_hardware_rules(graph, foundation.blueprint)
    failed = hardware_rules.evaluate(report, rules)
    if failed:
        return Plan("rejected", locator, matched_by, failed, foundation=foundation)
    blocked = await system_block(session, foundation)
    if blocked is not None:
        return Plan(
            "conflict", locator, matched_by, [f"{blocked} {locator}"], foundation=foundation
        )
    macs, messages = await _fill_macs(session, foundation, report)
    return Plan("located", locator, matched_by, messages, foundation=foundation, macs=macs)


async def plan(
    session: AsyncSession, identifier: str, report: dict[str, Any], box: SecretBox
) -> Plan:
    """Match (§8.4) or enrol (§8.5) a report, without writing anything."""
    site_names = await sites.descendants(session, str(report["site"]))
    step, found = await match(session, report, site_names)
    if step is not None and len(found) > 1:
        return Plan("conflict", None, step, [f"{step} matches {', '.join(found)}"])
    if step is not None:
        foundation = await foundations.get(session, found[0], lock=True)
        return await plan_for(session, foundation, identifier, report, step)
    policy = await effective_policy(session, str(report["site"]))
    if policy.get("policy") != "enroll":
        return Plan("unmatched", messages=["no foundation matches"])
    return await _plan_enrolment(session, identifier, report, box, policy)


async def _plan_enrolment(
    session: AsyncSession,
    identifier: str,
    report: dict[str, Any],
    box: SecretBox,
    policy: dict[str, Any],
) -> Plan:
    graph = await blueprints.graph(session)
    fitting = [
        (len(rules), bp.name)
        for bp in graph.values()
        if bp.kind == "foundation"
        and (rules := blueprint_graph.effective_hardware_rules(graph, bp.name))
        and not hardware_rules.evaluate(report, rules)
    ]
    if not fitting:
        return Plan("unmatched", messages=["no blueprint matches"])
    blueprint = graph[min(fitting, key=lambda f: (-f[0], f[1]))[1]]
    try:
        enrolment = await enrolment_for(session, identifier, report, box, policy, blueprint, None)
    except ServiceError as exc:
        return Plan("unmatched", messages=[str(exc.detail)])
    return Plan("located", enrolment.locator, "enrolled", enrolment.messages, enrolment=enrolment)


def _bmc_attributes(type_name: str, report: dict[str, Any], user: str, password: str) -> Any:
    address = ((report.get("hardware") or {}).get("bmc") or {}).get("address")
    return {
        f"{type_name}_ip_address": address,
        f"{type_name}_username": user,
        f"{type_name}_password": password,
    }


def choose_type(
    blueprint: orm.Blueprint, report: dict[str, Any], credentials: tuple[str, str] | None
) -> str | None:
    """The foundation type of an enrolment (§8.5), or ``None`` if none fits."""
    bmc = ((report.get("hardware") or {}).get("bmc") or {}).get("address")
    if bmc and credentials is not None:
        for name in blueprint.foundation_types:
            if name in BMC_TYPES:
                return str(name)
    plain = "sim" if report.get("source") == "sim" else "manual"
    return plain if plain in blueprint.foundation_types else None


def _credentials(policy: dict[str, Any], box: SecretBox) -> tuple[str, str] | None:
    user = policy.get("bmc_username")
    password = box.open(policy.get("bmc_password_sealed")).get("bmc_password")
    return (str(user), str(password)) if user and password else None


async def _free_locator(session: AsyncSession, base: str) -> str:
    taken = set(
        (
            await session.scalars(
                select(orm.Foundation.locator).where(
                    orm.Foundation.locator.like(f"{base[: LOCATOR_MAX - 8]}%")
                )
            )
        ).all()
    )
    candidate, n = base, 1
    while candidate in taken:
        n += 1
        candidate = with_suffix(base, n)
    return candidate


async def _network_id(session: AsyncSession, site: str, name: Any) -> int:
    if not name:
        raise Conflict(f"site {site} has no discovery.network")
    found = await session.scalar(
        select(orm.Network.id).where(orm.Network.site == site, orm.Network.name == str(name))
    )
    if found is None:
        raise Conflict(f"discovery.network {name} does not exist in site {site}")
    return int(found)


def _ports(report: dict[str, Any], network: int) -> list[dict[str, Any]]:
    """One real interface per NIC (§8.5): names made valid and unique, LLDP as link name."""
    ports: list[dict[str, Any]] = []
    names: set[str] = set()
    for index, nic in enumerate(_nics(report)):
        base = sanitize(_text(nic.get("name")), INTERFACE_NAME_MAX, alnum_end=True)
        base = base or f"nic{index}"
        name, n = base, 1
        while name in names:
            n += 1
            name = base[: INTERFACE_NAME_MAX - len(f"-{n}")] + f"-{n}"
        names.add(name)
        lldp = nic.get("lldp") or {}
        switch = lldp.get("system_name") or lldp.get("chassis_id")
        port = lldp.get("port_id")
        mac = nic.get("mac")
        ports.append(
            {
                "physical_location": name,
                "name": name,
                "network": network,
                "mac": mac,
                "is_provisioning": bool(mac) and mac == report.get("boot_mac"),
                "link_name": f"{switch}/{port}"[:100] if switch and port else None,
                "pxe": None,
            }
        )
    return ports


async def enrolment_for(
    session: AsyncSession,
    identifier: str,
    report: dict[str, Any],
    box: SecretBox,
    policy: dict[str, Any],
    blueprint: orm.Blueprint,
    type_name: str | None,
    locator: str | None = None,
) -> Enrolment:
    """What enrolling the report on ``blueprint`` creates (§8.5).

    Raises:
        ServiceError: No type fits, the network is missing, or a value does not validate.
    """
    site = str(report["site"])
    credentials = _credentials(policy, box)
    chosen = type_name or choose_type(blueprint, report, credentials)
    if chosen is None:
        raise invalid(["body", "type"], f"blueprint {blueprint.name} allows no usable type")
    attributes: dict[str, Any] = {}
    if chosen in BMC_TYPES:
        user, password = credentials or ("", "")
        attributes = _bmc_attributes(chosen, report, user, password)
    ftype = foundations.foundation_type(chosen)
    foundations.split_attributes(ftype, attributes)  # 422 now rather than a half enrolment
    network = await _network_id(session, site, policy.get("network"))
    if locator is None:
        template = str(policy.get("locator_template") or DEFAULT_TEMPLATE)
        locator = await _free_locator(session, render_locator(template, site, report, identifier))
    serial = _text(
        (((report.get("hardware") or {}).get("dmi") or {}).get("system") or {}).get("serial")
    )
    if serial and await session.scalar(
        select(orm.Foundation.locator).where(orm.Foundation.serial == serial)
    ):
        serial = ""  # held by a foundation outside this site tree: enrol without it
    ports = _ports(report, network)
    messages: list[str] = []
    used = set(
        (
            await session.scalars(
                select(orm.Interface.mac).where(
                    orm.Interface.mac.in_([p["mac"] for p in ports if p["mac"]])
                )
            )
        ).all()
    )
    for port in ports:
        if port["mac"] in used:
            messages.append(
                f"MAC {port['mac']} is used by another interface; "
                f"{port['physical_location']} left without a MAC"
            )
            port["mac"], port["is_provisioning"] = None, False
    return Enrolment(
        locator=locator,
        site=site,
        blueprint=blueprint.name,
        type=chosen,
        serial=serial or None,
        attributes=attributes,
        ports=ports,
        messages=messages,
    )


# -- applying ------------------------------------------------------------------------------------


async def _store_hardware(
    session: AsyncSession,
    foundation: orm.Foundation,
    identifier: str,
    matched_by: str,
    report: dict[str, Any],
) -> None:
    """Make ``report`` the foundation's accepted hardware and refresh its ``resources``."""
    row = await accepted(session, foundation.locator)
    if row is None:
        row = orm.FoundationHardware(foundation=foundation.locator)
        session.add(row)
    row.identifier, row.matched_by = identifier, matched_by
    row.report, row.accepted_at = report, utcnow()
    await session.flush()
    await resources.refresh(session, foundation)


async def _interface_event(
    session: AsyncSession,
    type: str,
    iface: orm.Interface,
    site: str,
    changed: list[str],
    actor: dict[str, Any],
) -> None:
    zone = (await structures.zones(session, [site])).get(site)
    await events.append(
        session,
        type,
        actor=actor,
        subject=("interface", iface.id),
        site=site,
        data=interfaces.event_data(iface, changed, [zone] if zone else []),
    )


async def _hardware_event(
    session: AsyncSession,
    type: str,
    identifier: str,
    site: str,
    outcome: Plan,
    actor: dict[str, Any],
) -> None:
    await events.append(
        session,
        type,
        actor=actor,
        subject=("discovery", identifier),
        site=site,
        data={
            "identifier": identifier,
            "locator": outcome.locator,
            "matched_by": outcome.matched_by,
            "messages": list(outcome.messages),
        },
    )


async def _attach(
    session: AsyncSession,
    outcome: Plan,
    identifier: str,
    report: dict[str, Any],
    site: str,
    actor: dict[str, Any],
    reason: str,
) -> None:
    foundation = outcome.foundation
    assert foundation is not None and outcome.matched_by is not None
    await _store_hardware(session, foundation, identifier, outcome.matched_by, report)
    for iface in await interfaces.of_foundation(session, foundation.locator):
        updates: dict[str, Any] = {"pxe": None}
        if iface.id in outcome.macs:
            updates["mac"] = outcome.macs[iface.id]
        changed = rows.apply_changes(iface, updates)
        if changed:
            await session.flush()
            await _interface_event(
                session, "interface.updated", iface, foundation.site, changed, actor
            )
    rows.touch(foundation)
    await _hardware_event(session, "hardware.attached", identifier, site, outcome, actor)
    located = await complex_state.locate_by_system(session, foundation, reason)
    assert located, "system_block was checked when planning"


async def _enrol(
    session: AsyncSession,
    outcome: Plan,
    identifier: str,
    report: dict[str, Any],
    box: SecretBox,
    actor: dict[str, Any],
) -> orm.Foundation:
    enrolment = outcome.enrolment
    assert enrolment is not None
    values = {
        "locator": enrolment.locator,
        "site": enrolment.site,
        "blueprint": enrolment.blueprint,
        "type": enrolment.type,
        "serial": enrolment.serial,
        "attributes": enrolment.attributes,
    }
    foundation = await foundations.create(session, values, box)
    await events.append(
        session,
        "foundation.created",
        actor=actor,
        subject=("foundation", foundation.locator),
        site=foundation.site,
        data=foundations.event_data(
            foundation, sorted(k for k, v in values.items() if v not in (None, {}))
        ),
    )
    for port in enrolment.ports:
        iface = await interfaces.create_real(session, foundation, port)
        changed = sorted(k for k, v in port.items() if v not in (None, False))
        await _interface_event(session, "interface.created", iface, foundation.site, changed, actor)
    await _store_hardware(session, foundation, identifier, "enrolled", report)
    await _hardware_event(session, "hardware.enrolled", identifier, enrolment.site, outcome, actor)
    located = await complex_state.locate_by_system(session, foundation, "enrolled")
    assert located, "a new foundation holds no slot"
    return foundation


async def apply(
    session: AsyncSession,
    outcome: Plan,
    identifier: str,
    report: dict[str, Any],
    box: SecretBox,
    actor: dict[str, Any],
    *,
    announce: bool,
) -> None:
    """Carry out a plan: attach or enrol, and announce a rejection."""
    site = str(report["site"])
    if outcome.enrolment is not None:
        await _enrol(session, outcome, identifier, report, box, actor)
    elif outcome.attaches:
        reason = "discovery"
        await _attach(session, outcome, identifier, report, site, actor, reason)
    elif outcome.status == "rejected" and announce:
        await _hardware_event(session, "hardware.rejected", identifier, site, outcome, actor)
    await session.flush()


def _record_values(report: dict[str, Any], outcome: Plan) -> dict[str, Any]:
    return {
        "site": report["site"],
        "ip_address": report.get("ip_address"),
        "boot_mac": report.get("boot_mac"),
        "source": report.get("source") or "image",
        "report": report,
        "status": outcome.status,
        "locator": outcome.locator,
        "matched_by": outcome.matched_by,
        "messages": list(outcome.messages),
    }


async def save_record(
    session: AsyncSession,
    record: orm.DiscoveryRecord | None,
    identifier: str,
    report: dict[str, Any],
    outcome: Plan,
) -> tuple[orm.DiscoveryRecord, bool]:
    """Write the record; return it and whether anything but ``reported_at`` changed."""
    values = _record_values(report, outcome)
    now = utcnow()
    if record is None:
        record = orm.DiscoveryRecord(identifier=identifier, reported_at=now, **values)
        rows.stamp_new(record)
        session.add(record)
        await session.flush()
        return record, True
    record.reported_at = now
    changed = rows.apply_changes(record, values)
    await session.flush()
    return record, bool(changed)


async def receive(
    session: AsyncSession,
    identifier: str,
    report: dict[str, Any],
    box: SecretBox,
    actor: dict[str, Any],
) -> orm.DiscoveryRecord:
    """Record a report, match or enrol it, and apply the outcome (§8.1 step 3–4)."""
    record = await session.scalar(
        select(orm.DiscoveryRecord)
        .where(orm.DiscoveryRecord.identifier == identifier)
        .with_for_update()
    )
    outcome = await plan(session, identifier, report, box)
    record, changed = await save_record(session, record, identifier, report, outcome)
    acting = outcome.enrolment is not None or outcome.attaches
    if changed or acting:
        await events.append(
            session,
            "hardware.reported",
            actor=actor,
            subject=("discovery", identifier),
            site=record.site,
            data={
                "identifier": identifier,
                "site": record.site,
                "ip_address": record.ip_address,
                "status": record.status,
                "locator": record.locator,
                "matched_by": record.matched_by,
                "summary": summary(report),
            },
        )
    await apply(session, outcome, identifier, report, box, actor, announce=changed or acting)
    return record


# -- operator actions ----------------------------------------------------------------------------


async def _check_not_located(session: AsyncSession, record: orm.DiscoveryRecord) -> None:
    if record.status != "located" or record.locator is None:
        return
    hardware = await accepted(session, record.locator)
    if hardware is not None and hardware.identifier == record.identifier:
        raise Conflict(f"the report is already the hardware of foundation {record.locator}")


async def _finish_action(
    session: AsyncSession,
    record: orm.DiscoveryRecord,
    outcome: Plan,
    box: SecretBox,
    actor: dict[str, Any],
    reason: str,
) -> orm.DiscoveryRecord:
    report = dict(record.report)
    record, _ = await save_record(session, record, record.identifier, report, outcome)
    if outcome.enrolment is not None:
        await _enrol(session, outcome, record.identifier, report, box, actor)
    elif outcome.attaches:
        await _attach(session, outcome, record.identifier, report, record.site, actor, reason)
    elif outcome.status == "rejected":
        await _hardware_event(
            session, "hardware.rejected", record.identifier, record.site, outcome, actor
        )
    await session.flush()
    return record


async def assign(
    session: AsyncSession,
    record: orm.DiscoveryRecord,
    locator: str,
    box: SecretBox,
    actor: dict[str, Any],
) -> orm.DiscoveryRecord:
    """Attach a record's report to a planned foundation (``matched_by`` = ``assigned``).

    Raises:
        FieldError: No such foundation (422 naming ``locator``).
        StateConflict: The foundation is not ``planned``.
        JobExists: A job slot forbids locating it now.
        Conflict: The report is already some foundation's hardware.
    """
    await _check_not_located(session, record)
    try:
        foundation = await foundations.get(session, locator, lock=True)
    except ResourceNotFound as exc:
        raise invalid(["body", "locator"], f"foundation {locator} does not exist") from exc
    if foundation.state != "planned":
        raise StateConflict("foundation", locator, foundation.state)
    blocked = await system_block(session, foundation)
    if blocked is not None:
        raise JobExists(f"{blocked} {locator}", job_id=foundation.job_id)
    outcome = await plan_for(session, foundation, record.identifier, record.report, "assigned")
    return await _finish_action(session, record, outcome, box, actor, "discovery")


async def enroll(
    session: AsyncSession,
    record: orm.DiscoveryRecord,
    values: dict[str, Any],
    box: SecretBox,
    actor: dict[str, Any],
) -> orm.DiscoveryRecord:
    """Create a foundation from a record's report on a named blueprint (the rules still run).

    Raises:
        FieldError: Unknown blueprint or type, a type the blueprint does not allow, no usable
            type, or no ``discovery.network`` for the site.
        AlreadyExists: The locator is taken.
        Conflict: The report is already some foundation's hardware.
    """
    await _check_not_located(session, record)
    blueprint = await session.get(orm.Blueprint, values["blueprint"])
    if blueprint is None or blueprint.kind != "foundation":
        raise invalid(
            ["body", "blueprint"], f"foundation blueprint {values['blueprint']} does not exist"
        )
    type_name = values.get("type")
    if type_name is not None:
        if type_name not in REGISTRY:
            raise invalid(["body", "type"], f"no foundation type {type_name}")
        if type_name not in blueprint.foundation_types:
            raise invalid(
                ["body", "type"],
                f"blueprint {blueprint.name} does not allow type {type_name}",
                "type-not-allowed",
            )
    locator = values.get("locator")
    if locator is not None and await session.get(orm.Foundation, locator) is not None:
        raise AlreadyExists("foundation", locator, field="locator")
    report = dict(record.report)
    graph = await blueprints.graph(session)
    failed = hardware_rules.evaluate(
        report, blueprint_graph.effective_hardware_rules(graph, blueprint.name)
    )
    if failed:
        outcome = Plan("rejected", None, "enrolled", failed)
        return await _finish_action(session, record, outcome, box, actor, "enrolled")
    policy = await effective_policy(session, record.site)
    try:
        enrolment = await enrolment_for(
            session, record.identifier, report, box, policy, blueprint, type_name, locator
        )
    except Conflict as exc:  # no discovery network: the operator must configure the site
        raise invalid(["body"], str(exc.detail)) from exc
    except ServiceError as exc:
        if type_name is not None and getattr(exc, "status", None) == 422:
            raise invalid(["body", "type"], f"type {type_name}: {exc.detail}") from exc
        raise
    outcome = Plan(
        "located", enrolment.locator, "enrolled", enrolment.messages, enrolment=enrolment
    )
    return await _finish_action(session, record, outcome, box, actor, "enrolled")
