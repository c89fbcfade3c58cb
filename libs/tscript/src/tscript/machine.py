"""The resumable interpreter: an explicit stack of frames, stepped without host recursion.

Every node evaluation that starts counts one step. Statements whose subtree cannot suspend
run on a fast path (closures from :mod:`tscript.fast`) when the remaining budget covers their
worst case; everything else, and everything near a budget or limit edge, runs here one node at
a time. Both paths count steps identically, so the outcome never depends on the slice size.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from tscript import syntax
from tscript.context import Context, to_micros
from tscript.errors import NotDefined, ScriptAbort, TypeFault
from tscript.plugins import Registry
from tscript.program import Program
from tscript.values import Value

DEFAULT_STEP_LIMIT: Final = 10_000_000
DEFAULT_SLICE: Final = 1000

RUNNING: Final = "running"
WAITING: Final = "waiting"
PAUSED: Final = "paused"
ERROR: Final = "error"
ABORTED: Final = "aborted"
DONE: Final = "done"


class Frame:
    """One construct in progress: its node, a position counter and its evaluated values."""

    __slots__ = ("extra", "node", "pc", "vals")

    def __init__(self, node: Any, pc: int, vals: list[Value], extra: dict[str, Any] | None) -> None:
        self.node = node
        self.pc = pc
        self.vals = vals
        self.extra = extra


class Yield(Exception):
    """The slice ends here; the job simply continues in a later slice."""


class Stop(Exception):
    """The job stopped (waiting, paused or error); its status says why."""


class Unwind(Exception):
    """``break``, ``continue`` or ``goto`` is unwinding frames."""

    def __init__(self, kind: str, node: syntax.Node) -> None:
        super().__init__(kind)
        self.kind = kind
        self.node = node


YIELD: Final = Yield()
STOP: Final = Stop()


@dataclass(slots=True)  # not frozen: a frozen constructor costs a microsecond per step
class SliceResult:
    """What one call of :meth:`Interpreter.run` ended with.

    ``status`` is ``yielded`` (more to do), ``waiting``, ``paused``, ``error``, ``aborted`` or
    ``done``. ``wake_at`` (microseconds since the epoch) says when a waiting job wants to be
    stepped again; ``request`` is the remote request it waits for, if any.
    """

    status: str
    message: str | None
    line: int | None
    column: int | None
    wake_at: int | None
    request: dict[str, Any] | None


class Interpreter:
    """One job's execution: program, variables, frames, counters and status."""

    def __init__(self, program: Program, registry: Registry, ctx: Context) -> None:
        self.program = program
        self.registry = registry
        self.ctx = ctx
        self.vars: dict[str, Value] = {}
        self.frames: list[Frame] = []
        self.status = RUNNING
        self.message: str | None = None
        self.position: tuple[int, int] | None = None
        self.stop: dict[str, Any] | None = None
        self.steps = 0
        self.allowance = DEFAULT_STEP_LIMIT
        self.limit = DEFAULT_STEP_LIMIT
        self.slice_end = 0
        self.started_at = 0
        self.n_deadlines = 0
        self.wake_at: int | None = None

    # --- creation ----------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        program: Program,
        registry: Registry | None = None,
        ctx: Context | None = None,
        variables: dict[str, Value] | None = None,
        step_limit: int = DEFAULT_STEP_LIMIT,
    ) -> Interpreter:
        """A new job at the first statement of ``program``."""
        from tscript.codec import copy_value
        from tscript.context import RealContext

        interp = cls(program, registry or Registry(), ctx or RealContext())
        interp.vars = {name: copy_value(value) for name, value in (variables or {}).items()}
        interp.allowance = interp.limit = step_limit
        interp.started_at = interp.now()
        interp.frames = [Frame(program.script, 0, [], {"start": interp.started_at})]
        return interp

    def now(self) -> int:
        """The context's time in microseconds since the epoch."""
        micros = getattr(self.ctx, "micros", None)
        return micros() if micros is not None else to_micros(self.ctx.now())

    # --- the loop ----------------------------------------------------------------------

    def run(self, max_steps: int = DEFAULT_SLICE) -> SliceResult:
        """Run until the job stops, waits, or ``max_steps`` steps have been used."""
        if self.status not in (RUNNING, WAITING):
            return self.result(self.status)
        self.slice_end = self.steps + max_steps
        self.status = RUNNING
        self.wake_at = None
        outcome = DONE
        try:
            if self.n_deadlines:
                self.check_deadlines()
            self._loop(_handlers.HANDLERS)
            self.status = DONE
            self.message = None
            self.position = None
        except Yield as signal:
            # YIELD and STOP are singletons: raising one again would extend the traceback
            # chain it still holds (and keep every frame and job in it alive).
            signal.__traceback__ = None
            outcome = "yielded"
        except Stop as signal:
            signal.__traceback__ = None
            outcome = self.status
        except ScriptAbort as exc:
            self.abort(exc)
            outcome = ABORTED
        except RecursionError:
            # Values nested thousands deep (``aa = [aa]`` in a loop) outgrow Python's stack.
            node = self.frames[-1].node if self.frames else self.program.script
            self.abort(TypeFault("value nested too deeply", node.line, node.column))
            outcome = ABORTED
        return self.result(outcome)

    def _loop(self, table: dict[type, Any]) -> None:
        frames = self.frames
        while frames:
            frame = frames[-1]
            try:
                table[frame.node.__class__](self, frame)
            except Unwind as signal:
                self.unwind(signal)
            except NotDefined:
                if not self.exists_fails():
                    raise

    def result(self, outcome: str) -> SliceResult:
        """Describe the current stop as a :class:`SliceResult`."""
        line, column = self.position if self.position else (None, None)
        return SliceResult(
            outcome, self.message, line, column, self.wake_at, _actions.pending_request(self)
        )

    def abort(self, exc: ScriptAbort) -> None:
        """Stop the job for good with ``exc``."""
        self.status = ABORTED
        self.message = exc.message
        self.position = (exc.line or 0, exc.column or 0)
        self.stop = {"cause": "abort"}

    def halt(self, status: str, message: str, node: Any, cause: str, **extra: Any) -> Stop:
        """Set a stopped status (paused / error / waiting) and return the signal to raise."""
        self.status = status
        self.message = message
        self.position = (node.line, node.column)
        self.stop = {"cause": cause, **extra}
        return STOP

    # --- starting nodes ----------------------------------------------------------------

    def count(self, node: syntax.Node) -> None:
        """Count the step of starting ``node``, or end the slice / hit the step limit first."""
        steps = self.steps
        if steps >= self.slice_end:
            raise YIELD
        if steps >= self.limit:
            raise self.halt(ERROR, f"step limit of {self.allowance} exceeded", node, "step_limit")
        self.steps = steps + 1

    def start_expr(self, node: Any, parent: Frame) -> None:
        """Start evaluating ``node``; its value lands in ``parent.vals`` (now or later)."""
        fast = self.program.fast.exprs[node.nid]
        if fast is not None and fast.maxcost <= min(self.slice_end, self.limit) - self.steps:
            self.steps += fast.cost
            parent.vals.append(fast.fn(self.vars, self))
            return
        self.count(node)
        cls = node.__class__
        if cls is syntax.Const:
            parent.vals.append(node.value)
        elif cls is syntax.Name:
            try:
                parent.vals.append(self.vars[node.name])
            except KeyError:
                raise NotDefined(
                    f"variable '{node.name}' is not defined", node.line, node.column
                ) from None
        elif cls is syntax.QName:
            parent.vals.append(_calls.read_value(self, node))
        else:
            frame = Frame(node, 0, [], None)
            self.frames.append(frame)
            if cls is syntax.Call:
                self._start_call(node, frame)

    def _start_call(self, node: Any, frame: Frame) -> None:
        """Evaluate pure arguments in one go and start the call in this same step."""
        args = self.program.fast.call_args[node.nid]
        if args is None or args.maxcost > min(self.slice_end, self.limit) - self.steps:
            return
        self.steps += args.cost
        variables = self.vars
        frame.vals = [fn(variables, self) for fn in args.fns]
        if node.module is None:
            _calls.call_builtin(self, frame, node)
        else:
            _calls.start_plugin(self, frame, node)

    def start_stmt(self, node: Any) -> None:
        """Start statement ``node`` (fast path when it cannot suspend and the budget allows)."""
        if self.n_deadlines:
            self.check_deadlines()
        else:
            fast = self.program.fast.stmts[node.nid]
            if fast is not None and fast.maxcost <= min(self.slice_end, self.limit) - self.steps:
                self.steps += fast.cost
                code = fast.run(self.vars, self)
                if code:
                    raise Unwind(code, node)
                return
        self.count(node)
        cls = node.__class__
        if cls is syntax.Block:
            extra: dict[str, Any] = {"start": self.now()}
            if node.max_time is not None:
                extra["deadline"] = extra["start"] + round(node.max_time * 1_000_000)
                self.n_deadlines += 1
            self.frames.append(Frame(node, 0, [], extra))
        elif cls is syntax.Pass or cls is syntax.JumpPoint:
            return
        elif cls is syntax.Break or cls is syntax.Continue or cls is syntax.Goto:
            raise Unwind(cls.__name__.lower(), node)
        else:
            if cls is syntax.Assign and node.module is not None and node.indexes:
                from tscript.errors import ParameterError

                raise ParameterError(
                    f"cannot assign into an element of {node.module}.{node.name}",
                    node.line,
                    node.column,
                )
            self.frames.append(Frame(node, 0, [], None))

    # --- finishing and unwinding ---------------------------------------------------------

    def finish_value(self, value: Value) -> None:
        """Pop the current expression frame and hand ``value`` to its parent."""
        frames = self.frames
        frames.pop()
        frames[-1].vals.append(value)

    def finish_stmt(self) -> None:
        """Pop the current statement frame."""
        frame = self.frames.pop()
        if frame.node.__class__ is syntax.Block and frame.extra and "deadline" in frame.extra:
            self.n_deadlines -= 1

    def unwind(self, signal: Unwind) -> None:
        """Carry out ``break``, ``continue`` or ``goto``."""
        frames = self.frames
        if signal.kind == "goto":
            label = signal.node.label  # type: ignore[attr-defined]
            index = self.program.labels.get(label)
            if index is None:
                node = signal.node
                raise NotDefined(f"jump point '{label}' is not defined", node.line, node.column)
            del frames[1:]
            frames[0].pc = index + 1
            frames[0].vals.clear()
            self.n_deadlines = 0
            return
        while frames[-1].node.__class__ is not syntax.While:
            self.finish_stmt()
        if signal.kind == "break":
            frames.pop()
        else:
            frames[-1].pc = 0
            frames[-1].vals.clear()

    def exists_fails(self) -> bool:
        """A *not defined* error inside ``exists( … )``: that exists yields false."""
        frames = self.frames
        for depth in range(len(frames) - 1, 0, -1):
            if frames[depth].node.__class__ is syntax.Exists:
                while len(frames) > depth:
                    self.finish_stmt()
                frames[-1].vals.append(False)
                return True
        return False

    # --- block timing ------------------------------------------------------------------

    def check_deadlines(self) -> None:
        """Pause the job if any open block's ``max_time`` has run out (outermost first)."""
        now = self.now()
        for index, frame in enumerate(self.frames):
            extra = frame.extra
            if (
                frame.node.__class__ is syntax.Block
                and extra is not None
                and "deadline" in extra
                and now > extra["deadline"]
            ):
                node = frame.node
                what = node.description or f"block at line {node.line}"
                raise self.halt(
                    PAUSED, f"max_time of {what} exceeded", node, "max_time", frame=index
                )

    def next_deadline(self) -> int | None:
        """The earliest ``max_time`` deadline of the open blocks, if any."""
        times = [
            f.extra["deadline"]
            for f in self.frames
            if f.node.__class__ is syntax.Block and f.extra and "deadline" in f.extra
        ]
        return min(times) if times else None

    # --- convenience -------------------------------------------------------------------

    @property
    def variables(self) -> dict[str, Value]:
        """The job's variables (live; do not change them from outside)."""
        return self.vars

    # --- host API (thin wrappers; see tscript.actions, tscript.state, tscript.progress) ----

    def save(self, include_source: bool = True) -> str:
        """The complete state as canonical JSON (see :mod:`tscript.state`)."""
        return _state.save(self, include_source)

    def pending_request(self) -> dict[str, Any] | None:
        """The remote request the job waits for, or None."""
        return _actions.pending_request(self)

    def mark_dispatched(self, request_id: str) -> None:
        """Record that the request has been handed out."""
        _actions.mark_dispatched(self, request_id)

    def deliver_result(self, request_id: str, data: Any) -> None:
        """Accept a remote result (raises DeliveryRejected and changes nothing otherwise)."""
        _actions.deliver_result(self, request_id, data)

    def deliver_error(self, request_id: str, message: str) -> None:
        """Accept a remote error: the job goes to error."""
        _actions.deliver_error(self, request_id, message)

    def request_lost(self) -> None:
        """The outstanding request is lost: resend if idempotent, else error."""
        _actions.request_lost(self)

    def resume(self) -> None:
        """Continue a paused job."""
        _actions.resume(self)

    def reset(self) -> None:
        """Retry the failed step of a job in error."""
        _actions.reset(self)

    def rollback(self) -> None:
        """Undo the failed call of a job in error."""
        _actions.rollback(self)

    def progress(self) -> dict[str, Any]:
        """Where the job is: percent, message and levels (tscript.md §12.6)."""
        from tscript.progress import progress

        return progress(self)


# Circular (these modules import this one): bound once here instead of on every call.
from tscript import actions as _actions  # noqa: E402
from tscript import calls as _calls  # noqa: E402
from tscript import handlers as _handlers  # noqa: E402
from tscript import state as _state  # noqa: E402
