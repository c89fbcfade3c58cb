"""Derived blueprint values (§3.2): ancestry, combined lists, script and rule lookup.

Pure functions over a mapping of blueprint name → row, so that one load serves every lookup.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping
from typing import Any

from contractor.inventory import orm
from contractor.inventory.config.chains import blueprint_chain

Graph = Mapping[str, orm.Blueprint]


def chain(graph: Graph, name: str) -> list[str]:
    """The config chain of a blueprint, root first (raises ``ChainCycleError`` on a cycle)."""
    return blueprint_chain(name, lambda n: list(graph[n].parents) if n in graph else [])


def breadth_first(graph: Graph, name: str) -> Iterator[orm.Blueprint]:
    """The blueprint, then its ancestors breadth-first in declared order, each once."""
    seen, queue = {name}, deque([name])
    while queue:
        current = graph.get(queue.popleft())
        if current is None:
            continue
        yield current
        for parent in current.parents:
            if parent not in seen:
                seen.add(parent)
                queue.append(parent)


def ancestors(graph: Graph, name: str) -> set[str]:
    """Every ancestor of a blueprint (not itself)."""
    return {bp.name for bp in breadth_first(graph, name)} - {name}


def descendants(graph: Graph, name: str) -> set[str]:
    """The blueprint and every blueprint that has it as an ancestor."""
    return {other for other in graph if other == name or name in ancestors(graph, other)}


def combined_foundation_blueprints(graph: Graph, name: str) -> set[str]:
    """Own ``foundation_blueprints`` plus those of every ancestor."""
    return {fb for bp in breadth_first(graph, name) for fb in bp.foundation_blueprints}


def resolve_script(graph: Graph, name: str, slot: str) -> tuple[str, str] | None:
    """``(blueprint, script name)`` serving ``slot``: own slot first, then parents breadth-first."""
    for bp in breadth_first(graph, name):
        if slot in bp.scripts:
            return bp.name, str(bp.scripts[slot])
    return None


def effective_hardware_rules(graph: Graph, name: str) -> list[Any]:
    """Own rules if any, else the first non-empty list breadth-first; else empty."""
    for bp in breadth_first(graph, name):
        if bp.hardware_rules:
            return list(bp.hardware_rules)
    return []
