"""Boot data for agents (§12.5): resolve a MAC or IP, DHCP data of a site, rendered boot data."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from contractor.inventory import addressing, orm
from contractor.inventory.config import ConfigRenderer
from contractor.inventory.errors import invalid
from contractor.inventory.foundation_types import REGISTRY
from contractor.inventory.masking import SECRET_KEY
from contractor.inventory.settings import Settings
from contractor.inventory.store import address_blocks, addresses, configs, interfaces, sites
from contractor.servicekit.auth import Principal, Role
from contractor.servicekit.errors import Forbidden
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

RETRY_SCRIPT = (
    "#!ipxe\necho no boot instruction yet\nsleep 10\nchain --autofree {{__request_url}}\n"
)


async def check_scope(session: AsyncSession, caller: Principal, site: str) -> None:
    """Agent tokens act only on their sites and the sites below them (403 otherwise)."""
    if caller.role is not Role.AGENT:
        return
    for scope in caller.sites:
        if site in await sites.descendants(session, scope):
            return
    raise Forbidden(f"site {site} is outside this agent's scope")


@dataclass
class Found:
    """What a selector named."""

    kind: str
    key: str
    structure: orm.Structure | None = None
    foundation: orm.Foundation | None = None
    address: orm.Address | None = None
    interface: orm.Interface | None = None


async def by_mac(session: AsyncSession, site_names: list[str], mac: str) -> Found | None:
    """A real interface's MAC → its foundation → the structure on it."""
    port = await session.scalar(select(orm.Interface).where(orm.Interface.mac == mac.lower()))
    if port is None or port.foundation is None:
        return None
    foundation = await session.get(orm.Foundation, port.foundation)
    if foundation is None or foundation.site not in site_names:
        return None
    structure = await session.scalar(
        select(orm.Structure).where(orm.Structure.foundation == foundation.locator)
    )
    if structure is not None:
        return Found("structure", str(structure.id), structure, foundation, interface=port)
    return Found("foundation", foundation.locator, None, foundation, interface=port)


async def by_ip(session: AsyncSession, site: str, ip: str) -> Found | None:
    """An IP in the site: a static address → its structure; reserved/dynamic → itself."""
    found = [a for a in await addresses.find_by_ip(session, ip, site)]
    if len(found) != 1:
        return None
    address = found[0]
    if address.kind != "address" or address.structure is None:
        return Found("address", str(address.id), address=address)
    structure = await session.get(orm.Structure, address.structure)
    if structure is None:
        return None
    foundation = await session.get(orm.Foundation, structure.foundation)
    port = await session.scalar(
        select(orm.Interface).where(
            orm.Interface.foundation == structure.foundation,
            orm.Interface.name == address.interface_name,
        )
    )
    return Found(
        "structure", str(structure.id), structure, foundation, address=address, interface=port
    )


async def by_selector(session: AsyncSession, site: str, selector: dict[str, Any]) -> Found | None:
    """The target of a render request (selector keys in precedence order)."""
    names = await sites.descendants(session, site)
    if selector.get("config_uuid"):
        structure = await session.scalar(
            select(orm.Structure).where(orm.Structure.config_uuid == selector["config_uuid"])
        )
        return await _of_structure(session, structure)
    if selector.get("structure") is not None:
        return await _of_structure(
            session, await session.get(orm.Structure, int(selector["structure"]))
        )
    if selector.get("foundation"):
        foundation = await session.get(orm.Foundation, str(selector["foundation"]))
        return Found("foundation", foundation.locator, None, foundation) if foundation else None
    if selector.get("ip"):
        return await by_ip(session, site, str(selector["ip"]))
    if selector.get("mac"):
        return await by_mac(session, names, str(selector["mac"]))
    raise invalid(["body", "selector"], "give one of config_uuid, structure, foundation, ip, mac")


async def _of_structure(session: AsyncSession, structure: orm.Structure | None) -> Found | None:
    if structure is None:
        return None
    foundation = await session.get(orm.Foundation, structure.foundation)
    return Found("structure", str(structure.id), structure, foundation)


async def render(
    session: AsyncSession,
    found: Found,
    site: str,
    kind: str,
    variables: dict[str, Any],
    settings: Settings,
    renderer: ConfigRenderer,
    connection: dict[str, Any] | None,
) -> dict[str, Any]:
    """The answer of ``POST /boot/render`` for a resolved target."""
    if found.structure is not None:
        merged = await configs.structure(session, found.structure, settings)
    elif found.foundation is not None:
        ids = await _structure_ids(session, found.foundation.locator)
        merged = await configs.foundation(session, found.foundation, settings, ids)
    else:
        site_row = await session.get(orm.Site, site)
        assert site_row is not None
        merged = await configs.site(session, site_row, settings)
    merged.update(variables)
    values = configs.render(merged, renderer)
    target = {"kind": found.kind, "key": found.key}
    pxe = await _pxe_of(session, found)
    if kind == "config":
        shown = {k: v for k, v in values.items() if not SECRET_KEY.search(k)}
        return {
            "status": 200,
            "content_type": "application/json",
            "body": json.dumps(shown),
            "target": target,
            "pxe": pxe.name if pxe else None,
        }
    if pxe is None:
        if kind == "boot_script":
            body = renderer.render_text(RETRY_SCRIPT, values, name="retry script")
            return {
                "status": 200,
                "content_type": "text/plain",
                "body": body,
                "target": target,
                "pxe": None,
            }
        return {
            "status": 404,
            "content_type": "text/plain",
            "body": "no PXE profile for this target\n",
            "target": target,
            "pxe": None,
        }
    if kind == "boot_script":
        body = "#!ipxe\n\n" + renderer.render_text(
            pxe.boot_script, values, name=f"pxe {pxe.name} boot_script"
        )
    else:
        context = {**values, "__connection_parameters": _without_secrets(connection or {})}
        body = renderer.render_text(pxe.template, context, name=f"pxe {pxe.name} template")
    return {
        "status": 200,
        "content_type": "text/plain",
        "body": body,
        "target": target,
        "pxe": pxe.name,
    }


async def _structure_ids(session: AsyncSession, locator: str) -> int | None:
    return (
        await session.scalars(select(orm.Structure.id).where(orm.Structure.foundation == locator))
    ).first()


def _without_secrets(values: dict[str, Any]) -> dict[str, Any]:
    return {
        k: (_without_secrets(v) if isinstance(v, dict) else v)
        for k, v in values.items()
        if not SECRET_KEY.search(k)
    }


async def _pxe_of(session: AsyncSession, found: Found) -> orm.Pxe | None:
    name: str | None = None
    if found.foundation is not None:
        port = await _provisioning(session, found.foundation.locator)
        name = port.pxe if port else None
    elif found.address is not None and found.address.kind == "dynamic":
        name = found.address.pxe
    return await session.get(orm.Pxe, name) if name else None


async def _provisioning(session: AsyncSession, locator: str) -> orm.Interface | None:
    return next(
        (i for i in await interfaces.of_foundation(session, locator) if i.is_provisioning), None
    )


async def dhcp(
    session: AsyncSession, site: orm.Site, settings: Settings, renderer: ConfigRenderer
) -> dict[str, Any]:
    """DHCP data of a site: subnets with their dynamic pools, and static leases."""
    values = configs.render(await configs.site(session, site, settings), renderer)
    revision = await session.scalar(
        select(func.max(orm.events.c.cursor)).where(orm.events.c.site == site.name)
    )
    blocks = list(
        await session.scalars(
            select(orm.AddressBlock)
            .where(orm.AddressBlock.site == site.name)
            .order_by(orm.AddressBlock.id)
        )
    )
    subnets = [await _subnet(session, block, values, site.zone) for block in blocks]
    return {
        "site": site.name,
        "revision": str(revision or 0),
        "subnets": subnets,
        "static": await _statics(session, blocks, site.zone),
    }


async def _subnet(
    session: AsyncSession, block: orm.AddressBlock, values: dict[str, Any], zone: str | None
) -> dict[str, Any]:
    subnet = addressing.unpack(block.subnet)
    gw = address_blocks.gateway(block)
    link = await session.scalar(
        select(orm.NetworkLink)
        .where(orm.NetworkLink.address_block == block.id)
        .order_by(orm.NetworkLink.id)
    )
    network = await session.get(orm.Network, link.network) if link else None
    pools = list(
        await session.scalars(
            select(orm.Address)
            .where(orm.Address.address_block == block.id, orm.Address.kind == "dynamic")
            .order_by(orm.Address.offset)
        )
    )
    dynamic: list[dict[str, Any]] = []
    previous: tuple[int, str | None] | None = None
    for pool in pools:
        offset = addressing.unpack(pool.offset or bytes(16))
        ip = addressing.show(subnet + offset, block.is_ipv4)
        if previous is not None and previous == (offset - 1, pool.pxe):
            dynamic[-1]["last"] = ip
        else:
            dynamic.append({"first": ip, "last": ip, "pxe": pool.pxe})
        previous = (offset, pool.pxe)
    return {
        "address_block": block.id,
        "name": block.name,
        "network": f"{addressing.show(subnet, block.is_ipv4)}/{block.prefix}",
        "gateway": None if gw is None else addressing.show(subnet + gw, block.is_ipv4),
        "mtu": network.mtu if network else None,
        "vlan": link.vlan if link else None,
        "dns_servers": values.get("dns_servers"),
        "domain_name": zone,
        "domain_search": values.get("domain_search"),
        "ntp_servers": values.get("ntp_servers"),
        "dynamic": dynamic,
    }


async def _statics(
    session: AsyncSession, blocks: list[orm.AddressBlock], zone: str | None
) -> list[dict[str, Any]]:
    leases: list[dict[str, Any]] = []
    for block in blocks:
        linked = set(
            await session.scalars(
                select(orm.NetworkLink.network).where(orm.NetworkLink.address_block == block.id)
            )
        )
        rows = await session.execute(
            select(orm.Address, orm.Structure)
            .join(orm.Structure, orm.Structure.id == orm.Address.structure)
            .where(orm.Address.address_block == block.id, orm.Address.kind == "address")
            .order_by(orm.Address.id)
        )
        for address, structure in rows.all():
            port = await session.scalar(
                select(orm.Interface).where(
                    orm.Interface.foundation == structure.foundation,
                    orm.Interface.name == address.interface_name,
                )
            )
            if port is None or port.mac is None or port.network not in linked:
                continue
            leases.append(
                {
                    "mac": port.mac,
                    "ip": addressing.show(
                        addressing.unpack(block.subnet)
                        + addressing.unpack(address.offset or bytes(16)),
                        block.is_ipv4,
                    ),
                    "address_block": block.id,
                    "hostname": structure.hostname,
                    "fqdn": f"{structure.hostname}.{zone}" if zone else structure.hostname,
                    "config_uuid": structure.config_uuid,
                    "console": await _console(session, structure),
                    "pxe": port.pxe,
                }
            )
    return leases


async def _console(session: AsyncSession, structure: orm.Structure) -> str:
    foundation = await session.get(orm.Foundation, structure.foundation)
    if foundation is None:
        return "console"
    return REGISTRY[foundation.type].console(foundation.attributes)
