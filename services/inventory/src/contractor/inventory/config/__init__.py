"""Inventory's configuration value language (spec §6), as pure functions.

No database and no web: the service loads sites, blueprints, foundations and structures,
lays them out as `Layer` lists with the ``*_layers`` builders, merges them with
`merge_layers` and renders the result with `render`.
"""

from contractor.inventory.config.attributes import (
    AddressObject,
    complex_attributes,
    config_globals,
    field_attributes,
    foundation_attributes,
    pick_provisioning_address,
    structure_attributes,
)
from contractor.inventory.config.chains import ChainCycleError, blueprint_chain, site_chain
from contractor.inventory.config.editing import edit_config_values
from contractor.inventory.config.errors import ConfigError, ConfigRenderError, ConfigValueError
from contractor.inventory.config.keys import ParsedKey, is_valid_key, parse_key
from contractor.inventory.config.layers import ConfigMap, apply_layer
from contractor.inventory.config.merge import (
    Layer,
    Source,
    address_layers,
    blueprint_layers,
    foundation_layers,
    merge_layers,
    site_layers,
    structure_layers,
)
from contractor.inventory.config.render import ConfigRenderer, render
from contractor.inventory.config.validation import check_config_values, find_config_problems

__all__ = [
    "AddressObject",
    "ChainCycleError",
    "ConfigError",
    "ConfigMap",
    "ConfigRenderError",
    "ConfigRenderer",
    "ConfigValueError",
    "Layer",
    "ParsedKey",
    "Source",
    "address_layers",
    "apply_layer",
    "blueprint_chain",
    "blueprint_layers",
    "check_config_values",
    "complex_attributes",
    "config_globals",
    "edit_config_values",
    "field_attributes",
    "find_config_problems",
    "foundation_attributes",
    "foundation_layers",
    "is_valid_key",
    "merge_layers",
    "parse_key",
    "pick_provisioning_address",
    "render",
    "site_chain",
    "site_layers",
    "structure_attributes",
    "structure_layers",
]
