"""TScript value types that have no direct Python equivalent.

The other types map onto Python values: none → ``None``, bool → ``bool``, int → ``int``,
float → ``float``, string → ``str``, list → ``list``, map → ``dict`` (insertion ordered; Python's
own key equality already makes ``1``, ``1.0`` and ``True`` one key, as tscript.md §7.3 asks).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, Final


class Duration:
    """A length of time in seconds (whole or fractional), from time literals or plugins."""

    __slots__ = ("seconds",)

    def __init__(self, seconds: int | float) -> None:
        self.seconds = seconds

    def __eq__(self, other: object) -> bool:
        return type(other) is Duration and other.seconds == self.seconds

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(("duration", self.seconds))

    def __repr__(self) -> str:
        return f"Duration({self.seconds!r})"

    def __str__(self) -> str:
        # Python's timedelta text is the format tscript.md §7.4 describes.
        return str(timedelta(seconds=self.seconds))


class Handle:
    """An opaque, JSON-serialisable reference to a host object (tscript.md §12.7)."""

    __slots__ = ("key", "ref", "type")

    def __init__(self, type: str, ref: Any) -> None:
        self.type = type
        self.ref = ref
        # Handles compare by their JSON form.
        self.key = json.dumps([type, ref], sort_keys=True, separators=(",", ":"))

    def __eq__(self, other: object) -> bool:
        return type(other) is Handle and other.key == self.key

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(("handle", self.key))

    def __repr__(self) -> str:
        return f"Handle({self.type!r}, {self.ref!r})"

    def __str__(self) -> str:
        return json.dumps({"$handle": {"type": self.type, "ref": self.ref}}, sort_keys=True)


class _Missing:
    """Marks "no value" where ``None`` is a legitimate TScript value."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()

#: Any TScript value, as stored in variables.
Value = Any
