"""Reading and writing elements: ``x[i]`` and ``x[i] = v`` (tscript.md §5.2, §6.2)."""

from __future__ import annotations

from tscript.errors import NotDefined, TypeFault
from tscript.text import text, type_name
from tscript.values import Duration, Value

_KEY_TYPES = (type(None), bool, int, float, str, Duration)


def _position(length: int, key: Value) -> int:
    if key.__class__ is not int and key.__class__ is not bool:
        raise TypeFault(f"a list or string index must be an integer, not {type_name(key)}")
    index = int(key)
    if index < 0:
        index += length
    if not 0 <= index < length:
        raise NotDefined(f"index {int(key)} is out of range (length {length})")
    return index


def get_item(container: Value, key: Value) -> Value:
    """``container[key]`` for lists, strings and maps."""
    cls = container.__class__
    if cls is list or cls is str:
        return container[_position(len(container), key)]
    if cls is dict:
        if not isinstance(key, _KEY_TYPES):
            raise TypeFault(f"a map key must be a scalar, not {type_name(key)}")
        try:
            return container[key]
        except KeyError:
            raise NotDefined(f"key {text(key)!r} is not in the map") from None
    raise TypeFault(f"{type_name(container)} cannot be indexed")


def set_item(container: Value, key: Value, value: Value) -> None:
    """``container[key] = value``: lists never grow; maps gain missing keys."""
    cls = container.__class__
    if cls is list:
        container[_position(len(container), key)] = value
    elif cls is dict:
        if not isinstance(key, _KEY_TYPES):
            raise TypeFault(f"a map key must be a scalar, not {type_name(key)}")
        container[key] = value
    else:
        raise TypeFault(f"cannot assign into {type_name(container)}")
