"""Pure builtins (tscript.md §8)."""

from __future__ import annotations

from typing import Any

import pytest
from tscript.builtin_functions import (
    PURE,
    append,
    delay_seconds,
    index,
    len_,
    pop,
    slice_,
)
from tscript.errors import NotDefined, ParameterError, TypeFault
from tscript.values import Duration, Handle

HANDLE = Handle("foundation", {"id": 1})


def test_pure_table() -> None:
    assert {"len": len_, "slice": slice_, "pop": pop, "append": append, "index": index} == PURE


# ------------------------------------------------------------------------------ len


@pytest.mark.parametrize(
    ("array", "expected"), [([], 0), ([1, [2, 3]], 2), ({"a": 1, "b": 2}, 2), ("", 0), ("héllo", 5)]
)
def test_len(array: Any, expected: int) -> None:
    assert len_({"array": array}) == expected


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({}, ParameterError),
        ({"array": [], "extra": 1}, ParameterError),
        ({"array": 5}, ParameterError),
        ({"array": None}, ParameterError),
        ({"array": Duration(5)}, ParameterError),
        ({"array": HANDLE}, TypeFault),
    ],
)
def test_len_errors(args: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        len_(args)


# ------------------------------------------------------------------------------ slice


@pytest.mark.parametrize(
    ("array", "start", "end", "expected"),
    [
        ([1, 2, 3], -2, 10, [2, 3]),
        ([1, 2, 3], 0, 2, [1, 2]),
        ([1, 2, 3], None, None, [1, 2, 3]),
        ([1, 2, 3], None, -1, [1, 2]),
        ([1, 2, 3], True, None, [2, 3]),
        ([1, 2, 3], 5, 10, []),
        ([1, 2, 3], -10, 1, [1]),
        ([1, 2, 3], 2, 1, []),
        ("hello", 1, 3, "el"),
        ("hello", -3, None, "llo"),
        ("hello", 10, 20, ""),
    ],
)
def test_slice(array: Any, start: Any, end: Any, expected: Any) -> None:
    assert slice_({"array": array, "start": start, "end": end}) == expected


def test_slice_returns_a_deep_copy() -> None:
    inner = [1]
    array = [inner, 2]
    part = slice_({"array": array, "start": 0, "end": 1})
    part[0].append(5)
    assert array == [[1], 2]
    assert part is not array


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"array": [1], "start": 0}, ParameterError),
        ({"array": [1], "end": 0}, ParameterError),
        ({"start": 0, "end": 1}, ParameterError),
        ({"array": [1], "start": 0, "end": 1, "step": 1}, ParameterError),
        ({"array": [1], "start": 0.5, "end": 1}, ParameterError),
        ({"array": [1], "start": 0, "end": "1"}, ParameterError),
        ({"array": {"a": 1}, "start": 0, "end": 1}, ParameterError),
        ({"array": 5, "start": 0, "end": 1}, ParameterError),
        ({"array": HANDLE, "start": 0, "end": 1}, TypeFault),
    ],
)
def test_slice_errors(args: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        slice_(args)


# ------------------------------------------------------------------------------ pop


def test_pop_list_in_place() -> None:
    array = [1, 2, 3]
    assert pop({"array": array}) == 3
    assert pop({"array": array}) == 2
    assert array == [1]
    array = [1, 2, 3]
    assert pop({"array": array, "index": 0}) == 1
    assert pop({"array": array, "index": -2}) == 2
    assert pop({"array": array, "index": False}) == 3
    assert array == []


def test_pop_map_in_place() -> None:
    mapping: dict[Any, Any] = {"a": 1, 2: "b", Duration(5): "d", -1: "m"}
    assert pop({"array": mapping, "index": "a"}) == 1
    assert pop({"array": mapping, "index": 2.0}) == "b"
    assert pop({"array": mapping, "index": Duration(5)}) == "d"
    assert pop({"array": mapping}) == "m"  # the default index -1 is the key
    assert mapping == {}


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"array": []}, NotDefined),
        ({"array": [1], "index": 1}, NotDefined),
        ({"array": [1], "index": -2}, NotDefined),
        ({"array": {"a": 1}, "index": "b"}, NotDefined),
        ({"array": {"a": 1}}, NotDefined),
        ({"array": [1], "index": 0.0}, ParameterError),
        ({"array": [1], "index": "0"}, ParameterError),
        ({"array": [1], "index": None}, ParameterError),
        ({"array": {"a": 1}, "index": ["a"]}, ParameterError),
        ({"array": {"a": 1}, "index": {"a": 1}}, ParameterError),
        ({"array": {"a": 1}, "index": HANDLE}, ParameterError),
        ({"array": "abc"}, ParameterError),
        ({"array": 5}, ParameterError),
        ({}, ParameterError),
        ({"array": [1], "value": 1}, ParameterError),
        ({"array": HANDLE}, TypeFault),
    ],
)
def test_pop_errors(args: dict[str, Any], error: type[Exception]) -> None:
    before = repr(args.get("array"))
    with pytest.raises(error):
        pop(args)
    assert repr(args.get("array")) == before


# ------------------------------------------------------------------------------ append


def test_append_stores_a_copy_in_place() -> None:
    aa = [1]
    bb: list[Any] = []
    assert append({"array": bb, "value": aa}) is None
    assert append({"array": aa, "value": 2}) is None
    assert aa == [1, 2]
    assert bb == [[1]]


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"array": []}, ParameterError),
        ({"value": 1}, ParameterError),
        ({"array": [], "value": 1, "index": 0}, ParameterError),
        ({"array": "abc", "value": "d"}, ParameterError),
        ({"array": {"a": 1}, "value": 1}, ParameterError),
        ({"array": None, "value": 1}, ParameterError),
        ({"array": HANDLE, "value": 1}, TypeFault),
    ],
)
def test_append_errors(args: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        append(args)


# ------------------------------------------------------------------------------ index


@pytest.mark.parametrize(
    ("array", "value", "expected"),
    [
        ([1, 2, 3, 2], 2, 1),
        ([1, 2.0], 2, 1),
        ([0, True], 1, 1),
        ([[1, 2], {"a": 1}], {"a": 1.0}, 1),
        ([None, "x"], "x", 1),
        ([Duration(60)], Duration(60.0), 0),
        ([HANDLE], Handle("foundation", {"id": 1}), 0),
        ("hello", "l", 2),
        ("hello", "lo", 3),
        ("hello", "", 0),
    ],
)
def test_index(array: Any, value: Any, expected: int) -> None:
    assert index({"array": array, "value": value}) == expected


@pytest.mark.parametrize(
    ("args", "error"),
    [
        ({"array": [1, 2], "value": 3}, NotDefined),
        ({"array": [Duration(60)], "value": 60}, NotDefined),
        ({"array": ["1"], "value": 1}, NotDefined),
        ({"array": [], "value": None}, NotDefined),
        ({"array": "hello", "value": "z"}, NotDefined),
        ({"array": "hello", "value": 1}, ParameterError),
        ({"array": {"a": 1}, "value": "a"}, ParameterError),
        ({"array": 5, "value": 5}, ParameterError),
        ({"array": [1]}, ParameterError),
        ({"value": 1}, ParameterError),
        ({"array": [1], "value": 1, "start": 0}, ParameterError),
        ({"array": HANDLE, "value": 1}, TypeFault),
    ],
)
def test_index_errors(args: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        index(args)


# ------------------------------------------------------------------------------ delay


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"seconds": 5}, 5),
        ({"minutes": 2}, 120),
        ({"hours": 1}, 3600),
        ({"seconds": 1, "minutes": 1, "hours": 1}, 3661),
        ({"seconds": True}, 1),
        ({"seconds": 2.9}, 2),
        ({"seconds": -2.9}, -2),
        ({"seconds": 0.5, "minutes": 1}, 60),
        ({"seconds": "12"}, 12),
        ({"seconds": " +7 "}, 7),
        ({"seconds": "-3"}, -3),
        ({"minutes": "\t2\n"}, 120),
        ({"seconds": "007"}, 7),
        ({"seconds": -10}, -10),
        ({"seconds": 5, "minutes": -1}, -55),
        ({"seconds": 5, "msg": "ignored", "days": [1]}, 5),
    ],
)
def test_delay_seconds(args: dict[str, Any], expected: int) -> None:
    result = delay_seconds(args)
    assert result == expected
    assert type(result) is int


@pytest.mark.parametrize(
    "args",
    [
        {},
        {"seconds": 0},
        {"seconds": 0, "minutes": 0, "hours": 0},
        {"seconds": 0.5},
        {"seconds": False},
        {"seconds": "0"},
        {"other": 5},
        {"seconds": "1.5"},
        {"seconds": "abc"},
        {"seconds": ""},
        {"seconds": "1_000"},
        {"seconds": "+ 1"},
        {"seconds": "١٢"},
        {"seconds": "9" * 5000},
        {"seconds": None},
        {"seconds": [1]},
        {"seconds": {"a": 1}},
        {"seconds": Duration(5)},
        {"seconds": HANDLE},
        {"seconds": float("inf")},
        {"seconds": float("nan")},
        {"seconds": 5, "minutes": "x"},
    ],
)
def test_delay_seconds_errors(args: dict[str, Any]) -> None:
    with pytest.raises(ParameterError):
        delay_seconds(args)
