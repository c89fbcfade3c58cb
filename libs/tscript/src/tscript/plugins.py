"""External functions and values: the registry a host passes to each run (tscript.md §12).

A host registers :class:`Module` objects in a :class:`Registry`. A module has values (with an
optional getter and setter) and functions. A :class:`Function` is driven through outcomes:
``start`` receives copies of the arguments and returns an :class:`Outcome`; a :class:`Send`
outcome emits a remote request and the job waits; when the result arrives ``on_result`` turns it
into the next outcome; :class:`Wait` outcomes are polled with ``poll`` each time the job is
stepped. A function's private state (``fstate``) must be JSON; it is kept in the job state.
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tscript.codec import from_json, to_json
from tscript.context import Context
from tscript.errors import ParameterError
from tscript.values import Value

JSON = Any
_PLAIN = frozenset({str, int, bool, type(None)})


@dataclass(slots=True)  # not frozen: a frozen constructor costs a microsecond per step
class Done:
    """The call is complete with ``value``."""

    value: Value = None


@dataclass(slots=True)  # not frozen: a frozen constructor costs a microsecond per step
class Send:
    """Emit a remote request; the job waits for its result."""

    module: str
    function: str
    parameters: JSON
    fstate: JSON = None


@dataclass(slots=True)  # not frozen: a frozen constructor costs a microsecond per step
class Wait:
    """Not finished: poll again later (at ``wake_at``, microseconds since the epoch, if given)."""

    message: str
    fstate: JSON = None
    wake_at: int | None = None


@dataclass(slots=True)  # not frozen: a frozen constructor costs a microsecond per step
class Pause:
    """Stop the job as *paused*; after resume the function is polled again."""

    message: str
    fstate: JSON = None


@dataclass(slots=True)  # not frozen: a frozen constructor costs a microsecond per step
class Fail:
    """Stop the job in *error*; after reset the function is polled again."""

    message: str
    fstate: JSON = None


@dataclass(slots=True)  # not frozen: a frozen constructor costs a microsecond per step
class Abort:
    """Abort the job (terminal)."""

    message: str


Outcome = Done | Send | Wait | Pause | Fail | Abort


class Function(abc.ABC):
    """An external function. Subclass it, or use :func:`inline` / :func:`remote`.

    Attributes:
        name: The function name inside its module.
        kind: ``inline`` (value at once), ``local`` (completes over several steps) or
            ``remote`` (runs on a subcontractor).
        idempotent: Whether a lost request may be sent again automatically.
        can_rollback: Whether :meth:`rollback` is implemented.
    """

    name: str = ""
    kind: Literal["inline", "local", "remote"] = "inline"
    idempotent: bool = False
    can_rollback: bool = False

    def validate(self, args: dict[str, Value]) -> dict[str, Value]:
        """Check the arguments; raise :class:`~tscript.errors.ParameterError` to abort."""
        return args

    @abc.abstractmethod
    def start(self, args: dict[str, Value], ctx: Context) -> Outcome:
        """Begin the call with (copies of) the validated arguments."""

    def poll(self, fstate: JSON, ctx: Context) -> Outcome:
        """Continue after a Wait, Pause or Fail outcome."""
        return Done(None)

    def on_result(self, fstate: JSON, data: JSON, ctx: Context) -> Outcome:
        """Turn a remote result into the next outcome; by default the call yields ``data``."""
        return Done(from_json(data))

    def rollback(self, fstate: JSON, ctx: Context) -> Outcome:
        """Undo after an error; the call continues from the returned outcome.

        Only called when :attr:`can_rollback` is true.
        """
        return Fail("rollback not possible", fstate)


class _Inline(Function):
    def __init__(self, name: str, fn: Callable[[dict[str, Value]], Value]) -> None:
        self.name = name
        self.kind = "inline"
        self._fn = fn

    def start(self, args: dict[str, Value], ctx: Context) -> Outcome:
        return Done(self._fn(args))


def inline(name: str, fn: Callable[[dict[str, Value]], Value]) -> Function:
    """A function computed at once from its arguments."""
    return _Inline(name, fn)


class _Remote(Function):
    def __init__(
        self,
        name: str,
        module: str,
        function: str,
        idempotent: bool,
        required: tuple[str, ...],
        optional: tuple[str, ...],
    ) -> None:
        self.name = name
        self.kind = "remote"
        self.idempotent = idempotent
        self._module = module
        self._function = function
        self._required = required
        self._allowed = frozenset(required) | frozenset(optional)

    def validate(self, args: dict[str, Value]) -> dict[str, Value]:
        for key in args:
            if key not in self._allowed:
                raise ParameterError(f"{self.name}() takes no argument '{key}'")
        for key in self._required:
            if key not in args:
                raise ParameterError(f"{self.name}() needs the argument '{key}'")
        return args

    def start(self, args: dict[str, Value], ctx: Context) -> Outcome:
        if all(value.__class__ in _PLAIN for value in args.values()):
            return Send(self._module, self._function, args, None)
        return Send(self._module, self._function, to_json(args), None)


def remote(
    name: str,
    *,
    module: str,
    function: str | None = None,
    idempotent: bool = False,
    required: tuple[str, ...] = (),
    optional: tuple[str, ...] = (),
) -> Function:
    """A function that sends its arguments as one request to ``module`` and yields the result."""
    return _Remote(name, module, function or name, idempotent, required, optional)


@dataclass(slots=True)
class ValueDef:
    """A module value ``module.name``: a getter and/or a setter."""

    getter: Callable[[], Value] | None = None
    setter: Callable[[Value], None] | None = None


@dataclass(slots=True)
class Module:
    """A plugin module: functions and values under one name.

    ``resolve_value`` lets a module answer value names on demand (as a ``config`` module does);
    it returns None for a name it does not know.
    """

    name: str
    functions: dict[str, Function] = field(default_factory=dict)
    values: dict[str, ValueDef] = field(default_factory=dict)
    resolve_value: Callable[[str], ValueDef | None] | None = None

    def value(self, name: str) -> ValueDef | None:
        """The value called ``name``, or None."""
        found = self.values.get(name)
        if found is None and self.resolve_value is not None:
            found = self.resolve_value(name)
        return found


class Registry:
    """The modules one run can see. Never process-wide: the host builds one per job or run."""

    def __init__(self, modules: Mapping[str, Module] | None = None) -> None:
        self._modules: dict[str, Module] = dict(modules or {})

    def register(self, module: Module) -> None:
        """Add ``module``; a module of the same name is replaced."""
        self._modules[module.name] = module

    def get(self, name: str) -> Module | None:
        """The module called ``name``, or None."""
        return self._modules.get(name)

    def names(self) -> list[str]:
        """The registered module names."""
        return sorted(self._modules)
