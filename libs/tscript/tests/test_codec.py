"""JSON encoding of values (tscript.md §14.3), the state codec and deep copies (§7.5)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tscript.codec import (
    CodecError,
    copy_value,
    dumps_canonical,
    from_json,
    from_state_json,
    to_json,
    to_state_json,
)
from tscript.errors import TScriptError
from tscript.values import Duration, Handle


def shape(value: Any) -> Any:
    """A comparable picture of a value: exact types, float bits, map key order."""
    kind = type(value)
    if kind is float:
        return ("float", repr(value))
    if kind is list:
        return ("list", [shape(item) for item in value])
    if kind is dict:
        return ("map", [(shape(key), shape(item)) for key, item in value.items()])
    if kind is Duration:
        return ("duration", float(value.seconds))
    if kind is Handle:
        return ("handle", value.key)
    return (kind.__name__, value)


# ------------------------------------------------------------------------------ strategies

json_data = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)
durations = st.builds(
    Duration,
    st.integers(-(10**6), 10**9) | st.floats(-1e6, 1e9, allow_nan=False, allow_infinity=False),
)
handles = st.builds(Handle, st.text(max_size=10), json_data)
keys = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=6)
    | st.sampled_from(["$duration", "$map", "$handle", "$", "a", "b", "$x"])
    | durations
)
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | durations
    | handles
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(keys, inner, max_size=5)
        | st.dictionaries(st.text(max_size=4), inner, max_size=5)
    ),
    max_leaves=25,
)


# ------------------------------------------------------------------------------ round trips


@settings(max_examples=300)
@given(values)
def test_json_round_trip_keeps_values_types_and_order(value: Any) -> None:
    text = json.dumps(to_json(value), allow_nan=False)
    decoded = from_json(json.loads(text))
    assert decoded == value
    assert shape(decoded) == shape(value)


@settings(max_examples=300)
@given(values)
def test_state_round_trip_keeps_map_order_under_sorted_keys(value: Any) -> None:
    text = dumps_canonical(to_state_json(value))
    decoded = from_state_json(json.loads(text))
    assert shape(decoded) == shape(value)
    assert dumps_canonical(to_state_json(decoded)) == text


@settings(max_examples=100)
@given(values)
def test_copy_value_is_equal_and_shares_no_container(value: Any) -> None:
    copied = copy_value(value)
    assert shape(copied) == shape(value)
    assert not _shared_containers(value, copied)


def _containers(value: Any) -> list[int]:
    if type(value) is list:
        return [id(value), *(i for item in value for i in _containers(item))]
    if type(value) is dict:
        return [id(value), *(i for item in value.values() for i in _containers(item))]
    return []


def _shared_containers(left: Any, right: Any) -> bool:
    return bool(set(_containers(left)) & set(_containers(right)))


# ------------------------------------------------------------------------------ encoding


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "null"),
        (True, "true"),
        (2, "2"),
        (2.0, "2.0"),
        (1e17, "1e+17"),
        ("é", '"é"'),
        (10**50, "1" + "0" * 50),
        ([1, 2.0, True], "[1,2.0,true]"),
        ({"b": 1, "a": 2}, '{"a":2,"b":1}'),
        ({1: "x"}, '{"$map":[[1,"x"]]}'),
        ({"$x": 1}, '{"$map":[["$x",1]]}'),
        ({"a": 1, 2.5: 2}, '{"$map":[["a",1],[2.5,2]]}'),
        ({None: 1, True: 2}, '{"$map":[[null,1],[true,2]]}'),
        ({Duration(5): 1}, '{"$map":[[{"$duration":5},1]]}'),
        (Duration(90), '{"$duration":90}'),
        (Duration(90.0), '{"$duration":90}'),
        (Duration(1.5), '{"$duration":1.5}'),
        (Handle("foundation", {"id": 3}), '{"$handle":{"ref":{"id":3},"type":"foundation"}}'),
        ({}, "{}"),
        ([], "[]"),
    ],
)
def test_to_json(value: Any, expected: str) -> None:
    assert dumps_canonical(to_json(value)) == expected


def test_to_json_keeps_insertion_order_of_plain_maps() -> None:
    assert json.dumps(to_json({"b": 1, "a": {"d": 2, "c": 3}})) == '{"b": 1, "a": {"d": 2, "c": 3}}'


def test_state_json_writes_unsorted_maps_as_pairs() -> None:
    assert to_state_json({"a": 1, "b": 2}) == {"a": 1, "b": 2}
    assert to_state_json({"b": 1, "a": 2}) == {"$map": [["b", 1], ["a", 2]]}
    assert to_state_json([{"b": {"d": 1, "c": 2}}]) == [{"b": {"$map": [["d", 1], ["c", 2]]}}]
    assert to_json({"b": 1, "a": 2}) == {"b": 1, "a": 2}
    decoded = from_state_json(json.loads(dumps_canonical(to_state_json({"b": 1, "a": 2}))))
    assert list(decoded) == ["b", "a"]


def test_keys_containing_nul_and_dollar_stay_plain() -> None:
    value = {"a\0$b": 1, "c": 2}
    assert to_json(value) == value
    assert from_json({"a\0$b": 1}) == {"a\0$b": 1}
    assert to_json({"": 1, "$a": 2}) == {"$map": [["", 1], ["$a", 2]]}


@pytest.mark.parametrize(
    "value",
    [
        math.nan,
        math.inf,
        [1.0, -math.inf],
        {"a": math.nan},
        {math.nan: 1},
        Duration(math.inf),
        {Handle("t", 1): 1},
        (1, 2),
        {1, 2},
        object(),
    ],
)
def test_to_json_errors(value: Any) -> None:
    with pytest.raises(CodecError):
        to_json(value)
    with pytest.raises(CodecError):
        to_state_json(value)


def test_codec_error_is_a_tscript_error() -> None:
    assert issubclass(CodecError, TScriptError)


def test_big_list_with_huge_int_and_floats_is_checked_slowly() -> None:
    assert to_json([10**400, 1.5]) == [10**400, 1.5]
    assert to_json([1e308, 1e308]) == [1e308, 1e308]
    with pytest.raises(CodecError):
        from_json([1e308, math.nan])


# ------------------------------------------------------------------------------ decoding


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        ({"$duration": 90}, Duration(90)),
        ({"$duration": 1.5}, Duration(1.5)),
        ({"$map": []}, {}),
        (
            {"$map": [[1, "a"], [None, [1]], ["k", {"$duration": 2}]]},
            {1: "a", None: [1], "k": Duration(2)},
        ),
        ({"$map": [[{"$duration": 3}, 1]]}, {Duration(3): 1}),
        ({"$handle": {"type": "t", "ref": [1, {"a": None}]}}, Handle("t", [1, {"a": None}])),
        ({"a": {"$duration": 5}, "b": [{"$map": [[2, 3]]}]}, {"a": Duration(5), "b": [{2: 3}]}),
        ({}, {}),
        ({"a": 1.0}, {"a": 1.0}),
    ],
)
def test_from_json(obj: Any, expected: Any) -> None:
    assert shape(from_json(obj)) == shape(expected)


@pytest.mark.parametrize(
    "obj",
    [
        {"$x": 1},
        {"$": 1},
        {"a": 1, "$duration": 2},
        {"$duration": 1, "$map": []},
        {"$duration": "5"},
        {"$duration": True},
        {"$duration": None},
        {"$duration": math.inf},
        {"$map": {"a": 1}},
        {"$map": [[1]]},
        {"$map": [[1, 2, 3]]},
        {"$map": [1]},
        {"$map": [[[1], 2]]},
        {"$map": [[{"a": 1}, 2]]},
        {"$map": [[{"$handle": {"type": "t", "ref": 1}}, 2]]},
        {"$map": [[1, "a"], [1.0, "b"]]},
        {"$map": [[1, "a"], [True, "b"]]},
        {"$handle": {"type": "t"}},
        {"$handle": {"type": 1, "ref": 1}},
        {"$handle": {"type": "t", "ref": 1, "x": 2}},
        {"$handle": "t"},
        {"$handle": {"type": "t", "ref": {1, 2}}},
        {1: "a"},
        [math.nan],
        {"a": math.inf},
        -math.inf,
        (1, 2),
        [{"ok": [{"$bad": 1}]}],
    ],
)
def test_from_json_errors(obj: Any) -> None:
    with pytest.raises(CodecError):
        from_json(obj)
    with pytest.raises(CodecError):
        from_state_json(obj)


def test_types_are_preserved_through_json_text() -> None:
    value = {"i": 2, "f": 2.0, "b": True, "n": None, "l": [2, 2.0, True, False, 0, 0.0]}
    decoded = from_json(json.loads(json.dumps(to_json(value))))
    assert shape(decoded) == shape(value)
    decoded = from_state_json(json.loads(dumps_canonical(to_state_json(value))))
    assert shape(decoded) == shape(value)


def test_decoded_containers_are_fresh() -> None:
    obj = {"a": [1, 2]}
    decoded = from_json(obj)
    decoded["a"].append(3)
    assert obj == {"a": [1, 2]}
    items = [1, "x"]
    assert from_json(items) is not items
    assert to_json(items) is not items


def test_dumps_canonical() -> None:
    assert dumps_canonical({"b": [1, 2.0], "a": "é"}) == '{"a":"é","b":[1,2.0]}'
    with pytest.raises(ValueError):
        dumps_canonical([math.nan])


def test_copy_value() -> None:
    inner = [1, 2]
    original = {"a": inner, "b": [Duration(1), Handle("t", 1)], "c": {"d": [inner]}}
    copied = copy_value(original)
    assert copied == original
    inner.append(3)
    assert copied["a"] == [1, 2]
    assert copied["c"]["d"] == [[1, 2]]
    assert copy_value(5) == 5
    assert copy_value("s") == "s"
    duration = Duration(3)
    assert copy_value(duration) is duration


@pytest.mark.parametrize(
    "items", [list(range(10_000)), [str(i) for i in range(10_000)], [i / 2 for i in range(10_000)]]
)
def test_big_plain_lists_round_trip_without_per_element_work(items: list[Any]) -> None:
    # Speed is measured by `make bench`; here: the plain-list fast path gives equal, fresh lists.
    encoded = to_state_json(items)
    decoded = from_state_json(encoded)
    assert decoded == items
    assert decoded is not items
