"""Calls of a running job (§12.4): ``map_ports`` / ``unmap_ports``, idempotent by call id.

A docker container reaches the outside through host ports of its complex's host. ``map_ports``
gives each container port of the spec a host port that is unique within the docker complex
(from config ``docker_port_range``, default 30000–32767), gives the container a pointer address
(§7.4) to the host's primary address, and writes ``docker_port_map`` and ``docker_check_port``
into the structure's config values. ``unmap_ports`` frees the ports and the pointer address and
removes those keys. Like write batches, a call is checked against the job's slot, applied in
the request's transaction with its events, and its answer is kept so that a repeat of the
``call_id`` answers the same.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from contractor.inventory import addressing, orm
from contractor.inventory.errors import (
    AlreadyExists,
    JobActive,
    JobMismatch,
    NoFreePort,
    NotApplicable,
    invalid,
)
from contractor.inventory.foundation_types import COMPLEX_TYPES
from contractor.inventory.schemas.job_calls import JobCall
from contractor.inventory.settings import Settings
from contractor.inventory.store import (
    cascades,
    configs,
    events,
    interfaces,
    job_writes,
    rows,
    structures,
)
from contractor.servicekit.db import utcnow
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

Actor = dict[str, Any]
DEFAULT_PORT_RANGE = (30000, 32767)
PORT_MAP_KEY = "docker_port_map"
CHECK_PORT_KEY = "docker_check_port"
RANGE_KEY = "docker_port_range"
_PORT = re.compile(r"^([0-9]{1,5})(?:/(tcp|udp|sctp))?$")


async def call(
    session: AsyncSession, body: JobCall, *, actor: Actor, settings: Settings
) -> tuple[dict[str, Any], bool]:
    """Make a call; return the answer and whether it repeats an earlier call.

    Raises:
        AlreadyExists: The ``call_id`` was used by another job or for another op (409).
        JobMismatch: The job holds no foundation or structure (409).
        NotApplicable: Not a structure on a docker foundation, or no host address (409).
        NoFreePort: The complex's port range is exhausted (409); nothing changes.
        FieldError: Bad ``params`` or ``docker_port_range`` (422 naming it).
    """
    done = await session.get(orm.JobCall, body.call_id)
    if done is not None:
        if done.job_id != body.job_id or done.op != body.op:
            raise AlreadyExists("job call", body.call_id, "call_id")
        return done.answer, True
    target = await job_writes.held_target(session, body.job_id)
    if target is None:
        raise JobMismatch(f"job {body.job_id} holds no target")
    structure, complex_ = await _container(session, target, body.job_id)
    raced = await session.scalar(
        select(orm.JobCall)
        .where(orm.JobCall.call_id == body.call_id)
        .execution_options(populate_existing=True)
    )
    if raced is not None:  # the same call, made meanwhile while we waited for the locks
        return await call(session, body, actor=actor, settings=settings)
    if body.op == "map_ports":
        ports = container_ports(body.params)
        answer = await _map(session, structure, complex_, ports, actor, settings)
    else:
        if body.params:
            key = sorted(body.params)[0]
            raise invalid(["body", "params", key], "unmap_ports takes no parameters")
        answer = await _unmap(session, structure, actor)
    answer = {"job_id": body.job_id, "call_id": body.call_id, "op": body.op, **answer}
    session.add(
        orm.JobCall(
            call_id=body.call_id,
            job_id=body.job_id,
            op=body.op,
            answer=answer,
            created_at=utcnow(),
        )
    )
    await session.flush()
    return answer, False


def container_ports(params: dict[str, Any]) -> list[str]:
    """The container ports of ``params.container_spec.ports`` as ``<port>/<protocol>``.

    ``80`` and ``"80"`` mean ``80/tcp``; duplicates are dropped, order is kept.

    Raises:
        FieldError: 422 naming the bad parameter or list item.
    """
    unknown = sorted(set(params) - {"container_spec"})
    if unknown:
        raise invalid(["body", "params", unknown[0]], "map_ports takes only container_spec")
    spec = params.get("container_spec")
    if not isinstance(spec, dict):
        raise invalid(
            ["body", "params", "container_spec"], "map_ports needs container_spec, an object"
        )
    given = spec.get("ports") or []
    if not isinstance(given, list):
        raise invalid(["body", "params", "container_spec", "ports"], "ports must be a list")
    found: list[str] = []
    for index, item in enumerate(given):
        text = str(item) if isinstance(item, int) and not isinstance(item, bool) else item
        match = _PORT.match(text) if isinstance(text, str) else None
        if match is None or not 1 <= int(match[1]) <= 65535:
            raise invalid(
                ["body", "params", "container_spec", "ports", index],
                "a port is 1–65535, optionally with /tcp, /udp or /sctp",
            )
        port = f"{int(match[1])}/{match[2] or 'tcp'}"
        if port not in found:
            found.append(port)
    return found


def port_range(config: dict[str, Any]) -> tuple[int, int]:
    """The merged config's ``docker_port_range`` (``[first, last]`` or ``"first-last"``).

    Raises:
        FieldError: 422 ``invalid-config`` naming ``docker_port_range``.
    """
    value = config.get(RANGE_KEY)
    if value is None:
        return DEFAULT_PORT_RANGE
    parts: list[Any] = value.split("-") if isinstance(value, str) else value
    if isinstance(parts, list) and len(parts) == 2:
        numbers = [int(p) if isinstance(p, str) and p.strip().isdigit() else p for p in parts]
        if all(isinstance(n, int) and not isinstance(n, bool) for n in numbers):
            first, last = numbers
            if 1 <= first <= last <= 65535:
                return first, last
    raise invalid(
        ["config", RANGE_KEY],
        f"{RANGE_KEY} must be [first, last] or 'first-last' with 1 <= first <= last <= 65535",
        "invalid-config",
    )


async def _container(
    session: AsyncSession, target: cascades.Target, job_id: int
) -> tuple[orm.Structure, orm.Complex]:
    """The structure on a docker foundation the job works on, and its complex (both locked)."""
    if isinstance(target, orm.Foundation):
        sid = await session.scalar(
            select(orm.Structure.id).where(orm.Structure.foundation == target.locator)
        )
        if sid is None:
            raise NotApplicable(f"no structure stands on foundation {target.locator}")
    elif isinstance(target, orm.Structure):
        sid = target.id
    else:
        raise NotApplicable("ports are mapped for a foundation or structure job")
    structure = await structures.get(session, sid, lock=True)
    if structure.job_id is not None and structure.job_id != job_id:
        raise JobActive(f"job {structure.job_id} holds structure {structure.id}")
    foundation = await session.get(orm.Foundation, structure.foundation)
    if foundation is None or foundation.type != "docker" or foundation.complex is None:
        kind = foundation.type if foundation is not None else "missing"
        raise NotApplicable(
            f"structure {structure.id} stands on a {kind} foundation; "
            "ports are mapped for docker containers only"
        )
    # Locking the complex row serialises allocations within the complex (PostgreSQL;
    # SQLite write transactions are serial already).
    complex_ = await session.scalar(
        select(orm.Complex)
        .where(orm.Complex.name == foundation.complex)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if complex_ is None:
        raise NotApplicable(f"complex {foundation.complex} does not exist")
    return structure, complex_


async def _host_primary(session: AsyncSession, complex_: orm.Complex) -> orm.Address:
    """The primary address of the complex's host member (``docker_host``, else the only one)."""
    field = COMPLEX_TYPES[complex_.type].host_field if complex_.type in COMPLEX_TYPES else None
    host = complex_.attributes.get(field) if field else None
    if host is None:
        members = list(
            await session.scalars(
                select(orm.ComplexMember.structure).where(
                    orm.ComplexMember.complex == complex_.name
                )
            )
        )
        host = members[0] if len(members) == 1 else None
    if host is None:
        raise NotApplicable(
            f"docker complex {complex_.name} has no host: set docker_host or give it one member"
        )
    primary = await session.scalar(
        select(orm.Address).where(
            orm.Address.structure == host,
            orm.Address.kind == "address",
            orm.Address.is_primary.is_(True),
        )
    )
    if primary is None:
        raise NotApplicable(
            f"host structure {host} of complex {complex_.name} has no primary address"
        )
    return primary


async def _ip_of(session: AsyncSession, address: orm.Address) -> str | None:
    """The IP an address holds (its own, or through its pointers)."""
    seen: set[int] = set()
    current: orm.Address | None = address
    while current is not None and current.pointer is not None and current.id not in seen:
        seen.add(current.id)
        current = await session.get(orm.Address, current.pointer)
    if current is None or current.address_block is None or current.offset is None:
        return None
    block = await session.get(orm.AddressBlock, current.address_block)
    if block is None:
        return None
    value = addressing.unpack(block.subnet) + addressing.unpack(current.offset)
    return addressing.show(value, block.is_ipv4)


async def _map(
    session: AsyncSession,
    structure: orm.Structure,
    complex_: orm.Complex,
    wanted: list[str],
    actor: Actor,
    settings: Settings,
) -> dict[str, Any]:
    primary = await _host_primary(session, complex_)
    first, last = port_range(await configs.structure(session, structure, settings))
    held = list(
        await session.scalars(
            select(orm.DockerPort).where(orm.DockerPort.structure == structure.id)
        )
    )
    kept = {row.container_port: row.host_port for row in held if row.container_port in wanted}
    for row in held:
        if row.container_port not in kept:
            await session.delete(row)
    await session.flush()
    used = set(
        await session.scalars(
            select(orm.DockerPort.host_port).where(orm.DockerPort.complex == complex_.name)
        )
    )
    free = (port for port in range(first, last + 1) if port not in used)
    port_map: dict[str, int] = {}
    for container_port in wanted:
        host_port = kept.get(container_port)
        if host_port is None:
            host_port = next(free, None)
            if host_port is None:
                raise NoFreePort(
                    f"docker complex {complex_.name} has no free host port in {first}–{last}",
                    complex=complex_.name,
                    range=[first, last],
                )
            session.add(
                orm.DockerPort(
                    complex=complex_.name,
                    host_port=host_port,
                    structure=structure.id,
                    container_port=container_port,
                )
            )
        port_map[container_port] = host_port
    await session.flush()
    check_port = next((p for c, p in port_map.items() if c.endswith("/tcp")), None)
    address = await _pointer(session, structure, primary, actor)
    await _write_config(
        session, structure, {PORT_MAP_KEY: port_map, CHECK_PORT_KEY: check_port}, actor
    )
    return {
        "result": port_map,
        "check_port": check_port,
        "address": {
            "id": address.id,
            "interface_name": address.interface_name,
            "pointer": address.pointer,
            "ip_address": await _ip_of(session, address),
        },
    }


async def _pointer(
    session: AsyncSession, structure: orm.Structure, primary: orm.Address, actor: Actor
) -> orm.Address:
    """The structure's pointer address to the host's primary address (made if missing)."""
    found = await session.scalar(
        select(orm.Address).where(
            orm.Address.structure == structure.id, orm.Address.pointer == primary.id
        )
    )
    if found is not None:
        return found
    ports = await interfaces.of_foundation(session, structure.foundation)
    port = next((p for p in ports if p.is_provisioning), ports[0] if ports else None)
    has_primary = await session.scalar(
        select(orm.Address.id).where(
            orm.Address.structure == structure.id, orm.Address.is_primary.is_(True)
        )
    )
    address = orm.Address(
        kind="address",
        address_block=None,
        offset=None,
        structure=structure.id,
        interface_name=port.name if port is not None else "eth0",
        alias_index=None,
        is_primary=has_primary is None,
        pointer=primary.id,
    )
    rows.stamp_new(address)
    session.add(address)
    await session.flush()
    await _address_event(session, "address.created", address, structure, actor)
    return address


async def _address_event(
    session: AsyncSession,
    type: str,
    address: orm.Address,
    structure: orm.Structure,
    actor: Actor,
) -> None:
    # A pointer shows in the forward zone of the structure's site, never in a reverse zone.
    zone = (await structures.zones(session, [structure.site])).get(structure.site)
    await events.append(
        session,
        type,
        actor=actor,
        subject=("address", address.id),
        site=structure.site,
        data={
            "id": address.id,
            "kind": address.kind,
            "address_block": address.address_block,
            "offset": None,
            "ip_address": await _ip_of(session, address),
            "structure": address.structure,
            "interface_name": address.interface_name,
            "alias_index": address.alias_index,
            "is_primary": address.is_primary,
            "dns_zones": [zone] if zone else [],
        },
    )


async def _write_config(
    session: AsyncSession,
    structure: orm.Structure,
    set_values: dict[str, Any],
    actor: Actor,
    remove: tuple[str, ...] = (),
) -> None:
    before = structure.config_values
    values = copy.deepcopy(before)
    for key in remove:
        values.pop(key, None)
    values.update(set_values)  # an existing key keeps its place, a new one is appended
    if values == before:
        return
    structure.config_values = values
    rows.touch(structure)
    await configs.announce(
        session,
        ("structure", structure.id),
        site=structure.site,
        keys=configs.changed_keys(before, values),
        dns_zones=[],
        actor=actor,
    )


async def _unmap(session: AsyncSession, structure: orm.Structure, actor: Actor) -> dict[str, Any]:
    await session.execute(delete(orm.DockerPort).where(orm.DockerPort.structure == structure.id))
    pointers = list(
        await session.scalars(
            select(orm.Address)
            .where(orm.Address.structure == structure.id, orm.Address.pointer.is_not(None))
            .order_by(orm.Address.id)
        )
    )
    for address in pointers:
        pointed_at = await session.scalar(
            select(orm.Address.id).where(orm.Address.pointer == address.id)
        )
        if pointed_at is not None:
            continue  # something else relies on it; leave it
        await _address_event(session, "address.deleted", address, structure, actor)
        await session.delete(address)
    await session.flush()
    await _write_config(session, structure, {}, actor, remove=(PORT_MAP_KEY, CHECK_PORT_KEY))
    return {"result": None, "check_port": None, "address": None}
