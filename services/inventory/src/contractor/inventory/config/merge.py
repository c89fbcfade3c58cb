"""The merge order of a target's config (inventory spec §6.3), over plain data.

A merge is a list of `Layer` objects applied in order. *Value* layers are user
``config_values`` applied with `apply_layer` (so the target's class list filters every one of
them, blueprint and site layers included); *assignment* layers are inventory's own attributes
and globals, copied over whatever is there. The ``*_layers`` builders below lay out the
normative order for each kind of target; the service loads the rows and feeds them in.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from contractor.inventory.config.errors import ConfigValueError
from contractor.inventory.config.layers import ConfigMap, apply_layer


@dataclass(frozen=True)
class Source:
    """An owner of user ``config_values``: a site, blueprint or structure.

    Attributes:
        name: The owner's name (for a structure, its hostname), used in error messages.
        config_values: Its stored ``config_values``, in stored order.
    """

    name: str
    config_values: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Layer:
    """One step of a merge.

    Attributes:
        label: What the layer is (``"blueprint linux-base"``, ``"globals"``), for errors.
        values: The layer's values.
        assign: ``False`` for user values (`apply_layer`), ``True`` for inventory's own
            attributes and globals (plain assignment).
    """

    label: str
    values: Mapping[str, Any]
    assign: bool = False


def merge_layers(layers: Iterable[Layer], class_list: Sequence[str]) -> ConfigMap:
    """Merge layers, in order, into a new config map (not rendered).

    Args:
        layers: The layers, first applied first.
        class_list: The target's class list (empty for sites, blueprints and addresses).

    Returns:
        The merged map; it shares no objects with the layers.

    Raises:
        ConfigValueError: A value layer has an invalid key or an operator that cannot
            apply; the error names the layer.
    """
    config: ConfigMap = {}
    for layer in layers:
        if layer.assign:
            config.update(copy.deepcopy(dict(layer.values)))
            continue
        try:
            apply_layer(config, layer.values, class_list)
        except ConfigValueError as exc:
            raise exc.in_layer(layer.label) from exc
    return config


def chain_layers(kind: str, chain: Sequence[Source], marker: str) -> list[Layer]:
    """Value layers for a site or blueprint chain, then the marker attribute.

    Args:
        kind: ``"site"`` or ``"blueprint"``, for layer labels.
        chain: The chain, root first; the last entry is the target's own site/blueprint.
        marker: The attribute naming the last entry (``"_site"``, ``"_blueprint"``).

    Returns:
        One value layer per entry, then an assignment of ``marker``.
    """
    if not chain:
        raise ValueError(f"a {kind} chain is never empty: it ends with the {kind} itself")
    layers = [Layer(f"{kind} {source.name}", source.config_values) for source in chain]
    layers.append(Layer(marker, {marker: chain[-1].name}, assign=True))
    return layers


def site_layers(site_chain: Sequence[Source], globals_: Mapping[str, Any]) -> list[Layer]:
    """Layers of a site's config: its chain root first, ``_site``, globals."""
    return [*chain_layers("site", site_chain, "_site"), _globals(globals_)]


def blueprint_layers(blueprint_chain: Sequence[Source], globals_: Mapping[str, Any]) -> list[Layer]:
    """Layers of a blueprint's config: its chain (spec §3.2), ``_blueprint``, globals."""
    return [*chain_layers("blueprint", blueprint_chain, "_blueprint"), _globals(globals_)]


def address_layers(site_chain: Sequence[Source], globals_: Mapping[str, Any]) -> list[Layer]:
    """Layers for a reserved or dynamic address: its block's site chain, ``_site``, globals."""
    return site_layers(site_chain, globals_)


def foundation_layers(
    *,
    blueprint_chain: Sequence[Source],
    site_chain: Sequence[Source],
    foundation_attributes: Mapping[str, Any],
    complex_attributes: Mapping[str, Any] | None = None,
    structure_id: int | None = None,
    foundation_job_id: int | None = None,
    globals_: Mapping[str, Any],
) -> list[Layer]:
    """Layers of a foundation's config, in the order of spec §6.3.

    Args:
        blueprint_chain: The chain of the foundation's blueprint, root first.
        site_chain: The chain of the foundation's site, root first.
        foundation_attributes: ``_foundation_*``, ``_console``, ``_<field>``, … (§6.4).
        complex_attributes: ``_complex_*`` and ``_<field>`` if it has a complex.
        structure_id: The id of the structure on it, if any.
        foundation_job_id: The job holding its slot, if any.
        globals_: The ``__*`` globals.

    Returns:
        The layers, first applied first.
    """
    return [
        *chain_layers("blueprint", blueprint_chain, "_blueprint"),
        *chain_layers("site", site_chain, "_site"),
        *_attribute_layers(foundation_attributes, complex_attributes),
        *_optional("_structure_id", structure_id),
        *_optional("_foundation_job_id", foundation_job_id),
        _globals(globals_),
    ]


def structure_layers(
    *,
    blueprint_chain: Sequence[Source],
    site_chain: Sequence[Source],
    foundation_attributes: Mapping[str, Any],
    complex_attributes: Mapping[str, Any] | None = None,
    structure: Source,
    structure_attributes: Mapping[str, Any],
    structure_job_id: int | None = None,
    foundation_job_id: int | None = None,
    globals_: Mapping[str, Any],
) -> list[Layer]:
    """Layers of a structure's config, in the order of spec §6.3.

    Args:
        blueprint_chain: The chain of the **structure** blueprint, root first (the
            foundation blueprint's values are not used).
        site_chain: The chain of the structure's site, root first.
        foundation_attributes: The attributes of its foundation (§6.4).
        complex_attributes: Those of the foundation's complex, if any.
        structure: The structure's hostname and ``config_values``.
        structure_attributes: ``_structure_*``, ``_hostname``, ``_interface_map``, … (§6.4).
        structure_job_id: The job holding the structure's slot, if any.
        foundation_job_id: The job holding its foundation's slot, if any.
        globals_: The ``__*`` globals.

    Returns:
        The layers, first applied first.
    """
    return [
        *chain_layers("blueprint", blueprint_chain, "_blueprint"),
        *chain_layers("site", site_chain, "_site"),
        *_attribute_layers(foundation_attributes, complex_attributes),
        Layer(f"structure {structure.name}", structure.config_values),
        Layer("structure attributes", structure_attributes, assign=True),
        *_optional("_structure_job_id", structure_job_id),
        *_optional("_foundation_job_id", foundation_job_id),
        _globals(globals_),
    ]


def _attribute_layers(
    foundation: Mapping[str, Any], complex_: Mapping[str, Any] | None
) -> list[Layer]:
    layers = [Layer("foundation attributes", foundation, assign=True)]
    if complex_ is not None:
        layers.append(Layer("complex attributes", complex_, assign=True))
    return layers


def _optional(name: str, value: int | None) -> list[Layer]:
    return [] if value is None else [Layer(name, {name: value}, assign=True)]


def _globals(values: Mapping[str, Any]) -> Layer:
    return Layer("globals", values, assign=True)
