"""Write batches of a running job (§12.4): applied in order, atomically, idempotent by id."""

from __future__ import annotations

import copy
from typing import Any

from contractor.inventory import addressing, orm
from contractor.inventory.encryption import SecretBox
from contractor.inventory.errors import (
    AlreadyExists,
    JobMismatch,
    MacConflict,
    WriteRejected,
)
from contractor.inventory.foundation_types import REGISTRY
from contractor.inventory.schemas import job_writes as w
from contractor.inventory.settings import Settings
from contractor.inventory.store import (
    addresses,
    cascades,
    config_values,
    configs,
    events,
    foundations,
    interfaces,
    reservations,
    resources,
    rows,
    snapshots,
)
from contractor.servicekit.db import utcnow
from contractor.servicekit.errors import FieldError, ServiceError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

Actor = dict[str, Any]


class _Rejected(Exception):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


async def held_target(session: AsyncSession, job_id: int) -> cascades.Target | None:
    """The target whose slot ``job_id`` holds."""
    foundation = await session.scalar(select(orm.Foundation).where(orm.Foundation.job_id == job_id))
    if foundation is not None:
        return foundation
    structure = await session.scalar(select(orm.Structure).where(orm.Structure.job_id == job_id))
    if structure is not None:
        return structure
    dependency = await session.scalar(select(orm.Dependency).where(orm.Dependency.job_id == job_id))
    if dependency is not None:
        return dependency
    return None


async def apply_batch(
    session: AsyncSession, batch: w.WriteBatch, *, actor: Actor, settings: Settings, box: SecretBox
) -> tuple[dict[str, Any], bool]:
    """Apply a batch; return the answer (the refreshed snapshot) and whether it was a repeat."""
    done = await session.get(orm.JobBatch, batch.batch_id)
    if done is not None:
        if done.job_id != batch.job_id:
            raise AlreadyExists("write batch", batch.batch_id, "batch_id")
        # The answer holds decrypted connection secrets, so it is stored sealed.
        return box.open(done.answer.get("sealed")), True
    for index, write in enumerate(batch.writes):
        try:
            await _apply(session, batch.job_id, write, actor)
            await session.flush()  # the next write reloads rows FOR UPDATE (populate_existing)
        except _Rejected as exc:
            raise WriteRejected(index, exc.detail) from exc
        except FieldError as exc:
            raise WriteRejected(index, exc.detail, exc.extra.get("errors")) from exc
        except ServiceError as exc:
            exc.extra["index"] = index
            raise
    target = await held_target(session, batch.job_id)
    if target is None:
        raise JobMismatch(f"job {batch.job_id} holds no target")
    answer = await snapshots.build(session, target, settings=settings, box=box)
    session.add(
        orm.JobBatch(
            batch_id=batch.batch_id,
            job_id=batch.job_id,
            answer={"sealed": box.seal(answer)},
            created_at=utcnow(),
        )
    )
    await session.flush()
    return answer, False


async def apply_virtually(session: AsyncSession, writes: list[w.Write], actor: Actor) -> int:
    """Apply a job's pending writes in a transaction the caller never commits (§12.5 overlay).

    A boot render shows what the target will be once the writes are acknowledged. Each write
    goes in its own savepoint; one inventory would refuse is left out (the real batch will
    be refused and put the job in error). The holder is not checked: foreman sends the
    overlay of the target's active job. Returns how many writes were applied.
    """
    applied = 0
    for write in writes:
        try:
            async with session.begin_nested():
                await _apply(session, None, write, actor)
                await session.flush()
        except (_Rejected, ServiceError):
            continue
        applied += 1
    return applied


async def _apply(session: AsyncSession, job_id: int | None, write: w.Write, actor: Actor) -> None:
    target = await reservations.load(session, write.target.kind, write.target.key, lock=True)
    if job_id is not None:
        await _check_holder(session, job_id, target, write)
    if isinstance(write, w.SetValue):
        await _set_value(session, _foundation(target), write, actor)
        # The create job writes its runtime id once the effective spec is built (§9).
        await resources.refresh(session, _foundation(target))
    elif isinstance(write, w.SetPxe):
        await _set_pxe(session, _foundation(target), write, actor)
    elif isinstance(write, w.SetInterfaceMacs):
        await _set_macs(session, _foundation(target), write, actor)
    elif isinstance(write, w.SetIpAddresses):
        structure = await _structure_of(session, target)
        holder = job_id if job_id is not None else structure.job_id  # virtual: its holder
        await _set_ips(session, structure, write, actor, holder)
    else:
        structure = await _structure_of(session, target)
        await _set_config(session, structure, write, actor)
        base = await session.get(orm.Foundation, structure.foundation)
        if base is not None:  # config keys such as cpu_count size the foundation
            await resources.refresh(session, base)


async def _check_holder(
    session: AsyncSession, job_id: int, target: cascades.Target, write: w.Write
) -> None:
    if target.job_id == job_id:
        return
    if isinstance(write, w.SetPxe) and isinstance(target, orm.Foundation):
        on_it = await session.scalar(
            select(orm.Structure).where(orm.Structure.foundation == target.locator)
        )
        if on_it is not None and on_it.job_id == job_id:
            return  # a structure job may set_pxe on its foundation's interfaces
    raise JobMismatch(
        f"job {job_id} does not hold {cascades.kind_of(target)} {cascades.key_of(target)}",
        job_id=target.job_id,
    )


def _foundation(target: cascades.Target) -> orm.Foundation:
    if not isinstance(target, orm.Foundation):
        raise _Rejected("this write applies to a foundation")
    return target


async def _structure_of(session: AsyncSession, target: cascades.Target) -> orm.Structure:
    if isinstance(target, orm.Structure):
        return target
    if isinstance(target, orm.Foundation):
        found = await session.scalar(
            select(orm.Structure).where(orm.Structure.foundation == target.locator)
        )
        if found is not None:
            return found
    raise _Rejected("this write needs a structure")


async def _set_value(
    session: AsyncSession, foundation: orm.Foundation, write: w.SetValue, actor: Actor
) -> None:
    if write.name not in REGISTRY[foundation.type].fields_marked("runtime"):
        raise _Rejected(f"{write.name} is not a runtime attribute of type {foundation.type}")
    foundation.attributes = {**foundation.attributes, write.name: write.value}
    rows.touch(foundation)
    await events.append(
        session,
        "foundation.updated",
        actor=actor,
        subject=("foundation", foundation.locator),
        site=foundation.site,
        data=foundations.event_data(foundation, ["attributes"]),
    )


async def _interface_event(
    session: AsyncSession, iface: orm.Interface, site: str, changed: list[str], actor: Actor
) -> None:
    rows.touch(iface)
    await events.append(
        session,
        "interface.updated",
        actor=actor,
        subject=("interface", iface.id),
        site=site,
        data=interfaces.event_data(iface, changed, []),
    )


async def _set_pxe(
    session: AsyncSession, foundation: orm.Foundation, write: w.SetPxe, actor: Actor
) -> None:
    iface = await session.get(orm.Interface, write.interface)
    if iface is None or iface.foundation != foundation.locator:
        raise _Rejected(f"interface {write.interface} is not a port of {foundation.locator}")
    if write.pxe is not None and await session.get(orm.Pxe, write.pxe) is None:
        raise _Rejected(f"PXE profile {write.pxe} does not exist")
    if iface.pxe != write.pxe:
        iface.pxe = write.pxe
        await _interface_event(session, iface, foundation.site, ["pxe"], actor)


async def _set_macs(
    session: AsyncSession, foundation: orm.Foundation, write: w.SetInterfaceMacs, actor: Actor
) -> None:
    ports = await interfaces.of_foundation(session, foundation.locator)
    if isinstance(write.macs, list):
        if len(write.macs) > len(ports):
            raise _Rejected("more MACs than ports")
        pairs = list(zip(ports, write.macs, strict=False))
    else:
        by_location = {p.physical_location: p for p in ports}
        missing = sorted(set(write.macs) - set(by_location))
        if missing:
            raise _Rejected(f"no port {missing[0]} on {foundation.locator}")
        pairs = [(by_location[loc], mac) for loc, mac in write.macs.items()]
    for port, mac in pairs:
        clash = await session.scalar(select(orm.Interface.id).where(orm.Interface.mac == mac))
        if clash is not None and clash != port.id:
            raise MacConflict(f"MAC {mac} is used by interface {clash}", interface=clash)
        if port.mac != mac:
            port.mac = mac
            await session.flush()
            await _interface_event(session, port, foundation.site, ["mac"], actor)


async def _set_ips(
    session: AsyncSession,
    structure: orm.Structure,
    write: w.SetIpAddresses,
    actor: Actor,
    job_id: int | None,
) -> None:
    for name, ip in write.addresses.items():
        try:
            value, _ = addressing.parse(ip)
        except ValueError as exc:
            raise _Rejected(f"{ip!r} is not an IP address") from exc
        block = await session.scalar(
            select(orm.AddressBlock).where(
                orm.AddressBlock.site == structure.site,
                orm.AddressBlock.subnet <= addressing.pack(value),
                orm.AddressBlock.max_address >= addressing.pack(value),
            )
        )
        if block is None:
            raise _Rejected(f"no address block of site {structure.site} holds {ip}")
        current = await session.scalar(
            select(orm.Address).where(
                orm.Address.structure == structure.id,
                orm.Address.interface_name == name,
                orm.Address.kind == "address",
                orm.Address.alias_index.is_(None),
            )
        )
        if current is None:
            made = await addresses.create(
                session,
                block.id,
                {
                    "kind": "address",
                    "ip_address": ip,
                    "structure": structure.id,
                    "interface_name": name,
                },
                holder_job=job_id,
            )
            await _address_event(session, "address.created", made, block, actor)
        elif (current.address_block, current.offset) != (
            block.id,
            addressing.pack(value - addressing.unpack(block.subnet)),
        ):
            await addresses.move(session, current, block, ip)
            await _address_event(session, "address.updated", current, block, actor)


async def _address_event(
    session: AsyncSession, type: str, address: orm.Address, block: orm.AddressBlock, actor: Actor
) -> None:
    offset = addressing.unpack(address.offset) if address.offset is not None else None
    ip = (
        None
        if offset is None
        else addressing.show(addressing.unpack(block.subnet) + offset, block.is_ipv4)
    )
    await events.append(
        session,
        type,
        actor=actor,
        subject=("address", address.id),
        site=block.site,
        data={
            "id": address.id,
            "kind": address.kind,
            "address_block": block.id,
            "offset": offset,
            "ip_address": ip,
            "structure": address.structure,
            "interface_name": address.interface_name,
            "alias_index": address.alias_index,
            "is_primary": address.is_primary,
            "dns_zones": [],
        },
    )


async def _set_config(
    session: AsyncSession, structure: orm.Structure, write: w.SetConfig, actor: Actor
) -> None:
    values = copy.deepcopy(structure.config_values)
    parts = write.name.split(".")
    node: Any = values
    for part in parts[:-1]:
        node = _step(node, part, write.name)
    last = parts[-1]
    if isinstance(node, list):
        if not last.isdigit() or int(last) >= len(node):
            raise _Rejected(f"{write.name}: no list item {last}")
        node[int(last)] = write.value
    elif isinstance(node, dict):
        node[last] = write.value
    else:
        raise _Rejected(f"{write.name}: cannot set inside a scalar")
    config_values.check(values, ["body", "writes", "value"])
    before = structure.config_values
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


def _step(node: Any, part: str, path: str) -> Any:
    if isinstance(node, list) and part.isdigit() and int(part) < len(node):
        return node[int(part)]
    if isinstance(node, dict) and part in node:
        return node[part]
    raise _Rejected(f"{path}: {part} does not exist")
