"""Text of a value (tscript.md §7.4)."""

from __future__ import annotations

from typing import Any

import pytest
from tscript.text import text, type_name
from tscript.values import Duration, Handle


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("abc", "abc"),
        ("", ""),
        ("it's", "it's"),
        (0, "0"),
        (-42, "-42"),
        (2.0, "2.0"),
        (0.1, "0.1"),
        (1e17, "1e+17"),
        (1e-05, "1e-05"),
        (1e16, "1e+16"),
        (123456789012345.0, "123456789012345.0"),
        (0.0001, "0.0001"),
        (-0.0, "-0.0"),
        (True, "True"),
        (False, "False"),
        (None, "None"),
        (Duration(12), "0:00:12"),
        (Duration(90), "0:01:30"),
        (Duration(86400), "1 day, 0:00:00"),
        (Duration(2 * 86400 + 3 * 3600 + 4 * 60 + 5), "2 days, 3:04:05"),
        (Duration(1.5), "0:00:01.500000"),
        ([], "[]"),
        ({}, "{}"),
        ([1, "a"], "[1, 'a']"),
        ({"kk": 1}, "{'kk': 1}"),
        ([1.0, True, None, [2, "b"]], "[1.0, True, None, [2, 'b']]"),
        (["it's"], '["it\'s"]'),
        (['say "hi" it\'s'], "['say \"hi\" it\\'s']"),
        ({1: "x", None: [1e17], "k": {"n": False}}, "{1: 'x', None: [1e+17], 'k': {'n': False}}"),
    ],
)
def test_text(value: Any, expected: str) -> None:
    assert text(value) == expected


def test_nested_durations_and_handles() -> None:
    handle = Handle("foundation", {"id": 7})
    assert text([Duration(90)]) == "[0:01:30]"
    assert text({"d": Duration(86400)}) == "{'d': 1 day, 0:00:00}"
    assert text({Duration(60): "a"}) == "{0:01:00: 'a'}"
    assert text([handle, "x"]) == '[{"$handle": {"ref": {"id": 7}, "type": "foundation"}}, \'x\']'
    assert text(handle) == '{"$handle": {"ref": {"id": 7}, "type": "foundation"}}'


def test_big_ints_never_fail() -> None:
    for digits in (4299, 4300, 5000, 20000):
        number = 7 * 10 ** (digits - 1) + 3
        result = text(number)
        assert len(result) == digits
        assert result[0] == "7"
        assert result[-1] == "3"
        assert result[1:-1] == "0" * (digits - 2)
        assert text(-number) == "-" + result
    big = 10**5000 + 123456789
    assert text([big, "a"]) == "[" + text(big) + ", 'a']"
    assert text({"k": big}) == "{'k': " + text(big) + "}"


@pytest.mark.parametrize(
    ("value", "name"),
    [
        (None, "none"),
        (True, "bool"),
        (1, "int"),
        (1.0, "float"),
        ("s", "string"),
        ([], "list"),
        ({}, "map"),
        (Duration(1), "duration"),
        (Handle("t", 1), "handle"),
        ((1,), "tuple"),
    ],
)
def test_type_name(value: Any, name: str) -> None:
    assert type_name(value) == name
