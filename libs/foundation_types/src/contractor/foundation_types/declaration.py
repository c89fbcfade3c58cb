"""What a foundation or complex type declares (inventory spec §4)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

from contractor.foundation_types.functions import HostFunction
from contractor.foundation_types.markers import RUNTIME, SECRET, field_defaults, fields_marked
from contractor.foundation_types.values import (
    COMMON_VALUES,
    SpecRule,
    TypeValue,
    compute_spec,
    resolve_attributes,
)
from pydantic import BaseModel

ComplexMode = Literal["forbidden", "optional", "required"]


@dataclass(frozen=True)
class ComplexRule:
    """Whether a foundation of the type belongs to a complex, and of which type(s).

    Attributes:
        mode: ``forbidden``, ``optional`` or ``required``.
        types: The accepted complex type names (empty when forbidden).
    """

    mode: ComplexMode = "forbidden"
    types: tuple[str, ...] = ()

    def check(self, complex_type: str | None) -> str | None:
        """A problem with a foundation's complex of type ``complex_type``, or ``None``."""
        if complex_type is None:
            return "a complex is required" if self.mode == "required" else None
        if self.mode == "forbidden":
            return "this type takes no complex"
        if complex_type not in self.types:
            return f"the complex must be of type {' or '.join(self.types)}"
        return None


class _Declared:
    """Attribute-model helpers shared by foundation and complex types."""

    attributes_model: type[BaseModel]

    @cached_property
    def secret_fields(self) -> tuple[str, ...]:
        """Fields that are encrypted and write-only."""
        return fields_marked(self.attributes_model, SECRET)

    @cached_property
    def runtime_fields(self) -> tuple[str, ...]:
        """Fields written only by the job holding the slot."""
        return fields_marked(self.attributes_model, RUNTIME)

    def validate_attributes(self, data: Mapping[str, Any]) -> BaseModel:
        """Validate a complete attributes object.

        Raises:
            pydantic.ValidationError: Unknown fields, missing required ones, bad values.
        """
        return self.attributes_model.model_validate(dict(data))

    def attributes_schema(self) -> dict[str, Any]:
        """The attributes as JSON Schema (secret: ``writeOnly``; runtime: ``readOnly``)."""
        return self.attributes_model.model_json_schema()

    def config_fields(self, attributes: Mapping[str, Any]) -> dict[str, Any]:
        """Every non-secret field with its value (unset → ``None``), for ``_<field>`` config."""
        values = {name: attributes.get(name) for name in self.attributes_model.model_fields}
        return {name: value for name, value in values.items() if name not in self.secret_fields}


@dataclass(frozen=True, eq=False)
class FoundationType(_Declared):
    """A foundation type plug-in (entry-point group ``contractor.foundation_types``).

    Attributes:
        name: Lower-case API name (``ipmi``).
        display_name: The reference's type string, used by scripts and config (``IPMI``).
        prefix: The prefix of every attribute field (``ipmi_``).
        class_list: Class names for ``:Class`` config filters.
        attributes_model: The Pydantic model of its attributes.
        complex: Its complex rule.
        located_on_create: Whether new foundations are ``located`` at once, or a function
            of the validated attributes deciding it.
        console_field: The attribute naming the console, if any (else ``console``).
        agent_module: The agent plugin its tasks go to, if any.
        functions: ``foundation.<fn>(…)`` declarations (foreman spec §6.3).
        values: Type-specific ``foundation.<name>`` values (foreman spec §6.2).
        spec_rule: How it computes ``<prefix>_vmspec``/``docker_containerspec``, if it does.
        description: One line for people.
    """

    name: str
    display_name: str
    prefix: str
    class_list: tuple[str, ...]
    attributes_model: type[BaseModel]
    complex: ComplexRule = ComplexRule()
    located_on_create: bool | Callable[[BaseModel], bool] = False
    console_field: str | None = None
    agent_module: str | None = None
    functions: tuple[HostFunction, ...] = ()
    values: tuple[TypeValue, ...] = ()
    spec_rule: SpecRule | None = None
    description: str = ""

    def console(self, attributes: Mapping[str, Any]) -> str:
        """The console name for ``_console``: the console attribute, else ``console``."""
        if self.console_field is None:
            return "console"
        value = attributes.get(self.console_field)
        if value is None:
            value = field_defaults(self.attributes_model).get(self.console_field)
        return str(value) if value is not None else "console"

    def is_located_on_create(self, attributes: BaseModel) -> bool:
        """Whether a new foundation with these (validated) attributes starts ``located``."""
        rule = self.located_on_create
        return rule if isinstance(rule, bool) else rule(attributes)

    def function(self, name: str) -> HostFunction | None:
        """The declaration of ``foundation.<name>``, if the type has it."""
        return next((fn for fn in self.functions if fn.name == name), None)

    def resolve_attributes(
        self, stored: Mapping[str, Any], config: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Attributes with the config fallbacks of spec §4.1 (see `resolve_attributes`)."""
        exempt = (*self.secret_fields, *self.runtime_fields)
        return resolve_attributes(self.attributes_model, stored, config, exempt=exempt)

    def type_values(
        self,
        stored: Mapping[str, Any],
        config: Mapping[str, Any],
        *,
        complex_name: str | None = None,
        interfaces: Sequence[Mapping[str, Any]] = (),
    ) -> dict[str, Any]:
        """The type-specific TScript values for a job snapshot.

        Args:
            stored: The stored attributes.
            config: The target structure's merged config (empty without one).
            complex_name: The foundation's complex, for ``<prefix>complex``.
            interfaces: The foundation's interfaces, for the computed spec.

        Returns:
            ``{value name: value}`` for every declared type value.
        """
        resolved = self.resolve_attributes(stored, config)
        result: dict[str, Any] = {}
        for value in self.values:
            if self.spec_rule is not None and value.name == self.spec_rule.value_name:
                result[value.name] = compute_spec(self.spec_rule, resolved, config, interfaces)
            elif value.name == f"{self.prefix}complex":
                result[value.name] = complex_name
            else:
                result[value.name] = resolved.get(value.name)
        return result

    def describe(self) -> dict[str, Any]:
        """The public declaration, as ``GET /foundation-types/{name}`` returns it."""
        rule = self.located_on_create
        return {
            "name": self.name,
            "display_name": self.display_name,
            "class_list": list(self.class_list),
            "complex": {"mode": self.complex.mode, "types": list(self.complex.types)},
            "located_on_create": rule if isinstance(rule, bool) else "depends on attributes",
            "attributes": self.attributes_schema(),
            "secret_fields": list(self.secret_fields),
            "runtime_fields": list(self.runtime_fields),
            "agent_module": self.agent_module,
            "functions": [fn.describe() for fn in self.functions],
            "values": [*COMMON_VALUES, *(v.name for v in self.values)],
            "writable_values": [v.name for v in self.values if v.writable],
            "description": self.description,
        }


MemberRule = Literal["any", "one", "none"]
BuiltRule = Literal["members", "host", "always"]


@dataclass(frozen=True, eq=False)
class ComplexType(_Declared):
    """A complex type plug-in (entry-point group ``contractor.complex_types``).

    Attributes:
        name: Lower-case name (``docker``).
        attributes_model: The Pydantic model of its attributes.
        members: ``any`` number of member structures, exactly ``one``, or ``none``.
        host_field: The attribute naming the host member, if any.
        built: Built when its members are, when its host member is, or ``always``.
    """

    name: str
    attributes_model: type[BaseModel]
    members: MemberRule = "any"
    host_field: str | None = None
    built: BuiltRule = "members"

    def describe(self) -> dict[str, Any]:
        """The public declaration, as ``GET /complex-types/{name}`` returns it."""
        return {
            "name": self.name,
            "attributes": self.attributes_schema(),
            "secret_fields": list(self.secret_fields),
            "members": self.members,
            "host_field": self.host_field,
            "built": self.built,
        }
