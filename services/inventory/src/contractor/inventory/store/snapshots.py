"""The job snapshot (§12.4): what a running job sees of its target. Service tokens only.

Secrets are decrypted here, into ``connection`` only. Interfaces and addresses are not stored
yet, so interface lists are empty and provisioning values are null.
"""

from __future__ import annotations

from typing import Any

from contractor.inventory import orm
from contractor.inventory.encryption import SecretBox
from contractor.inventory.foundation_types import REGISTRY
from contractor.inventory.settings import Settings
from contractor.inventory.store import (
    cascades,
    configs,
    foundations,
    interface_maps,
    interfaces,
    structures,
)
from contractor.servicekit import outbox
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession


def foundation_values(
    foundation: orm.Foundation, config: dict[str, Any], secrets: dict[str, Any]
) -> dict[str, Any]:
    """``foundation.<name>`` values (§4.1), never secrets.

    Common names first, then type attributes with their config fallbacks and the type's
    computed values.
    """
    ftype = REGISTRY[foundation.type]
    values: dict[str, Any] = {
        "locator": foundation.locator,
        "type": ftype.display_name,
        "type_name": ftype.name,
        "id": foundation.locator,
        "class_list": list(ftype.class_list),
        "site": foundation.site,
        "blueprint": foundation.blueprint,
        "state": foundation.state,
        "complex": foundation.complex,
        "interface_list": [],
        "provisioning_interface": None,
    }
    stored = {**foundation.attributes, **secrets}
    try:
        resolved = ftype.declared.resolve_attributes(stored, config)
        resolved.update(ftype.declared.type_values(stored, config, complex_name=foundation.complex))
    except (ValidationError, ValueError):
        # A config fallback of the wrong type: show the stored values rather than fail the job.
        resolved = {name: stored.get(name) for name in ftype.attributes_model.model_fields}
    secret = ftype.fields_marked("secret")
    values.update({k: v for k, v in resolved.items() if k not in secret})
    return values


def _port(iface: orm.Interface) -> dict[str, Any]:
    return {
        "id": iface.id,
        "name": iface.name,
        "physical_location": iface.physical_location,
        "mac": iface.mac,
        "is_provisioning": iface.is_provisioning,
        "pxe": iface.pxe,
        "network": iface.network,
        "address_list": [],
    }


async def _foundation_part(
    session: AsyncSession, foundation: orm.Foundation, config: dict[str, Any], box: SecretBox
) -> dict[str, Any]:
    ftype = REGISTRY[foundation.type]
    secrets = box.open(foundation.sealed_secrets)
    everything = {**foundation.attributes, **secrets}
    ports = [_port(i) for i in await interfaces.of_foundation(session, foundation.locator)]
    return {
        "locator": foundation.locator,
        "type": ftype.display_name,
        "class_list": list(ftype.class_list),
        "state": foundation.state,
        "complex": foundation.complex,
        "values": foundation_values(foundation, config, secrets),
        "connection": ftype.connection(
            {**everything, "_locator": foundation.locator, "_interfaces": ports}
        ),
        "interface_list": ports,
        "provisioning_interface": next((p for p in ports if p["is_provisioning"]), None),
    }


async def _structure_part(session: AsyncSession, structure: orm.Structure) -> dict[str, Any]:
    zone = (await structures.zones(session, [structure.site])).get(structure.site)
    net = await interface_maps.structure_network_attributes(session, structure)
    provisioning_address = net["provisioning_address"] or {}
    primary_address = net["primary_address"] or {}
    return {
        "id": structure.id,
        "hostname": structure.hostname,
        "fqdn": f"{structure.hostname}.{zone}" if zone else structure.hostname,
        "site": structure.site,
        "blueprint": structure.blueprint,
        "state": structure.state,
        "config_uuid": structure.config_uuid,
        "interface_list": [_port(i) for i in await interfaces.of_structure(session, structure.id)],
        "provisioning_interface": net["provisioning_interface"],
        "provisioning_ip": provisioning_address.get("address"),
        "primary_interface": net["primary_interface"],
        "primary_ip": primary_address.get("address"),
    }


async def build(
    session: AsyncSession, target: cascades.Target, *, settings: Settings, box: SecretBox
) -> dict[str, Any]:
    """The snapshot of a foundation, structure or dependency target (config not rendered)."""
    revision = await outbox.head_cursor(session, orm.events)
    structure: orm.Structure | None = None
    foundation: orm.Foundation | None = None
    dependency = None
    if isinstance(target, orm.Foundation):
        foundation = target
        structure_id = (await foundations.structure_ids(session, [target.locator])).get(
            target.locator
        )
        config = await configs.foundation(session, target, settings, structure_id)
    else:
        if isinstance(target, orm.Dependency):
            dependency = {"id": target.id, "link": target.link, "state": target.state}
            script_id = target.script_structure or target.structure
            structure = await session.get(orm.Structure, script_id) if script_id else None
        else:
            structure = target
        if structure is not None:
            foundation = await session.get(orm.Foundation, structure.foundation)
            config = await configs.structure(session, structure, settings)
        else:
            config = {}
    return {
        "revision": str(revision),
        "target": {
            "kind": cascades.kind_of(target),
            "key": cascades.key_of(target),
            "state": target.state,
        },
        "foundation": (
            await _foundation_part(session, foundation, config, box) if foundation else None
        ),
        "structure": await _structure_part(session, structure) if structure else None,
        "dependency": dependency,
        "config": config,
        "pxe_names": sorted(await session.scalars(select(orm.Pxe.name))),
    }
