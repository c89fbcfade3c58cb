"""Every cell of the operator table of inventory spec §6.2."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from contractor.inventory.config import ConfigValueError, apply_layer


def layer(before: dict[str, Any], values: dict[str, Any], classes: list[str] | None = None) -> Any:
    return apply_layer(copy.deepcopy(before), values, classes or [])


class TestPlain:
    @pytest.mark.parametrize("old", ["s", [1], {"a": 1}, 3, 2.5, True, None])
    def test_replaces_anything(self, old: Any) -> None:
        assert layer({"x": old}, {"x": ["new"]}) == {"x": ["new"]}

    def test_sets_absent(self) -> None:
        assert layer({}, {"x": {"a": {"b": 1}}}) == {"x": {"a": {"b": 1}}}

    def test_existing_key_keeps_position(self) -> None:
        assert list(layer({"a": 1, "b": 2}, {"a": 3, "c": 4})) == ["a", "b", "c"]


class TestPrepend:
    def test_absent_sets_as_is(self) -> None:
        assert layer({}, {"<x": 5}) == {"x": 5}

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("a", "abc"),
            ([9], "[9]bc"),
            ({"a": 99}, "{'a': 99}bc"),
            (True, "Truebc"),
            (None, "Nonebc"),
        ],
    )
    def test_string_uses_python_str(self, value: Any, expected: str) -> None:
        assert layer({"x": "bc"}, {"<x": value}) == {"x": expected}

    def test_list(self) -> None:
        assert layer({"x": [3]}, {"<x": [1, 2]}) == {"x": [1, 2, 3]}
        assert layer({"x": [3]}, {"<x": 1}) == {"x": [1, 3]}
        assert layer({"x": [3]}, {"<x": [[1]]}) == {"x": [[1], 3]}

    def test_object_updates(self) -> None:
        assert layer({"x": {"a": 1, "b": 2}}, {"<x": {"b": 3, "c": 4}}) == {
            "x": {"a": 1, "b": 3, "c": 4}
        }

    @pytest.mark.parametrize("value", ["s", [1], 1, None, True])
    def test_non_object_onto_object_raises(self, value: Any) -> None:
        with pytest.raises(ConfigValueError) as caught:
            layer({"x": {"a": 1}}, {"<x": value})
        assert caught.value.key == "<x"

    @pytest.mark.parametrize("old", [1, 2.5, False, None])
    def test_scalar_unchanged(self, old: Any) -> None:
        assert layer({"x": old}, {"<x": "v"}) == {"x": old}


class TestAppend:
    def test_absent_sets_as_is(self) -> None:
        assert layer({}, {">x": [1]}) == {"x": [1]}

    def test_string(self) -> None:
        assert layer({"x": "ab"}, {">x": "c"}) == {"x": "abc"}
        assert layer({"x": "ab"}, {">x": 1}) == {"x": "ab1"}
        assert layer({"x": "ab"}, {">x": False}) == {"x": "abFalse"}

    def test_list(self) -> None:
        assert layer({"x": [1]}, {">x": [2, 3]}) == {"x": [1, 2, 3]}
        assert layer({"x": [1]}, {">x": {"a": 1}}) == {"x": [1, {"a": 1}]}

    def test_object(self) -> None:
        assert layer({"x": {"a": 1}}, {">x": {"a": 2}}) == {"x": {"a": 2}}
        with pytest.raises(ConfigValueError):
            layer({"x": {"a": 1}}, {">x": [1]})

    @pytest.mark.parametrize("old", [1, 2.5, True, None])
    def test_scalar_unchanged(self, old: Any) -> None:
        assert layer({"x": old}, {">x": "v"}) == {"x": old}


class TestRemove:
    def test_absent_not_set(self) -> None:
        assert layer({}, {"-x": "a"}) == {}

    def test_string_first_occurrence(self) -> None:
        assert layer({"x": "a b a"}, {"-x": "a"}) == {"x": " b a"}
        assert layer({"x": "v[1]"}, {"-x": [1]}) == {"x": "v"}
        assert layer({"x": "abc"}, {"-x": "z"}) == {"x": "abc"}

    def test_list(self) -> None:
        assert layer({"x": [1, 2, 1, 3]}, {"-x": [1, 3, 7]}) == {"x": [2, 1]}
        assert layer({"x": ["a", "b", "a"]}, {"-x": "a"}) == {"x": ["b", "a"]}
        assert layer({"x": [{"a": 1}, 2]}, {"-x": {"a": 1}}) == {"x": [2]}
        assert layer({"x": [[1], 1]}, {"-x": [[1]]}) == {"x": [1]}

    def test_object(self) -> None:
        assert layer({"x": {"a": 1, "b": 2}}, {"-x": "a"}) == {"x": {"b": 2}}
        assert layer({"x": {"a": 1, "b": 2}}, {"-x": ["a", "b", "z"]}) == {"x": {}}
        assert layer({"x": {"a": 1}}, {"-x": 5}) == {"x": {"a": 1}}
        assert layer({"x": {"a": 1}}, {"-x": {"a": 1}}) == {"x": {"a": 1}}
        assert layer({"x": {"1": 1}}, {"-x": [1]}) == {"x": {"1": 1}}

    @pytest.mark.parametrize("old", [1, 2.5, True, None])
    def test_scalar_unchanged(self, old: Any) -> None:
        assert layer({"x": old}, {"-x": old}) == {"x": old}


class TestMask:
    def test_absent(self) -> None:
        assert layer({"a": 1}, {"~x": 1}) == {"a": 1}

    @pytest.mark.parametrize("old", ["s", [1], {"a": 1}, 1, True, None])
    def test_deletes_any(self, old: Any) -> None:
        assert layer({"x": old, "a": 1}, {"~x": None}) == {"a": 1}


class TestOrderAndFilters:
    def test_rank_then_stored_order(self) -> None:
        values = {"~x": 1, ">x": "3", "<x": "1", "x": "2", "-x": "z"}
        assert layer({"x": "z"}, {k: v for k, v in values.items() if k != "~x"}) == {"x": "123"}
        assert layer({"x": "z"}, values) == {}

    def test_equal_rank_keeps_stored_order(self) -> None:
        assert layer({}, {"a:VM": 1, "a:Metal": 2}, ["VM", "Metal"]) == {"a": 2}
        assert layer({}, {"a:Metal": 2, "a:VM": 1}, ["VM", "Metal"]) == {"a": 1}

    def test_class_filter_skips_whole_key(self) -> None:
        assert layer({"x": [1]}, {"~x:VM": 1, ">x:Metal": [2]}, ["Metal"]) == {"x": [1, 2]}

    def test_remove_after_append_in_next_layer_only(self) -> None:
        config: dict[str, Any] = {}
        apply_layer(config, {">x": ["a"], "-x": "a"}, [])
        assert config == {"x": ["a"]}

    def test_invalid_key_changes_nothing(self) -> None:
        config = {"a": 1}
        with pytest.raises(ConfigValueError):
            apply_layer(config, {"a": 2, "_b": 3}, [])
        assert config == {"a": 1}

    def test_layer_values_are_copied_and_never_mutated(self) -> None:
        values = {"x": {"a": [1]}, ">y": [2]}
        config: dict[str, Any] = {"y": [1]}
        apply_layer(config, values, [])
        config["x"]["a"].append(9)
        config["y"].append(9)
        assert values == {"x": {"a": [1]}, ">y": [2]}

    def test_returns_the_same_map(self) -> None:
        config: dict[str, Any] = {}
        assert apply_layer(config, {"a": 1}, []) is config


def test_worked_example_a() -> None:
    before = {"pkgs": ["a", "b"], "motd": "hi"}
    values = {"-pkgs": "a", ">pkgs": ["c"], "<motd": "say ", "~gone": 1}
    assert layer(before, values) == {"pkgs": ["b", "c"], "motd": "say hi"}


def test_worked_example_b() -> None:
    values = {
        "guest_id:VCenter": "ubuntu64Guest",
        "guest_id:VirtualBox": "Ubuntu_64",
        "packages": ["openssh"],
        ">packages:VM": ["vbox-guest"],
    }
    assert layer({}, values, ["VM", "VirtualBox"]) == {
        "guest_id": "Ubuntu_64",
        "packages": ["openssh", "vbox-guest"],
    }
