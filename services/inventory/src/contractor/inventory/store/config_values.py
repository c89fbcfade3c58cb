"""Checks on ``config_values`` objects of sites, blueprints and structures (§2, §3.1)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from contractor.inventory.config.validation import find_config_problems
from contractor.servicekit.errors import FieldError


def check(values: dict[str, Any], loc: Sequence[str | int]) -> None:
    """Refuse a config object that breaks a key, size, depth or value rule.

    Raises:
        FieldError: 422 ``invalid-config``, one entry per offending key.
    """
    problems = find_config_problems(values)
    if not problems:
        return
    located = [([*loc, key] if key else [*loc], message) for key, message in problems]
    (first_loc, first_msg), *more = located
    raise FieldError(first_loc, first_msg, type_slug="invalid-config", more=more)
