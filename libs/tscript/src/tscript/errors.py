"""The error hierarchy of the TScript library.

Every error is a :class:`TScriptError`. Errors that stop a script carry the line and column
of the construct that failed (both 1-based; 0 when a file could not be read at all).
"""

from __future__ import annotations

from typing import ClassVar


class TScriptError(Exception):
    """Root of every error the library raises on purpose."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ParseError(TScriptError):
    """The script is invalid: nothing of it runs."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(message)
        self.line = line
        self.column = column

    def __str__(self) -> str:
        return f"{self.line}:{self.column}: {self.message}"


class ScriptAbort(TScriptError):
    """An aborting run-time error (tscript.md §9.2).

    The operator or builtin that raises it does not know where it is in the script; the
    interpreter fills in ``line`` and ``column`` before the error leaves it.
    """

    kind: ClassVar[str] = "abort"

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


class NotDefined(ScriptAbort):
    """Undefined variable, module, value, function or label; index out of range; missing key."""

    kind = "not defined"


class ParameterError(ScriptAbort):
    """Bad builtin or plugin arguments, or a non-number operand of an arithmetic operator."""

    kind = "parameter"


class TypeFault(ScriptAbort):
    """Type and arithmetic errors: unorderable pairs, division by zero, over-large results."""

    kind = "type"


class ScriptFatal(ScriptAbort):
    """``fatal_error()`` was called."""

    kind = "script"


class HostError(ScriptAbort):
    """A plugin raised something unexpected."""

    kind = "host"


class StateError(TScriptError):
    """A saved state cannot be loaded (unknown version, wrong program, malformed)."""


class DeliveryRejected(TScriptError):
    """A result, error or control action was refused; the state is unchanged."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ActionRefused(TScriptError):
    """A job action (resume, reset, rollback) is not allowed in the job's current status."""
