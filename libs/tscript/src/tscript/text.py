"""The text of a value (tscript.md §7.4), used by the ``.`` operator and in messages.

Top-level values:

* string: itself; int: decimal; float: Python's ``repr``; bool: ``True``/``False``;
  none: ``None``; duration: ``H:MM:SS`` (``str`` of :class:`~tscript.values.Duration`);
* handle: its JSON form, ``{"$handle": {"ref": …, "type": …}}`` (``str`` of
  :class:`~tscript.values.Handle`);
* list / map: like Python's ``str()`` of the equivalent list / dict, so strings inside are
  quoted by Python's ``repr`` rules (``'…'``, or ``"…"`` when the text contains ``'`` but no
  ``"``).

Implementation-defined choice for values nested in lists and maps: a duration is written as its
``H:MM:SS`` text without quotes (``[0:01:30]``) and a handle as its JSON form, exactly as at
the top level.
"""

from __future__ import annotations

import sys
from typing import Any, Final

from tscript.values import Duration, Handle

#: Python types whose ``str()`` inside a list or dict already is the TScript text.
_PLAIN: Final = frozenset((int, str, float, bool, type(None)))

#: Bit length below which ``str(int)`` is always within Python's digit limit (≈ 4214 digits).
_SAFE_BITS: Final = 14000

_TYPE_NAMES: Final = {
    type(None): "none",
    bool: "bool",
    int: "int",
    float: "float",
    str: "string",
    list: "list",
    dict: "map",
    Duration: "duration",
    Handle: "handle",
}


def type_name(value: Any) -> str:
    """Return the TScript name of a value's type, for error messages.

    Args:
        value: Any TScript value.

    Returns:
        One of ``none bool int float string list map duration handle`` (or the Python type
        name for a foreign object).
    """
    return _TYPE_NAMES.get(type(value)) or type(value).__name__


def text(value: Any) -> str:
    """Return the text of a value (tscript.md §7.4).

    Args:
        value: Any TScript value.

    Returns:
        The text; never fails, also not for integers beyond Python's ``str`` digit limit.
    """
    kind = type(value)
    if kind is str:
        return value  # type: ignore[no-any-return]
    if kind is int:
        return _int_text(value)
    if kind is list or kind is dict:
        return _container_text(value)
    if kind is Duration or kind is Handle:
        return str(value)
    # None, bool and float: their str() is the TScript text.
    return str(value)


def _nested_text(value: Any) -> str:
    """Return the text of a value inside a list or map (strings quoted)."""
    kind = type(value)
    if kind is str:
        return repr(value)
    return text(value)


def _container_text(value: list[Any] | dict[Any, Any]) -> str:
    """Return the text of a list or map."""
    if isinstance(value, list):
        return _list_text(value)
    return _map_text(value)


def _list_text(items: list[Any]) -> str:
    """Return the text of a list."""
    if set(map(type, items)) <= _PLAIN:
        try:
            return str(items)
        except ValueError:  # an int beyond the str() digit limit
            pass
    return "[" + ", ".join(map(_nested_text, items)) + "]"


def _map_text(mapping: dict[Any, Any]) -> str:
    """Return the text of a map."""
    if set(map(type, mapping)) <= _PLAIN and set(map(type, mapping.values())) <= _PLAIN:
        try:
            return str(mapping)
        except ValueError:  # an int beyond the str() digit limit
            pass
    pairs = (f"{_nested_text(key)}: {_nested_text(item)}" for key, item in mapping.items())
    return "{" + ", ".join(pairs) + "}"


def _int_text(number: int) -> str:
    """Return the decimal text of an int of any size."""
    if number.bit_length() < _SAFE_BITS or sys.get_int_max_str_digits() == 0:
        return str(number)
    if number < 0:
        return "-" + _int_text(-number)
    # Split into halves of roughly equal decimal length and convert each half.
    half = int(number.bit_length() * 0.30103) // 2
    high, low = divmod(number, 10**half)
    return _int_text(high) + _int_text(low).rjust(half, "0")
