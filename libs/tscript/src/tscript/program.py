"""A parsed program: immutable, shared by every job that runs the same source.

Programs are keyed by the sha256 of their source bytes (UTF-8) and cached, so a host that
loads many states of the same script parses it once.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import TYPE_CHECKING

from tscript import syntax
from tscript.parser import parse

if TYPE_CHECKING:
    from tscript.fast import FastCode


class Program:
    """The parse tree of one source text plus what the interpreter derives from it once.

    Attributes:
        source: The script text.
        sha256: Hex digest of the UTF-8 bytes of ``source``.
        script: The parse tree.
        nodes: Every node, indexed by its pre-order number (``nid``).
        labels: Jump-point label → index in ``script.body`` (the last occurrence wins).
    """

    __slots__ = ("fast", "labels", "nodes", "script", "sha256", "source")

    def __init__(self, source: str) -> None:
        self.source = source
        self.sha256 = source_sha256(source)
        self.script = parse(source)
        self.nodes: list[syntax.Node] = syntax.number_nodes(self.script)
        self.labels: dict[str, int] = {}
        for index, stmt in enumerate(self.script.body):
            if isinstance(stmt, syntax.JumpPoint):
                self.labels[stmt.label] = index
        from tscript.fast import FastCode

        #: The closures of the fast path (built once per program).
        self.fast: FastCode = FastCode(self)


def source_sha256(source: str) -> str:
    """The program identity stored in saved states."""
    return hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()


_CACHE: OrderedDict[str, Program] = OrderedDict()
_CACHE_SIZE = 256


def compile_program(source: str | bytes) -> Program:
    """Parse ``source`` (or return the cached program of the same text).

    Raises:
        ParseError: The script is invalid.
    """
    if isinstance(source, bytes):
        # Decoding errors are reported by the parser with their position.
        try:
            text = source.decode("utf-8")
        except UnicodeDecodeError:
            parse(source)  # raises ParseError with the position of the bad byte
            raise
    else:
        text = source
    key = source_sha256(text)
    program = _CACHE.get(key)
    if program is None:
        program = Program(text)
        _CACHE[key] = program
        if len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    else:
        _CACHE.move_to_end(key)
    return program
