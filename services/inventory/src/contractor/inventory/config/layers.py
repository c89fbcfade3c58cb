"""Applying one layer of ``config_values`` to a config map (inventory spec §6.2)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from contractor.inventory.config.errors import ConfigValueError
from contractor.inventory.config.keys import ParsedKey, parse_key
from contractor.servicekit.jsontree import copy_json

ConfigMap = dict[str, Any]
"""A config map: JSON-compatible values under string names, in insertion order."""


def apply_layer(
    config: ConfigMap, values: Mapping[str, Any], class_list: Sequence[str]
) -> ConfigMap:
    """Apply one layer of user ``config_values`` to ``config``, in place.

    Keys run by operator rank (``-``, plain, ``<``, ``>``, ``~``), keeping their stored
    order within a rank; keys whose ``:Class`` is not in ``class_list`` are skipped.
    Layer values are deep-copied, so ``values`` is never changed. Every key is checked
    before anything is applied, so an invalid key leaves ``config`` untouched (an operator
    error may leave it partly updated: callers merge into a fresh map and drop it).

    Args:
        config: The map to update; it is changed in place and returned.
        values: The layer's ``config_values``.
        class_list: The target's class names for ``:Class`` filters.

    Returns:
        ``config``, after the layer.

    Raises:
        ConfigValueError: A key is invalid, or ``<``/``>`` puts a non-object onto an object.
    """
    parsed = [parse_key(key) for key in values]
    classes = tuple(class_list)
    for key in sorted(parsed, key=lambda item: item.rank):
        if key.applies_to(classes):
            _apply_key(config, key, copy_json(values[key.key]))
    return config


def _apply_key(config: ConfigMap, key: ParsedKey, value: Any) -> None:
    name = key.name
    if key.op == "~":
        config.pop(name, None)
    elif key.op == "":
        config[name] = value
    elif name not in config:
        if key.op != "-":
            config[name] = value
    else:
        config[name] = _OPERATIONS[key.op](config[name], value, key)


def _prepend(old: Any, value: Any, key: ParsedKey) -> Any:
    if isinstance(old, str):
        return str(value) + old
    if isinstance(old, list):
        return (value if isinstance(value, list) else [value]) + old
    if isinstance(old, dict):
        return _update_object(old, value, key)
    return old


def _append(old: Any, value: Any, key: ParsedKey) -> Any:
    if isinstance(old, str):
        return old + str(value)
    if isinstance(old, list):
        return old + (value if isinstance(value, list) else [value])
    if isinstance(old, dict):
        return _update_object(old, value, key)
    return old


def _update_object(old: dict[str, Any], value: Any, key: ParsedKey) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigValueError(
            f'config value "{key.key}": cannot add a {type(value).__name__} to an object',
            key=key.key,
        )
    old.update(value)
    return old


def _remove(old: Any, value: Any, key: ParsedKey) -> Any:
    if isinstance(old, str):
        return old.replace(str(value), "", 1)
    if isinstance(old, list):
        for item in value if isinstance(value, list) else [value]:
            if item in old:
                old.remove(item)
        return old
    if isinstance(old, dict):
        names = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        for item in names:
            if isinstance(item, str):
                old.pop(item, None)
        return old
    return old


_OPERATIONS: Final[dict[str, Callable[[Any, Any, ParsedKey], Any]]] = {
    "<": _prepend,
    ">": _append,
    "-": _remove,
}
