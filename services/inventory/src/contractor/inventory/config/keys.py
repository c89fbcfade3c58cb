"""Top-level config keys: ``[op]name[:Class]`` (inventory spec §2 and §6.1)."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, Literal

from contractor.inventory.config.errors import ConfigValueError

Operator = Literal["", "-", "<", ">", "~"]

KEY_PATTERN: Final = re.compile(r"^([<>~-]?)([a-zA-Z0-9][a-zA-Z0-9_-]*)(?::([a-zA-Z0-9]+))?$")
"""The config key pattern of spec §2, with groups for operator, name and class."""

KEY_MAX_LENGTH: Final = 100

_OPERATORS: Final[dict[str, Operator]] = {"": "", "-": "-", "<": "<", ">": ">", "~": "~"}

OPERATOR_RANK: Final[dict[str, int]] = {"-": 0, "": 1, "<": 2, ">": 3, "~": 4}
"""Processing order within one layer (spec §6.2 rule 1): ``-``, plain, ``<``, ``>``, ``~``."""


@dataclass(frozen=True)
class ParsedKey:
    """A top-level config key split into its parts.

    Attributes:
        key: The key as given.
        op: The operator: ``""`` (plain), ``"-"``, ``"<"``, ``">"`` or ``"~"``.
        name: The config name the key acts on.
        class_filter: The ``:Class`` suffix without the colon, or ``None``.
    """

    key: str
    op: Operator
    name: str
    class_filter: str | None

    @property
    def rank(self) -> int:
        """Position of this key's operator in the processing order."""
        return OPERATOR_RANK[self.op]

    def applies_to(self, class_list: Collection[str]) -> bool:
        """Whether the key is used for a target with these classes (spec §6.2 rule 2)."""
        return self.class_filter is None or self.class_filter in class_list


def invalid_key_message(key: str) -> str:
    """The message of spec §6.2 for an invalid key."""
    return f'invalid config value name "{key}"'


def is_valid_key(key: object) -> bool:
    """Whether ``key`` is a valid top-level key of user ``config_values``."""
    return (
        isinstance(key, str)
        and 1 <= len(key) <= KEY_MAX_LENGTH
        and KEY_PATTERN.fullmatch(key) is not None
    )


def parse_key(key: str) -> ParsedKey:
    """Split a top-level key into operator, name and class filter.

    Every merge parses every key of every layer, and the same keys come back request after
    request: valid keys are parsed once per process (a bounded cache; a ``ParsedKey`` is
    immutable).

    Args:
        key: A top-level key of user ``config_values``.

    Returns:
        The parsed key.

    Raises:
        ConfigValueError: The key does not match the config key pattern or is too long.
    """
    if isinstance(key, str):
        return _parse_str_key(key)
    raise ConfigValueError(invalid_key_message(str(key)), key=str(key))


@lru_cache(maxsize=8192)
def _parse_str_key(key: str) -> ParsedKey:
    match = KEY_PATTERN.fullmatch(key)
    if match is None or len(key) > KEY_MAX_LENGTH:
        raise ConfigValueError(invalid_key_message(key), key=key)
    op, name, class_filter = match.groups()
    return ParsedKey(key=key, op=_OPERATORS[op], name=name, class_filter=class_filter)


def is_attribute_name(name: str) -> bool:
    """Whether a merged-config name is an attribute (``_x``) set only by inventory."""
    return name.startswith("_") and not name.startswith("__")


def is_global_name(name: str) -> bool:
    """Whether a merged-config name is a global (``__x``) set only by inventory."""
    return name.startswith("__")
