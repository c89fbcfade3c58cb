"""A foundation's stored ``resources`` (§3.4, §9): refreshed when its attributes change.

Callers: foundation create and ``PATCH`` (attributes), and a create job's ``set_value`` write
(the job writes its runtime id once it has built the effective spec, §12.4). Hardware
acceptance should call `refresh` too, so bare metal picks up the report's figures.
"""

from __future__ import annotations

from typing import Any

from contractor.inventory import config, orm
from contractor.inventory.foundation_types import REGISTRY
from contractor.inventory.store import configs
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

FIELDS = ("cpu_count", "memory_mb", "disk_gb")


def of(foundation: orm.Foundation) -> dict[str, int]:
    """The stored ``resources`` object of a foundation."""
    return {name: int(getattr(foundation, name) or 0) for name in FIELDS}


async def _config(
    session: AsyncSession, foundation: orm.Foundation, *, new: bool
) -> dict[str, Any]:
    """The plain keys of the merged config the create job sees (§6.3), cheaply.

    For the structure on the foundation (else the foundation itself): its blueprint chain,
    its site chain and, for a structure, its own values. The other layers of §6.3
    (attributes, job ids, globals) only set ``_``-names, so the plain keys sizing a
    foundation (``cpu_count``, ``memory_size``, ``disk_size``) come out the same.
    ``{}`` when the values do not merge: that must not block an attribute write.
    """
    structure = (
        None
        if new
        else await session.scalar(
            select(orm.Structure).where(orm.Structure.foundation == foundation.locator)
        )
    )
    owner = structure if structure is not None else foundation
    # The chains exactly as the config endpoints load them.
    chain = await configs._blueprint_chain(session, owner.blueprint)
    sites = await configs._site_chain(session, owner.site)
    layers = [
        *(config.Layer(f"blueprint {b.name}", b.config_values) for b in chain),
        *(config.Layer(f"site {s.name}", s.config_values) for s in sites),
    ]
    if structure is not None:
        layers.append(config.Layer(f"structure {structure.hostname}", structure.config_values))
    try:
        return dict(config.merge_layers(layers, list(REGISTRY[foundation.type].class_list)))
    except config.ConfigValueError:
        return {}


async def _hardware(session: AsyncSession, foundation: orm.Foundation) -> dict[str, Any] | None:
    accepted = await session.get(orm.FoundationHardware, foundation.locator)
    if accepted is None or not isinstance(accepted.report, dict):
        return None
    inner = accepted.report.get("hardware", accepted.report)
    return inner if isinstance(inner, dict) else None


async def refresh(
    session: AsyncSession, foundation: orm.Foundation, *, new: bool = False
) -> list[str]:
    """Recompute and store a foundation's ``resources``; return the fields that changed.

    ``new``: the foundation was created in this transaction, so it has no structure and no
    accepted hardware yet (two queries saved on every create).

    The version is not bumped: ``resources`` is derived, and the change that caused the
    refresh bumps it already.
    """
    values = REGISTRY[foundation.type].resources(
        foundation.attributes,
        await _config(session, foundation, new=new),
        None if new else await _hardware(session, foundation),
    )
    changed = [name for name in FIELDS if getattr(foundation, name) != values[name]]
    for name in changed:
        setattr(foundation, name, values[name])
    return changed
