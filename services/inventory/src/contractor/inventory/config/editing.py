"""Editing stored ``config_values`` (inventory spec §6.6)."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from contractor.inventory.config.layers import ConfigMap
from contractor.inventory.config.validation import check_config_values


def edit_config_values(
    config_values: Mapping[str, Any],
    *,
    set_values: Mapping[str, Any] | None = None,
    remove: Iterable[str] = (),
) -> ConfigMap:
    """Apply a ``PATCH /…/config`` body ``{"set": {…}, "remove": […]}`` to stored values.

    Removes first, then sets: a key that exists keeps its position, a new key is appended
    (so a key both removed and set moves to the end). Removing an absent key is not an
    error. The result is checked as a whole (spec §3.1) before it is returned; the input
    is not changed.

    Args:
        config_values: The stored ``config_values``, in stored order.
        set_values: Keys to set (operators and class suffixes are part of the key).
        remove: Keys to remove, exactly as stored.

    Returns:
        The new ``config_values``.

    Raises:
        ConfigValueError: A key or value of the result is invalid.
    """
    result: ConfigMap = copy.deepcopy(dict(config_values))
    for key in remove:
        result.pop(key, None)
    for key, value in (set_values or {}).items():
        result[key] = copy.deepcopy(value)
    check_config_values(result)
    return result
