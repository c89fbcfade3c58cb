"""Inventory's error hierarchy; the service kit renders these as RFC 9457 problems."""

from __future__ import annotations

from typing import Any

from contractor.servicekit.errors import Conflict, FieldError, NotFound, ServiceError


class InventoryError(ServiceError):
    """Root of inventory's own errors."""


class ResourceNotFound(NotFound, InventoryError):
    """A named resource does not exist."""

    def __init__(self, kind: str, key: str | int) -> None:
        super().__init__(f"{kind} {key} does not exist", kind=kind, key=str(key))


class AlreadyExists(Conflict, InventoryError):
    """A natural key or unique value is already taken."""

    def __init__(self, kind: str, key: str | int, field: str = "name") -> None:
        super().__init__(f"{kind} {key} already exists", kind=kind, key=str(key), field=field)


class InUse(Conflict, InventoryError):
    """The resource is still referred to."""

    type_slug = "in-use"
    title = "The resource is in use"

    def __init__(self, detail: str, **counts: Any) -> None:
        super().__init__(detail, references=counts)


class NotDeletable(Conflict, InventoryError):
    """The resource's state forbids deleting it."""

    type_slug = "not-deletable"
    title = "The resource cannot be deleted now"

    def __init__(self, detail: str) -> None:
        super().__init__(detail, reason=detail)


class HostnameConflict(Conflict, InventoryError):
    """A hostname clashes within its site or zone."""

    type_slug = "hostname-conflict"
    title = "The hostname is already used"

    def __init__(self, hostname: str, clashes: list[dict[str, Any]]) -> None:
        super().__init__(f"hostname {hostname} is already used", clashes=clashes)


class StateConflict(Conflict, InventoryError):
    """The current state is not the request's ``from``."""

    type_slug = "state-conflict"
    title = "The target is not in the expected state"

    def __init__(self, kind: str, key: str, current_state: str) -> None:
        super().__init__(f"{kind} {key} is {current_state}", current_state=current_state)


class TransitionNotAllowed(Conflict, InventoryError):
    """The state machine has no such move, or a related object forbids it."""

    type_slug = "transition-not-allowed"
    title = "This state transition is not allowed"


class HardwareRequired(Conflict, InventoryError):
    """Hardware rules apply, but no accepted hardware report exists."""

    type_slug = "hardware-required"
    title = "An accepted hardware report is required"


class JobMismatch(Conflict, InventoryError):
    """The request's job does not hold the target's slot."""

    type_slug = "job-mismatch"
    title = "Another job, or no job, holds this target"


class JobExists(Conflict, InventoryError):
    """A job slot held elsewhere forbids the change."""

    type_slug = "job-exists"
    title = "A job holds a related target"


class JobActive(Conflict, InventoryError):
    """A held slot freezes the field being changed."""

    type_slug = "job-active"
    title = "A job holds this target"


class CascadeBlocked(Conflict, InventoryError):
    """A destroy cascade reaches objects held by other jobs."""

    type_slug = "cascade-blocked"
    title = "The cascade reaches targets held by other jobs"

    def __init__(self, blocking: list[dict[str, Any]]) -> None:
        super().__init__(
            "the destroy cascade reaches targets held by other jobs", blocking=blocking
        )


def invalid(loc: list[str | int], msg: str, slug: str = "validation-error") -> FieldError:
    """A 422 naming one field (``slug`` names the problem type, e.g. ``cycle``)."""
    return FieldError(loc, msg, type_slug=slug)


class ScriptInvalid(InventoryError):
    """The TScript linter found problems."""

    status = 422
    type_slug = "script-invalid"
    title = "The script is not valid TScript"

    def __init__(self, findings: list[dict[str, Any]]) -> None:
        first = findings[0]
        super().__init__(
            f"line {first['line']}, column {first['column']}: {first['message']}", errors=findings
        )


class ScriptNotFound(NotFound, InventoryError):
    """A script slot resolves to nothing."""

    type_slug = "script-not-found"
    title = "No script fills this slot"


class ConfigRenderFailed(Conflict, InventoryError):
    """A merged config cannot be merged or rendered (409 on reads)."""

    type_slug = "config-render-error"
    title = "The configuration cannot be rendered"

    def __init__(self, detail: str, path: str | None) -> None:
        super().__init__(detail, path=path)


class AlreadyBuilt(InventoryError):
    """A create job for a target that is already built."""

    status = 409
    type_slug = "already-built"
    title = "The target is already built"


class NotBuilt(InventoryError):
    """A destroy or utility job for a target (or supporter) that is not built."""

    status = 409
    type_slug = "not-built"
    title = "The target is not built"


class PrerequisiteNotReady(InventoryError):
    """``wait: false`` and the job cannot start yet."""

    status = 409
    type_slug = "prerequisite-not-ready"
    title = "The job cannot start yet"


class Overlap(Conflict, InventoryError):
    """Two blocks of one site would share addresses."""

    type_slug = "overlap"
    title = "The block overlaps another block of the site"


class AddressInUse(Conflict, InventoryError):
    """The (block, offset) is held already."""

    type_slug = "address-in-use"
    title = "The address is in use"


class GatewayConflict(Conflict, InventoryError):
    """The offset is the block's gateway."""

    type_slug = "gateway-conflict"
    title = "The offset is the gateway"


class PrimaryExists(Conflict, InventoryError):
    """The structure has a primary address already."""

    type_slug = "primary-exists"
    title = "The structure already has a primary address"


class NoFreeAddress(Conflict, InventoryError):
    """The block is full."""

    type_slug = "no-free-address"
    title = "The block has no free address"


class PrefixExcludesAddresses(Conflict, InventoryError):
    """A block change would leave addresses outside it or on the gateway."""

    type_slug = "prefix-excludes-addresses"
    title = "The change would exclude existing addresses"


class Ambiguous(Conflict, InventoryError):
    """A lookup matched more than one address."""

    type_slug = "ambiguous"
    title = "More than one address matches"


class MacConflict(Conflict, InventoryError):
    """A MAC is already used by another real interface."""

    type_slug = "mac-conflict"
    title = "The MAC address is already used"


class WriteRejected(InventoryError):
    """A write of a batch broke a rule; the whole batch was refused."""

    status = 422
    type_slug = "write-rejected"
    title = "A write of the batch was rejected"

    def __init__(self, index: int, detail: str, errors: list[Any] | None = None) -> None:
        super().__init__(f"write {index}: {detail}", index=index, errors=errors or [])


class NotApplicable(Conflict, InventoryError):
    """The operation does not apply to this target (e.g. ports of a non-docker foundation)."""

    type_slug = "not-applicable"
    title = "The operation does not apply to this target"


class NoFreePort(Conflict, InventoryError):
    """The docker complex has no free host port left in ``docker_port_range``."""

    type_slug = "no-free-port"
    title = "No free host port"
