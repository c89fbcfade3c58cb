"""A foundation's stored ``resources`` (§3.4, §9): refreshed when its attributes change.

Callers: foundation create (:func:`set_new`, from ``store.foundations.create``), ``PATCH``
(attributes), a create job's ``set_value`` write (the job writes its runtime id once it has
built the effective spec, §12.4) and hardware acceptance, so bare metal picks up the report's
figures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from contractor.inventory import config, orm
from contractor.inventory.foundation_types import REGISTRY, RESOURCE_KEYS
from contractor.inventory.store import configs
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

FIELDS = ("cpu_count", "memory_mb", "disk_gb")


class Values(Protocol):
    """An owner of config values in a chain: a site or blueprint row, or a plain source."""

    @property
    def name(self) -> str:
        """Its name, for error messages."""
        ...

    @property
    def config_values(self) -> Mapping[str, Any]:
        """Its stored ``config_values``."""
        ...


def of(foundation: orm.Foundation) -> dict[str, int]:
    """The stored ``resources`` object of a foundation."""
    return {name: int(getattr(foundation, name) or 0) for name in FIELDS}


def _merged(
    type_name: str,
    blueprint_chain: Sequence[Values],
    site_chain: Sequence[Values],
    structure: orm.Structure | None,
) -> dict[str, Any]:
    """The config keys sizing a foundation, merged as the create job sees them (§6.3), cheaply.

    For the structure on the foundation (else the foundation itself): its blueprint chain,
    its site chain and, for a structure, its own values. The other layers of §6.3
    (attributes, job ids, globals) only set ``_``-names, so the plain keys sizing a
    foundation (``cpu_count``, ``memory_size``, ``disk_size``) come out the same. Only the
    keys acting on those names are merged: a key's operators and class filter act on its
    own name alone, so the others cannot change them (and copying every value of every layer
    was most of a foundation create's merge). ``{}`` when the values do not merge: that must
    not block an attribute write.
    """
    sources = [
        *((f"blueprint {b.name}", b.config_values) for b in blueprint_chain),
        *((f"site {s.name}", s.config_values) for s in site_chain),
    ]
    if structure is not None:
        sources.append((f"structure {structure.hostname}", structure.config_values))
    try:
        layers = [
            config.Layer(
                label, {k: v for k, v in values.items() if config.parse_key(k).name in _SIZING}
            )
            for label, values in sources
        ]
        return dict(config.merge_layers(layers, list(REGISTRY[type_name].class_list)))
    except config.ConfigValueError:
        return {}


_SIZING = frozenset(key for _field, key in RESOURCE_KEYS)


async def _config(session: AsyncSession, foundation: orm.Foundation) -> dict[str, Any]:
    """:func:`_merged` for a stored foundation: its structure and both chains are loaded."""
    structure = await session.scalar(
        select(orm.Structure).where(orm.Structure.foundation == foundation.locator)
    )
    owner = structure if structure is not None else foundation
    # The chains exactly as the config endpoints load them.
    chain = await configs._blueprint_chain(session, owner.blueprint)
    sites = await configs._site_chain(session, owner.site)
    return _merged(foundation.type, chain, sites, structure)


async def _hardware(session: AsyncSession, foundation: orm.Foundation) -> dict[str, Any] | None:
    accepted = await session.get(orm.FoundationHardware, foundation.locator)
    if accepted is None or not isinstance(accepted.report, dict):
        return None
    inner = accepted.report.get("hardware", accepted.report)
    return inner if isinstance(inner, dict) else None


def _store(foundation: orm.Foundation, values: dict[str, int]) -> list[str]:
    changed = [name for name in FIELDS if getattr(foundation, name) != values[name]]
    for name in changed:
        setattr(foundation, name, values[name])
    return changed


def set_new(
    foundation: orm.Foundation,
    blueprint_chain: Sequence[Values],
    site_chain: Sequence[Values],
) -> None:
    """Set the ``resources`` of a foundation being created, before its ``INSERT``.

    A new foundation has no structure and no accepted hardware yet, and its creator has
    just loaded its blueprint chain and site chain (root first, as the config endpoints load
    them) for its checks: computing here costs no query, and the row is inserted with its
    ``resources`` instead of being updated right after.
    """
    set_new_sized(foundation, _merged(foundation.type, blueprint_chain, site_chain, None))


def sizing(
    type_name: str, blueprint_chain: Sequence[Values], site_chain: Sequence[Values]
) -> dict[str, Any]:
    """The merged config a new foundation of type ``type_name`` is sized from (`set_new`).

    The same for every new foundation of that type on these chains: a creator may keep it.
    """
    return _merged(type_name, blueprint_chain, site_chain, None)


def set_new_sized(foundation: orm.Foundation, merged: Mapping[str, Any]) -> None:
    """`set_new` from the chains' merged config (`sizing`), which is only read."""
    values = REGISTRY[foundation.type].resources(foundation.attributes, merged, None)
    _store(foundation, values)


async def refresh(session: AsyncSession, foundation: orm.Foundation) -> list[str]:
    """Recompute and store a foundation's ``resources``; return the fields that changed.

    The version is not bumped: ``resources`` is derived, and the change that caused the
    refresh bumps it already.
    """
    values = REGISTRY[foundation.type].resources(
        foundation.attributes,
        await _config(session, foundation),
        await _hardware(session, foundation),
    )
    return _store(foundation, values)
