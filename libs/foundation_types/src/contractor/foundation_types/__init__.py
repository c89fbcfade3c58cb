"""Contractor's foundation and complex types, as data (inventory spec §4).

Inventory and foreman both depend on this package: attribute schemas (Pydantic models whose
fields carry `SECRET`/`RUNTIME` markers), class lists, complex rules, the config fallbacks of
spec §4.1 and the declarations of the TScript functions and values each type exposes.
"""

from contractor.foundation_types.builtin.sim import default_sim_profile
from contractor.foundation_types.declaration import ComplexRule, ComplexType, FoundationType
from contractor.foundation_types.functions import HostFunction, Param
from contractor.foundation_types.markers import RUNTIME, SECRET, FieldMarker
from contractor.foundation_types.module_functions import MODULE_FUNCTIONS
from contractor.foundation_types.registry import (
    BUILTIN_COMPLEX_TYPES,
    BUILTIN_FOUNDATION_TYPES,
    UnknownTypeError,
    complex_type,
    foundation_type,
    load_complex_types,
    load_foundation_types,
)
from contractor.foundation_types.values import (
    COMMON_VALUES,
    SpecError,
    SpecRule,
    SpecSource,
    TypeValue,
    compute_spec,
    resolve_attributes,
)

__all__ = [
    "BUILTIN_COMPLEX_TYPES",
    "BUILTIN_FOUNDATION_TYPES",
    "COMMON_VALUES",
    "MODULE_FUNCTIONS",
    "RUNTIME",
    "SECRET",
    "ComplexRule",
    "ComplexType",
    "FieldMarker",
    "FoundationType",
    "HostFunction",
    "Param",
    "SpecError",
    "SpecRule",
    "SpecSource",
    "TypeValue",
    "UnknownTypeError",
    "complex_type",
    "compute_spec",
    "default_sim_profile",
    "foundation_type",
    "load_complex_types",
    "load_foundation_types",
    "resolve_attributes",
]
