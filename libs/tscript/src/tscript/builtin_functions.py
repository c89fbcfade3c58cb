"""The pure builtins (tscript.md §8) as plain functions on evaluated argument dicts.

Each function takes the dict of named arguments of one call. The values are the arguments'
values themselves (not copies), so ``append`` and ``pop`` change the variable passed as
``array`` in place.

Error kinds (tscript.md §9.2):

* :class:`~tscript.errors.ParameterError`: a missing or unknown argument, or an argument of the
  wrong type (for example ``pop`` on a string, a float ``index``, a list as a ``pop`` key);
* :class:`~tscript.errors.NotDefined`: ``pop`` on an empty list, a list index out of range, a
  missing map key, and ``index`` not finding the value (like indexing, §6.2);
* :class:`~tscript.errors.TypeFault`: a handle passed as ``array`` to any of these builtins
  (§12.7).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, Final

from tscript.codec import copy_value
from tscript.errors import NotDefined, ParameterError, TypeFault
from tscript.text import type_name
from tscript.values import Duration, Handle

Args = dict[str, Any]

#: Types allowed as map keys (and so as the ``index`` of ``pop`` on a map).
_KEY_TYPES: Final = frozenset((int, str, float, bool, type(None), Duration))
_INTEGER_TEXT: Final = re.compile(r"[+-]?[0-9]+")
_DELAY_ARGS: Final = ("seconds", "minutes", "hours")


def _check_names(
    name: str, args: Args, required: tuple[str, ...], optional: tuple[str, ...]
) -> None:
    """Raise ParameterError for a missing required or an unknown argument."""
    for arg in required:
        if arg not in args:
            raise ParameterError(f"{name}: missing argument '{arg}'")
    for arg in args:
        if arg not in required and arg not in optional:
            raise ParameterError(f"{name}: unknown argument '{arg}'")


def _wrong_type(name: str, arg: str, value: Any, wanted: str) -> ParameterError:
    """Build the error for an argument of the wrong type."""
    return ParameterError(f"{name}: '{arg}' must be {wanted}, not {type_name(value)}")


def _array(name: str, value: Any, kinds: tuple[type, ...], wanted: str) -> Any:
    """Return the ``array`` argument if its type is one of ``kinds``."""
    if type(value) in kinds:
        return value
    if type(value) is Handle:
        raise TypeFault(f"{name}: cannot use a handle as 'array'")
    raise _wrong_type(name, "array", value, wanted)


def len_(args: Args) -> int:
    """``len(array)``: the length of a list, map or string.

    Raises:
        ParameterError: bad arguments.
        TypeFault: ``array`` is a handle.
    """
    _check_names("len", args, ("array",), ())
    return len(_array("len", args["array"], (list, dict, str), "a list, map or string"))


def _bound(value: Any) -> int | None:
    """Check a slice bound: an int, a bool or none."""
    kind = type(value)
    if kind is int or value is None:
        return value  # type: ignore[no-any-return]
    if kind is bool:
        return int(value)
    raise _wrong_type("slice", "bound", value, "an int, bool or none")


def slice_(args: Args) -> Any:
    """``slice(array, start, end)``: a new list or string ``array[start:end]``.

    Negative bounds count from the end, none means the matching end, and out-of-range bounds
    are clamped. The new list is a deep copy, so it shares nothing with ``array``.

    Raises:
        ParameterError: bad arguments.
        TypeFault: ``array`` is a handle.
    """
    _check_names("slice", args, ("array", "start", "end"), ())
    array = _array("slice", args["array"], (list, str), "a list or string")
    start = _bound(args["start"])
    end = _bound(args["end"])
    part = array[start:end]
    return part if type(part) is str else copy_value(part)


def pop(args: Args) -> Any:
    """``pop(array, index=-1)``: remove and return a list element or a map entry's value.

    On a map, ``index`` is the key (its default is -1 there too).

    Raises:
        ParameterError: bad arguments (``index`` not an int/bool for a list, not a scalar key
            for a map).
        NotDefined: an empty list, an index out of range or a missing key.
        TypeFault: ``array`` is a handle.
    """
    _check_names("pop", args, ("array",), ("index",))
    array = _array("pop", args["array"], (list, dict), "a list or map")
    index = args.get("index", -1)
    if type(array) is dict:
        return _pop_key(array, index)
    if type(index) is not int and type(index) is not bool:
        raise _wrong_type("pop", "index", index, "an int or bool")
    if not -len(array) <= index < len(array):
        raise NotDefined(f"pop: index {index} out of range for a list of {len(array)}")
    return array.pop(index)


def _pop_key(mapping: dict[Any, Any], key: Any) -> Any:
    """Remove and return the value of ``key`` from a map."""
    if type(key) not in _KEY_TYPES:
        raise _wrong_type("pop", "index", key, "a scalar map key")
    if key not in mapping:
        raise NotDefined(f"pop: key {key!r} not in map")
    return mapping.pop(key)


def append(args: Args) -> None:
    """``append(array, value)``: append a copy of ``value`` to the list in place.

    Raises:
        ParameterError: bad arguments.
        TypeFault: ``array`` is a handle.
    """
    _check_names("append", args, ("array", "value"), ())
    array = _array("append", args["array"], (list,), "a list")
    array.append(copy_value(args["value"]))


def index(args: Args) -> int:
    """``index(array, value)``: first position of an element ``==`` value, or of a substring.

    Raises:
        ParameterError: bad arguments (a non-string ``value`` for a string ``array``).
        NotDefined: the value is not found.
        TypeFault: ``array`` is a handle.
    """
    _check_names("index", args, ("array", "value"), ())
    array = _array("index", args["array"], (list, str), "a list or string")
    value = args["value"]
    if type(array) is str:
        if type(value) is not str:
            raise _wrong_type("index", "value", value, "a string when 'array' is a string")
        position: int = array.find(value)
        if position < 0:
            raise NotDefined(f"index: {value!r} not found")
        return position
    try:
        return array.index(value)  # type: ignore[no-any-return]
    except ValueError:
        raise NotDefined("index: value not found in list") from None


def _delay_int(name: str, value: Any) -> int:
    """Convert one ``delay`` argument to int (tscript.md §8)."""
    kind = type(value)
    if kind is int or kind is bool:
        return int(value)
    if kind is float:
        if value - value == 0.0:  # finite
            return int(value)
    elif kind is str:
        digits = value.strip()
        if _INTEGER_TEXT.fullmatch(digits) and len(digits) < 4300:
            return int(digits)
    raise ParameterError(f"delay: '{name}' must be convertible to an int, not {value!r}")


def delay_seconds(args: Args) -> int | float:
    """Return the total seconds of a ``delay(seconds=0, minutes=0, hours=0)`` call.

    Each argument is converted to int: ints and bools as they are, floats truncated toward
    zero, strings parsed as decimal integers (ASCII digits) with an optional sign and
    surrounding whitespace. Unknown argument names are ignored.

    Args:
        args: The call's named arguments.

    Returns:
        ``seconds + 60 * minutes + 3600 * hours``, an int; it may be negative.

    Raises:
        ParameterError: a conversion fails, or all three values are zero.
    """
    seconds, minutes, hours = (_delay_int(name, args.get(name, 0)) for name in _DELAY_ARGS)
    if seconds == 0 and minutes == 0 and hours == 0:
        raise ParameterError("delay: seconds, minutes and hours are all zero")
    return seconds + 60 * minutes + 3600 * hours


#: Builtin name → function, for the builtins that only compute a value.
PURE: Final[dict[str, Callable[[Args], Any]]] = {
    "len": len_,
    "slice": slice_,
    "pop": pop,
    "append": append,
    "index": index,
}
