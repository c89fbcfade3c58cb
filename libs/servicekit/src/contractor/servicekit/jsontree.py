"""Deep copies of JSON trees (dicts, lists, scalars), as stored in JSON columns.

Several times faster than ``copy.deepcopy``, whose memo for shared and cyclic objects a JSON
tree cannot need; merges and steps copy such trees on hot paths. Anything that is not JSON
falls back to ``copy.deepcopy``.
"""

from __future__ import annotations

import copy
from typing import Any


def copy_json(value: Any) -> Any:
    """A deep copy of ``value``."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if type(value) is dict:
        return {key: copy_json(item) for key, item in value.items()}
    if type(value) is list:
        return [copy_json(item) for item in value]
    return copy.deepcopy(value)
