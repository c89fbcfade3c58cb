"""The agent's error hierarchy: one root, JSON-safe fields."""

from __future__ import annotations

from typing import Any, ClassVar

from subcontractor.wire import ErrorCode


class SubcontractorError(Exception):
    """Root of every error the agent raises on purpose."""


class ConfigError(SubcontractorError):
    """The configuration is unusable; the message names each bad key and why.

    Attributes:
        problems: ``(dotted key, reason)`` pairs, in the order found.
    """

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{key}: {reason}" for key, reason in problems))


class PluginError(SubcontractorError):
    """A plugin function failed; the plugin says whether retrying may help.

    Args:
        message: What went wrong, shown as the job message (never a secret).
        retryable: Whether foreman may offer the task again.
        code: One of the protocol's error codes (foreman.md §5.5), or a plugin code
            such as ``sim_abort``.
        details: Extra JSON-safe facts for the error record.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool = False,
        code: ErrorCode | str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.code = code
        self.details = details or {}


class UnknownFunction(SubcontractorError):
    """A task named a module or function this agent does not serve."""


class ForemanRefused(SubcontractorError):
    """Foreman answered with an HTTP error (an RFC 9457 problem, usually).

    Attributes:
        status: The HTTP status code.
        slug: The problem type without ``urn:contractor:problem:`` (``""`` if absent).
        detail: The problem's ``detail``.
        retry_after_s: ``Retry-After`` in seconds, when foreman sent one.
    """

    PREFIX: ClassVar[str] = "urn:contractor:problem:"

    def __init__(
        self, status: int, slug: str, detail: str, retry_after_s: float | None = None
    ) -> None:
        super().__init__(f"foreman answered {status} {slug or '(no problem type)'}: {detail}")
        self.status = status
        self.slug = slug
        self.detail = detail
        self.retry_after_s = retry_after_s
