from __future__ import annotations

import pytest
from contractor.inventory.config import ConfigValueError, is_valid_key, parse_key
from contractor.inventory.config.keys import is_attribute_name, is_global_name


class TestParseKey:
    @pytest.mark.parametrize(
        ("key", "op", "name", "class_filter"),
        [
            ("motd", "", "motd", None),
            ("-pkgs", "-", "pkgs", None),
            ("<motd", "<", "motd", None),
            (">pkgs:VM", ">", "pkgs", "VM"),
            ("~gone", "~", "gone", None),
            ("boot-args:Metal", "", "boot-args", "Metal"),
            ("0day_x-y", "", "0day_x-y", None),
        ],
    )
    def test_parts(self, key: str, op: str, name: str, class_filter: str | None) -> None:
        parsed = parse_key(key)
        assert (parsed.op, parsed.name, parsed.class_filter) == (op, name, class_filter)
        assert parsed.key == key

    @pytest.mark.parametrize(
        "key",
        [
            "",
            "_site",
            "__timestamp",
            "<_x",
            "a:Bare_Metal",
            "a:",
            "a:B:C",
            "+a",
            "<<a",
            "a b",
            " a",
            "a.b",
            "-",
            "a" * 101,
            "é",
        ],
    )
    def test_invalid_keys_raise(self, key: str) -> None:
        with pytest.raises(ConfigValueError) as caught:
            parse_key(key)
        assert str(caught.value) == f'invalid config value name "{key}"'
        assert caught.value.key == key
        assert isinstance(caught.value, ValueError)
        assert not is_valid_key(key)

    def test_longest_key(self) -> None:
        assert is_valid_key("a" * 100)

    def test_rank_order(self) -> None:
        ranks = [parse_key(k).rank for k in ("-a", "a", "<a", ">a", "~a")]
        assert ranks == sorted(ranks) and len(set(ranks)) == 5

    def test_class_filter(self) -> None:
        assert parse_key("a:VM").applies_to(["Metal", "VM"])
        assert not parse_key("a:VM").applies_to([])
        assert parse_key("a").applies_to([])


def test_attribute_and_global_names() -> None:
    assert is_attribute_name("_site") and not is_attribute_name("__timestamp")
    assert is_global_name("__timestamp") and not is_global_name("_site")
    assert not is_attribute_name("site")
