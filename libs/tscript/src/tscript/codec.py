"""JSON encoding of TScript values (tscript.md §14.3) and deep copies (§7.5).

Two encodings share one decoder:

* :func:`to_json` (CLI output, ``--vars``): a map whose keys are all strings, none starting with
  ``$``, is a JSON object in iteration order; any other map is ``{"$map": [[key, value], ...]}``.
* :func:`to_state_json` (saved states, written with sorted keys): the same, except that a map is
  a plain object only when its keys are also already in sorted order, so a map's iteration
  order survives a save and load even though the state's objects are written with sorted keys.

Durations are ``{"$duration": seconds}`` (an int when whole) and handles
``{"$handle": {"type": ..., "ref": ...}}``. Lists and maps of plain scalars are encoded,
decoded and copied without per-element Python work. Very deeply nested values are limited by
Python's recursion limit.
"""

from __future__ import annotations

import json
import math
from operator import methodcaller
from typing import Any, Final

from tscript.errors import TScriptError
from tscript.text import type_name
from tscript.values import Duration, Handle


class CodecError(TScriptError):
    """A value cannot be encoded, or a JSON document is not a valid encoding of a value."""


#: Scalars whose JSON form is the value itself (floats also need a finiteness check).
_SCALAR: Final = frozenset((int, str, bool, type(None)))
_SCALAR_OR_FLOAT: Final = _SCALAR | {float}
#: Types of values that are never mutated, so copies may share them.
_IMMUTABLE: Final = _SCALAR_OR_FLOAT | {Duration, Handle}
#: Types allowed as map keys.
_KEY_TYPES: Final = _SCALAR_OR_FLOAT | {Duration}
_NUMBER: Final = frozenset((int, float, bool))
_TAGS: Final = ("$duration", "$map", "$handle")

_starts_with_dollar: Final = methodcaller("startswith", "$")


def to_json(value: Any) -> Any:
    """Encode a value as a JSON-able Python object (tscript.md §14.3).

    Args:
        value: Any TScript value.

    Returns:
        Python data made of dicts, lists, strings, numbers, bools and ``None``. Lists of plain
        scalars are shallow copies; handle references are shared, not copied.

    Raises:
        CodecError: a non-finite float, a map key of a non-scalar type, or a foreign object.
    """
    return _encode(value, False)


def to_state_json(value: Any) -> Any:
    """Encode a value for a saved state, preserving map order under sorted-key JSON.

    Args:
        value: Any TScript value.

    Returns:
        Like :func:`to_json`, but a map is a plain object only when its keys are already sorted.

    Raises:
        CodecError: as for :func:`to_json`.
    """
    return _encode(value, True)


def from_json(obj: Any) -> Any:
    """Decode a JSON-able Python object into a value (tscript.md §14.3).

    Args:
        obj: Data as produced by ``json.loads`` (or by :func:`to_json`).

    Returns:
        The value; objects become dicts in the object's key order.

    Raises:
        CodecError: an object with a ``$``-key other than exactly one ``$duration``, ``$map`` or
            ``$handle`` key, a malformed tagged object, a non-scalar or repeated ``$map`` key, a
            non-finite float, or a Python object that JSON cannot hold.
    """
    kind = type(obj)
    if kind in _SCALAR:
        return obj
    if kind is list:
        if _plain_list(obj):
            return obj.copy()
        return [from_json(item) for item in obj]
    if kind is dict:
        return _decode_object(obj)
    if kind is float:
        return _finite(obj)
    raise CodecError(f"not a JSON value: {kind.__name__}")


def from_state_json(obj: Any) -> Any:
    """Decode a value written by :func:`to_state_json` (after a JSON round trip).

    Plain objects were only written for maps whose keys were sorted, and ``$map`` pairs keep
    their order, so the decoded map iterates in the order it had when saved.

    Args:
        obj: Data as produced by ``json.loads``.

    Returns:
        The value.

    Raises:
        CodecError: as for :func:`from_json`.
    """
    return from_json(obj)


def dumps_canonical(obj: Any) -> str:
    """Return canonical JSON text: sorted keys, no insignificant whitespace, raw UTF-8.

    Args:
        obj: JSON-able Python data.

    Returns:
        The JSON text.

    Raises:
        ValueError: ``obj`` holds a NaN or infinite float.
    """
    return json.dumps(
        obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    )


def copy_value(value: Any) -> Any:
    """Return a deep copy of a value for assignment (tscript.md §7.5).

    Scalars, durations and handles are immutable and returned as they are; lists and maps are
    copied recursively.

    Args:
        value: Any TScript value.

    Returns:
        A value equal to ``value`` that shares no list or map with it.
    """
    kind = type(value)
    if kind is list:
        if set(map(type, value)) <= _IMMUTABLE:
            return value.copy()
        return [copy_value(item) for item in value]
    if kind is dict:
        if set(map(type, value.values())) <= _IMMUTABLE:
            return value.copy()
        return {key: copy_value(item) for key, item in value.items()}
    return value


# ---------------------------------------------------------------------------------- encoding


def _encode(value: Any, state: bool) -> Any:
    """Encode one value; ``state`` selects the order-preserving map rule."""
    kind = type(value)
    if kind in _SCALAR:
        return value
    if kind is list:
        if _plain_list(value):
            return value.copy()
        return [_encode(item, state) for item in value]
    if kind is dict:
        return _encode_map(value, state)
    if kind is float:
        return _finite(value)
    if kind is Duration:
        return {"$duration": _duration_seconds(value)}
    if kind is Handle:
        return {"$handle": {"type": value.type, "ref": value.ref}}
    raise CodecError(f"cannot encode a {type_name(value)}")


def _encode_map(mapping: dict[Any, Any], state: bool) -> Any:
    """Encode a map as a plain object when allowed, else as ``$map`` pairs."""
    if _plain_keys(mapping, state):
        if set(map(type, mapping.values())) <= _SCALAR:
            return mapping.copy()
        return {key: _encode(item, state) for key, item in mapping.items()}
    return {"$map": [[_encode_key(key), _encode(item, state)] for key, item in mapping.items()]}


def _plain_keys(mapping: dict[Any, Any], state: bool) -> bool:
    """Return whether a map's keys allow the plain-object form."""
    if not _string_keys_without_dollar(mapping):
        return False
    if not state:
        return True
    keys = list(mapping)
    return keys == sorted(keys)


def _string_keys_without_dollar(mapping: dict[Any, Any]) -> bool:
    """Return whether all keys are strings and none starts with ``$`` (C-speed scan)."""
    try:
        joined = "\0".join(mapping)
    except TypeError:  # a key that is not a string
        return False
    if joined.startswith("$") or "\0$" in joined:
        # A key may itself contain "\0$": decide exactly.
        return not any(map(_starts_with_dollar, mapping))
    return True


def _plain_list(items: list[Any]) -> bool:
    """Return whether a list holds only scalars that are their own JSON form."""
    kinds = set(map(type, items))
    if kinds <= _SCALAR:
        return True
    if kinds <= _NUMBER:
        # A NaN or infinity makes the sum non-finite (as may an overflow: then decide slowly).
        try:
            return math.isfinite(sum(items))
        except OverflowError:  # an int too large for a float
            return False
    return False


def _encode_key(key: Any) -> Any:
    """Encode a map key, refusing types that cannot be keys."""
    if type(key) not in _KEY_TYPES:
        raise CodecError(f"a {type_name(key)} cannot be a map key")
    return _encode(key, False)


def _duration_seconds(duration: Duration) -> int | float:
    """Return a duration's seconds for JSON: an int when whole."""
    seconds = duration.seconds
    if type(seconds) is float:
        if seconds.is_integer():
            return int(seconds)
        return _finite(seconds)
    return int(seconds)


def _finite(number: float) -> float:
    """Return a float, or raise CodecError if it is NaN or infinite."""
    if math.isfinite(number):
        return number
    raise CodecError(f"float {number!r} has no JSON encoding")


# ---------------------------------------------------------------------------------- decoding


def _decode_object(obj: dict[Any, Any]) -> Any:
    """Decode a JSON object: a tagged value or a map."""
    if len(obj) == 1:
        ((key, body),) = obj.items()
        if key == "$duration":
            return _decode_duration(body)
        if key == "$map":
            return _decode_pairs(body)
        if key == "$handle":
            return _decode_handle(body)
    if not _string_keys_without_dollar(obj):
        if not all(type(key) is str for key in obj):
            raise CodecError("object keys must be strings")
        bad = next(key for key in obj if key.startswith("$"))
        raise CodecError(
            f"unexpected key {bad!r}: only a lone {', '.join(_TAGS)} key may start with $"
        )
    if set(map(type, obj.values())) <= _SCALAR:
        return obj.copy()
    return {key: from_json(item) for key, item in obj.items()}


def _decode_duration(body: Any) -> Duration:
    """Decode the body of ``{"$duration": seconds}``."""
    kind = type(body)
    if kind is int:
        return Duration(body)
    if kind is float:
        return Duration(_finite(body))
    raise CodecError("$duration must be a number of seconds")


def _decode_pairs(body: Any) -> dict[Any, Any]:
    """Decode the body of ``{"$map": [[key, value], ...]}``."""
    if type(body) is not list:
        raise CodecError("$map must be a list of [key, value] pairs")
    result: dict[Any, Any] = {}
    for pair in body:
        if type(pair) is not list or len(pair) != 2:
            raise CodecError("$map must be a list of [key, value] pairs")
        key = from_json(pair[0])
        if type(key) not in _KEY_TYPES:
            raise CodecError(f"a {type_name(key)} cannot be a map key")
        if key in result:
            raise CodecError(f"repeated map key {key!r}")
        result[key] = from_json(pair[1])
    return result


def _decode_handle(body: Any) -> Handle:
    """Decode the body of ``{"$handle": {"type": ..., "ref": ...}}``."""
    if type(body) is not dict or set(body) != {"type", "ref"} or type(body["type"]) is not str:
        raise CodecError('$handle must be {"type": string, "ref": JSON}')
    try:
        return Handle(body["type"], body["ref"])
    except (TypeError, ValueError) as exc:
        raise CodecError(f"$handle ref is not JSON: {exc}") from None
