"""Checks on stored ``config_values`` of sites, blueprints and structures (spec §3.1)."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any, Final

from contractor.inventory.config.errors import ConfigValueError
from contractor.inventory.config.keys import KEY_PATTERN, invalid_key_message, is_valid_key

MAX_JSON_BYTES: Final = 256 * 1024
"""``config_values`` are at most 256 KiB as (compact, UTF-8) JSON."""

MAX_NESTING: Final = 32
"""Containers nest at most this deep; the top-level object is level 1."""

LIST_KEYS: Final = frozenset(
    {"domain_search", "dns_servers", "log_servers", "dns_ns", "dns_mx", "dns_records"}
)
POSITIVE_INTEGER_KEYS: Final = frozenset(
    {"dns_ttl", "dns_refresh", "dns_retry", "dns_expire", "dns_minimum"}
)


def _is_list(value: Any) -> bool:
    return isinstance(value, list)


def _is_positive_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _is_soa_email(value: Any) -> bool:
    return isinstance(value, str) and ("@" in value or "." in value)


_VALUE_CHECKS: Final[dict[str, tuple[Callable[[Any], bool], str]]] = {
    **{name: (_is_list, "must be a list") for name in LIST_KEYS},
    **{
        name: (_is_positive_integer, "must be a positive integer") for name in POSITIVE_INTEGER_KEYS
    },
    "dns_soa_email": (_is_soa_email, 'must be a string containing "@" or "."'),
}


def find_config_problems(values: Mapping[str, Any]) -> list[tuple[str, str]]:
    """Every problem of a ``config_values`` object, as ``(key, message)`` pairs.

    Every key is checked, not only the first (Appendix A item 18): the key pattern and
    length, the value checks on plain keys (``dns_servers`` a list, ``dns_ttl`` a positive
    integer, …), the JSON size and the nesting depth.

    Args:
        values: A ``config_values`` object as stored.

    Returns:
        The problems found, in key order; empty when the object is valid. A problem of
        the whole object (its size) has the key ``""``.
    """
    problems: list[tuple[str, str]] = []
    for key, value in values.items():
        if not is_valid_key(key):
            problems.append((str(key), invalid_key_message(str(key))))
            continue
        problem = _value_problem(key, value)
        if problem is not None:
            problems.append((key, problem))
    size = len(json.dumps(dict(values), separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_JSON_BYTES:
        problems.append(("", f"config values are {size} bytes as JSON (at most {MAX_JSON_BYTES})"))
    for key, value in values.items():
        if _depth(value) + 1 > MAX_NESTING:
            problems.append((str(key), f'config value "{key}" nests deeper than {MAX_NESTING}'))
    return problems


def check_config_values(values: Mapping[str, Any]) -> None:
    """Raise if ``values`` is not a valid ``config_values`` object.

    Raises:
        ConfigValueError: Naming the first offending key, with every problem in
            ``problems``.
    """
    problems = find_config_problems(values)
    if problems:
        key, message = problems[0]
        raise ConfigValueError(message, key=key, problems=problems)


def _value_problem(key: str, value: Any) -> str | None:
    match = KEY_PATTERN.fullmatch(key)
    if match is None or match.group(1):  # only plain keys carry value checks
        return None
    name = match.group(2)
    check = _VALUE_CHECKS.get(name)
    if check is None or check[0](value):
        return None
    return f'config value "{key}" {check[1]}'


def _depth(value: Any) -> int:
    """Container depth of a value: 0 for a scalar, 1 for a flat list or object."""
    depth = 0
    level = [value]
    while level:
        containers = [item for item in level if isinstance(item, dict | list)]
        if not containers:
            break
        depth += 1
        level = [
            child
            for container in containers
            for child in (container.values() if isinstance(container, dict) else container)
        ]
    return depth
