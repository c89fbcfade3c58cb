"""Foreman's errors; the servicekit handler renders them as RFC 9457 problems."""

from __future__ import annotations

from typing import Any

from contractor.servicekit.errors import ServiceError


class ForemanError(ServiceError):
    """Root of foreman's errors."""


class ActionNotAllowed(ForemanError):
    """A job action from a state that does not allow it (spec §2.3)."""

    status = 409
    type_slug = "action-not-allowed"
    title = "Action not allowed"

    def __init__(self, *, action: str, job_id: int, state: str, allowed_from: list[str]) -> None:
        super().__init__(
            f"{action} is allowed from {', '.join(allowed_from)}; job {job_id} is {state}",
            allowed_from=allowed_from,
            state=state,
        )


class ReleasePending(ForemanError):
    """``clear`` of a terminal job that still runs a cleanup task or releases its slot."""

    status = 409
    type_slug = "release-pending"
    title = "Release pending"

    def __init__(self, job_id: int) -> None:
        super().__init__(
            f"job {job_id} still runs a cleanup task or releases its target's slot; "
            "clear it once release_pending is false",
            job_id=job_id,
        )


class RollbackNotSupported(ForemanError):
    """The failed call declares no rollback."""

    status = 409
    type_slug = "rollback-not-supported"
    title = "Rollback not supported"


class JobExists(ForemanError):
    """The target already has an active job."""

    status = 409
    type_slug = "job-exists"
    title = "Job exists"

    def __init__(self, detail: str, *, job_id: int | None, state: str | None) -> None:
        super().__init__(detail, job_id=job_id, state=state)


class JobNotFound(ForemanError):
    """No such job."""

    status = 404
    type_slug = "not-found"
    title = "Not found"


class InventoryProblem(ForemanError):
    """Inventory refused a request; its status, slug, detail and extensions pass through."""

    def __init__(self, status: int, slug: str, title: str, detail: str, extra: dict[str, Any]):
        super().__init__(detail, **extra)
        _override(self, status, slug, title)


class InventoryUnavailable(ForemanError):
    """Inventory could not be reached or answered 5xx."""

    status = 503
    type_slug = "inventory-unavailable"
    title = "Inventory unavailable"


class AgentProblem(ForemanError):
    """A refused agent request with the slug the agent protocol names (spec §5)."""

    def __init__(self, status: int, slug: str, detail: str, **extra: Any) -> None:
        super().__init__(detail, **extra)
        _override(self, status, slug, slug.replace("-", " ").capitalize())


def _override(error: ServiceError, status: int, slug: str, title: str) -> None:
    # status and title are class-level on ServiceError; problems relayed from inventory or
    # named by the agent protocol pick them per instance, which the shared handler reads.
    error.__dict__.update(status=status, title=title, slug_override=slug)
