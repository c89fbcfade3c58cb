"""Editing rules of inventory spec §6.6 and the value checks of §3.1."""

from __future__ import annotations

from typing import Any

import pytest
from contractor.inventory.config import (
    ConfigValueError,
    check_config_values,
    edit_config_values,
    find_config_problems,
)


class TestEdit:
    def test_remove_then_set(self) -> None:
        stored = {"a": 1, "b": 2, "c": 3}
        edited = edit_config_values(stored, set_values={"b": 20, "d": 4}, remove=["c"])
        assert list(edited.items()) == [("a", 1), ("b", 20), ("d", 4)]
        assert stored == {"a": 1, "b": 2, "c": 3}

    def test_removed_and_set_moves_to_end(self) -> None:
        edited = edit_config_values({"a": 1, "b": 2}, set_values={"a": 5}, remove=["a"])
        assert list(edited) == ["b", "a"]

    def test_remove_absent_is_fine(self) -> None:
        assert edit_config_values({"a": 1}, remove=["zz"]) == {"a": 1}

    def test_operator_keys_are_distinct(self) -> None:
        edited = edit_config_values({"a": [1]}, set_values={">a": [2]})
        assert edited == {"a": [1], ">a": [2]}

    def test_invalid_key_refused(self) -> None:
        with pytest.raises(ConfigValueError) as caught:
            edit_config_values({}, set_values={"_hostname": "x"})
        assert caught.value.key == "_hostname"

    def test_set_values_copied(self) -> None:
        value = {"n": [1]}
        edited = edit_config_values({}, set_values={"a": value})
        edited["a"]["n"].append(2)
        assert value == {"n": [1]}


class TestChecks:
    def test_valid(self) -> None:
        check_config_values(
            {"dns_servers": ["1.1.1.1"], "dns_ttl": 60, "dns_soa_email": "a@b", "x:VM": 1}
        )

    def test_every_key_checked(self) -> None:
        values: dict[str, Any] = {
            "dns_servers": "1.1.1.1",
            "ok": 1,
            "domain_search": "x",
            "dns_ttl": 0,
            "dns_retry": True,
            "dns_soa_email": "nobody",
            "bad key": 1,
            "log_servers:VM": "x",
        }
        problems = find_config_problems(values)
        assert [key for key, _ in problems] == [
            "dns_servers",
            "domain_search",
            "dns_ttl",
            "dns_retry",
            "dns_soa_email",
            "bad key",
            "log_servers:VM",
        ]
        with pytest.raises(ConfigValueError) as caught:
            check_config_values(values)
        assert caught.value.key == "dns_servers"
        assert len(caught.value.problems) == 7

    def test_operator_keys_not_value_checked(self) -> None:
        check_config_values({">dns_servers": "1.1.1.1", "<dns_ttl": "x", "~dns_mx": None})

    def test_size_limit(self) -> None:
        check_config_values({"a": "x" * (256 * 1024 - 20)})
        with pytest.raises(ConfigValueError, match="bytes"):
            check_config_values({"a": "x" * (256 * 1024)})

    def test_nesting_limit(self) -> None:
        deep: Any = 1
        for _ in range(31):
            deep = [deep]
        check_config_values({"a": deep})
        with pytest.raises(ConfigValueError, match="deeper"):
            check_config_values({"a": [deep]})
