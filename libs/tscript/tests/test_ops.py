"""Operators (tscript.md §4, §6.6, §7.2, §7.3)."""

from __future__ import annotations

import time
from typing import Any

import pytest
from tscript import ops
from tscript.errors import ParameterError, TypeFault
from tscript.ops import (
    BINARY,
    add,
    band,
    bor,
    concat,
    div,
    eq,
    ge,
    gt,
    le,
    lt,
    mod,
    mul,
    ne,
    neg,
    not_,
    pos,
    power,
    sub,
    truthy,
)
from tscript.values import Duration, Handle


def same(result: Any, expected: Any) -> bool:
    """Equal value and identical Python type (2 vs 2.0 vs True)."""
    return type(result) is type(expected) and result == expected


@pytest.mark.parametrize(
    ("func", "left", "right", "expected"),
    [
        (add, True, True, 2),
        (add, 1, 2.0, 3.0),
        (add, 1, 2, 3),
        (add, True, 1.5, 2.5),
        (sub, 10, 4, 6),
        (sub, 1.5, True, 0.5),
        (sub, False, 1, -1),
        (mul, 2, 3, 6),
        (mul, 2, 3.0, 6.0),
        (mul, True, 7, 7),
        (div, 4, 2, 2.0),
        (div, 7, 2, 3.5),
        (div, True, 2, 0.5),
        (div, 10**400, 10**399, 10.0),
        (mod, -7, 3, 2),
        (mod, 7, -3, -2),
        (mod, 5.5, 2, 1.5),
        (mod, 7, True, 0),
        (mod, True, 2, 1),
        (power, 2, 3, 8),
        (power, 2, -1, 0.5),
        (power, 2.0, 2, 4.0),
        (power, -1, 2, 1),
        (power, -2, 3, -8),
        (power, 4, 0.5, 2.0),
        (power, True, 2, 1),
        (power, 2, True, 2),
        (power, 2, False, 1),
        (power, 0, 0, 1),
        (power, 10**3000, 1, 10**3000),
        (band, 5, 4, 4),
        (band, True, False, False),
        (band, True, 3, 1),
        (bor, True, False, True),
        (bor, 1, 2, 3),
        (bor, False, 2, 2),
    ],
)
def test_arithmetic_results_and_types(func: Any, left: Any, right: Any, expected: Any) -> None:
    assert same(func(left, right), expected)


def test_precedence_examples_from_the_spec() -> None:
    assert add(1, mul(2, 3)) == 7
    assert power(2, power(3, 2)) == 512
    assert mul(2, power(3, 2)) == 18
    assert mod(5, power(3, 2)) == 5
    assert sub(sub(10, 4), 3) == 3
    assert bor(1, band(2, 3)) == 3
    assert eq(band(6, 3), 2) is True
    assert not_(eq(1, 2)) is True
    assert concat("n", mul(2, 3)) == "n6"
    with pytest.raises(ParameterError):
        add(concat("n", 1), 2)
    assert add(mul(1, 2), 3) == 5


NON_NUMBERS = ["a", None, [1], {"k": 1}, Duration(10), Handle("t", 1)]


@pytest.mark.parametrize("symbol", ["+", "-", "*", "/", "%", "^", "&", "|"])
@pytest.mark.parametrize("bad", NON_NUMBERS)
def test_non_number_operand_is_a_parameter_error(symbol: str, bad: Any) -> None:
    with pytest.raises(ParameterError):
        BINARY[symbol](bad, 1)
    with pytest.raises(ParameterError):
        BINARY[symbol](1, bad)


def test_string_concatenation_with_plus_fails() -> None:
    with pytest.raises(ParameterError):
        add("a", "b")
    with pytest.raises(ParameterError):
        add(Duration(10), 1)


def test_left_operand_is_checked_first() -> None:
    with pytest.raises(ParameterError, match="string"):
        add("a", [1])
    with pytest.raises(ParameterError, match="list"):
        add([1], "a")
    with pytest.raises(ParameterError):
        band("a", 1.0)
    with pytest.raises(TypeFault):
        band(1.0, "a")
    with pytest.raises(ParameterError):
        div("a", 0)


@pytest.mark.parametrize(
    ("func", "left", "right"),
    [
        (div, 1, 0),
        (div, 1.5, 0.0),
        (div, 1, False),
        (mod, 1, 0),
        (mod, 1.5, 0.0),
        (mod, 1, False),
        (power, 0, -1),
        (power, 0.0, -1),
        (power, 0, -0.5),
        (power, -8, 0.5),
        (power, -8.0, 1.5),
        (band, 1.0, 1),
        (band, 1, 1.5),
        (bor, 2.0, True),
    ],
)
def test_type_faults(func: Any, left: Any, right: Any) -> None:
    with pytest.raises(TypeFault):
        func(left, right)


@pytest.mark.parametrize(
    ("func", "left", "right"),
    [
        (add, 1e308, 1e308),
        (sub, -1e308, 1e308),
        (mul, 1e308, 10),
        (div, 1e308, 1e-10),
        (power, 10.0, 400),
        (power, 10, 400.0),
        (add, 10**400, 1.0),
        (mod, 10**400, 1.5),
        (power, 10**400, 0.5),
    ],
)
def test_float_results_must_be_finite(func: Any, left: Any, right: Any) -> None:
    with pytest.raises(TypeFault):
        func(left, right)


def test_int_results_below_4300_digits() -> None:
    limit = 10**4299  # the smallest number with 4300 digits
    assert add(limit - 2, 1) == limit - 1
    with pytest.raises(TypeFault):
        add(limit - 1, 1)
    with pytest.raises(TypeFault):
        sub(-(limit - 1), 1)
    assert mul(10**2149, 10**2149) == 10**4298
    with pytest.raises(TypeFault):
        mul(10**2150, 10**2149)
    assert power(10, 4298) == 10**4298
    with pytest.raises(TypeFault):
        power(10, 4299)
    assert power(2, 14280) == 2**14280
    with pytest.raises(TypeFault):
        power(2, 14285)
    with pytest.raises(TypeFault):
        power(-(10**2000), 3)


def test_huge_powers_fail_fast() -> None:
    started = time.perf_counter()
    for base, exponent in [(2, 100_000_000), (10**4000, 2), (3, 10**100), (-2, 10**9)]:
        with pytest.raises(TypeFault):
            power(base, exponent)
    assert time.perf_counter() - started < 0.5
    assert power(1, 10**100) == 1
    assert power(-1, 10**100 + 1) == -1
    assert power(0, 10**100) == 0


def test_unary_operators() -> None:
    assert same(neg(True), -1)
    assert same(neg(False), 0)
    assert same(neg(2), -2)
    assert same(neg(2.5), -2.5)
    assert same(pos(True), 1)
    assert same(pos(3), 3)
    assert same(pos(3.5), 3.5)
    for bad in NON_NUMBERS:
        with pytest.raises(ParameterError):
            neg(bad)
        with pytest.raises(ParameterError):
            pos(bad)


@pytest.mark.parametrize(
    ("left", "right", "expected"),
    [
        (5, "a", "5a"),
        ("x", None, "xNone"),
        ("x", [1, "a"], "x[1, 'a']"),
        ("", {"kk": 1}, "{'kk': 1}"),
        (5.0, True, "5.0True"),
        ("a", "b", "ab"),
        (1.5, 2, "1.52"),
        (Duration(12), "", "0:00:12"),
    ],
)
def test_concat(left: Any, right: Any, expected: str) -> None:
    assert concat(left, right) == expected


EQUAL_PAIRS = [
    (1, 1.0),
    (1, True),
    (0.0, False),
    ("a", "a"),
    (None, None),
    ([1, 2.0], [1.0, 2]),
    ([[1], {"a": 1}], [[True], {"a": 1.0}]),
    ({"a": 1, "b": 2}, {"b": 2, "a": 1}),
    ({1: "x"}, {True: "x"}),
    (Duration(60), Duration(60.0)),
    (Handle("f", {"a": 1, "b": 2}), Handle("f", {"b": 2, "a": 1})),
    ([], []),
    ({}, {}),
]

UNEQUAL_PAIRS = [
    ("a", 1),
    ("1", 1),
    (Duration(60), 60),
    (Duration(0), 0),
    (None, 0),
    (None, False),
    ([], None),
    ([1], [1, 1]),
    ({}, []),
    ({"a": 1}, {"a": 2}),
    ({"a": 1}, {"b": 1}),
    (Handle("f", 1), Handle("g", 1)),
    (Handle("f", 1), Handle("f", 1.5)),
    (Handle("f", {"a": 1}), {"$handle": {"type": "f", "ref": {"a": 1}}}),
    (Duration(1), Duration(2)),
]


@pytest.mark.parametrize(("left", "right"), EQUAL_PAIRS)
def test_equal(left: Any, right: Any) -> None:
    assert eq(left, right) is True
    assert eq(right, left) is True
    assert ne(left, right) is False


@pytest.mark.parametrize(("left", "right"), UNEQUAL_PAIRS)
def test_unequal(left: Any, right: Any) -> None:
    assert eq(left, right) is False
    assert eq(right, left) is False
    assert ne(left, right) is True


@pytest.mark.parametrize(
    ("left", "right"),
    [
        (1, 2),
        (True, 2),
        (1, 1.5),
        (-0.5, False),
        (10**400, 10**401),
        (1e308, 10**400),
        ("B", "a"),
        ("a", "ab"),
        ("", "a"),
        (Duration(1), Duration(2.5)),
        ([1, 2], [1, 3]),
        ([1], [1, 0]),
        ([], [0]),
        (["a", [1]], ["a", [2]]),
        ([None, 1], [None, 2]),
    ],
)
def test_ordering(left: Any, right: Any) -> None:
    assert lt(left, right) is True
    assert le(left, right) is True
    assert gt(left, right) is False
    assert ge(left, right) is False
    assert gt(right, left) is True
    assert ge(right, left) is True
    assert lt(right, left) is False
    assert le(right, left) is False


@pytest.mark.parametrize(
    "value", [1, 1.0, True, "a", Duration(3), [1, "a", [2.0]], [None], [Handle("t", 1)]]
)
def test_ordering_of_equal_values(value: Any) -> None:
    assert le(value, value) is True
    assert ge(value, value) is True
    assert lt(value, value) is False
    assert gt(value, value) is False


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("a", 1),
        (1, "a"),
        (None, None),
        (None, 1),
        (Duration(60), 60),
        (Handle("t", 1), Handle("t", 2)),
        ({"a": 1}, {"a": 2}),
        ([1], "a"),
        ([1, "a"], [1, 2]),
        (["a"], [None]),
        ([{"a": 1}], [{"a": 2}]),
    ],
)
def test_unorderable_pairs(left: Any, right: Any) -> None:
    for func in (lt, le, gt, ge):
        with pytest.raises(TypeFault):
            func(left, right)


@pytest.mark.parametrize(
    "value", [None, False, 0, 0.0, -0.0, "", [], {}, Duration(0), Duration(0.0)]
)
def test_falsy(value: Any) -> None:
    assert truthy(value) is False
    assert not_(value) is True


@pytest.mark.parametrize(
    "value",
    [True, 1, -1, 0.5, "x", " ", [0], [[]], {"a": None}, Duration(1), Duration(-1), Handle("t", 0)],
)
def test_truthy(value: Any) -> None:
    assert truthy(value) is True
    assert not_(value) is False


def test_binary_table_is_complete() -> None:
    assert set(BINARY) == {
        "+",
        "-",
        "*",
        "/",
        "%",
        "^",
        "&",
        "|",
        ".",
        "==",
        "!=",
        "<",
        "<=",
        ">",
        ">=",
    }
    assert BINARY["^"] is ops.power
    assert BINARY["."] is ops.concat


def test_division_result_is_always_float() -> None:
    assert same(div(4, 2), 2.0)
    assert same(div(-7, 2), -3.5)
    assert same(div(1, 3), 1 / 3)
