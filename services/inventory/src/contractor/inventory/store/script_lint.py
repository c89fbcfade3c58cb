"""The one place scripts are linted (§3.3): the TScript parser decides."""

from __future__ import annotations

from typing import Any

from tscript.errors import ParseError
from tscript.parser import parse


def lint(body: str) -> list[dict[str, Any]]:
    """Findings for a script body: ``[{line, column, message}]``, empty when it is valid."""
    try:
        parse(body)
    except ParseError as exc:
        return [{"line": exc.line, "column": exc.column, "message": exc.message}]
    return []
