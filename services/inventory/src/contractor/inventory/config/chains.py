"""Blueprint and site chains: the order their layers are applied in (spec §3.1, §3.2)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

MAX_SITE_DEPTH = 16
"""A site chain is at most this deep (spec §3.1)."""


class ChainCycleError(ValueError):
    """A blueprint or site refers back to itself through its parents.

    Attributes:
        names: The names on the cycle, in walk order.
    """

    def __init__(self, names: list[str]) -> None:
        super().__init__("cycle: " + " -> ".join(names))
        self.names = names


def blueprint_chain(name: str, parents_of: Callable[[str], Sequence[str]]) -> list[str]:
    """Linearise a blueprint and its ancestors, root first (spec §3.2).

    A depth-first walk that, for each parent in declared order, first emits that parent's
    chain, then emits the blueprint itself; a blueprint already emitted is skipped, so in a
    diamond the shared ancestor is applied once, at its first position.

    Args:
        name: The blueprint.
        parents_of: Its parents, in declared order, for any blueprint name.

    Returns:
        The chain; its last entry is ``name``.

    Raises:
        ChainCycleError: A blueprint is its own ancestor.
    """
    chain: list[str] = []
    emitted: set[str] = set()

    def walk(current: str, path: list[str]) -> None:
        if current in path:
            raise ChainCycleError([*path[path.index(current) :], current])
        if current in emitted:
            return
        for parent in parents_of(current):
            walk(parent, [*path, current])
        emitted.add(current)
        chain.append(current)

    walk(name, [])
    return chain


def site_chain(
    name: str, parent_of: Callable[[str], str | None], max_depth: int = MAX_SITE_DEPTH
) -> list[str]:
    """The chain of a site: its root ancestor first, the site itself last.

    Args:
        name: The site.
        parent_of: The parent of any site, or ``None`` for a root.
        max_depth: The longest chain accepted.

    Returns:
        The chain, root first.

    Raises:
        ChainCycleError: A site is its own ancestor.
        ValueError: The chain is deeper than ``max_depth``.
    """
    chain = [name]
    parent = parent_of(name)
    while parent is not None:
        if parent in chain:
            raise ChainCycleError([*reversed(chain), parent])
        chain.append(parent)
        if len(chain) > max_depth:
            raise ValueError(f"site {name} is more than {max_depth} levels deep")
        parent = parent_of(parent)
    return chain[::-1]
