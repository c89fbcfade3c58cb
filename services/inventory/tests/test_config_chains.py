from __future__ import annotations

import pytest
from contractor.inventory.config import ChainCycleError, blueprint_chain, site_chain


class TestBlueprintChain:
    def test_tree_is_parent_first(self) -> None:
        parents = {"a": [], "b": ["a"], "c": ["b"]}
        assert blueprint_chain("c", parents.__getitem__) == ["a", "b", "c"]

    def test_parents_in_declared_order(self) -> None:
        parents = {"x": [], "y": [], "z": ["y", "x"]}
        assert blueprint_chain("z", parents.__getitem__) == ["y", "x", "z"]

    def test_diamond_applies_shared_ancestor_once(self) -> None:
        parents = {"base": [], "left": ["base"], "right": ["base"], "top": ["left", "right"]}
        assert blueprint_chain("top", parents.__getitem__) == ["base", "left", "right", "top"]

    def test_cycle(self) -> None:
        parents = {"a": ["b"], "b": ["c"], "c": ["a"]}
        with pytest.raises(ChainCycleError) as caught:
            blueprint_chain("a", parents.__getitem__)
        assert caught.value.names == ["a", "b", "c", "a"]


class TestSiteChain:
    def test_root_first(self) -> None:
        parent = {"root": None, "dc1": "root", "room": "dc1"}
        assert site_chain("room", parent.__getitem__) == ["root", "dc1", "room"]
        assert site_chain("root", parent.__getitem__) == ["root"]

    def test_cycle(self) -> None:
        parent = {"a": "b", "b": "a"}
        with pytest.raises(ChainCycleError):
            site_chain("a", parent.__getitem__)

    def test_depth_limit(self) -> None:
        parent = {f"s{i}": (f"s{i - 1}" if i else None) for i in range(17)}
        assert len(site_chain("s15", parent.__getitem__)) == 16
        with pytest.raises(ValueError, match="deep"):
            site_chain("s16", parent.__getitem__)
