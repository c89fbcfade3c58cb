"""Loading and saving a job's interpreter (state saved without source, decision 2)."""

from __future__ import annotations

from typing import Any

from contractor.foreman import orm
from contractor.foreman.clock import Clock, JobContext
from contractor.foreman.runner import bindings
from contractor.foreman.runner.signaling import SignalBox
from contractor.foreman.runner.writes import WriteBatch
from contractor.foreman.store import programs, signals
from sqlalchemy.ext.asyncio import AsyncSession
from tscript import state as tstate
from tscript import syntax
from tscript.machine import Interpreter
from tscript.plugins import Function
from tscript.program import Program, compile_program

_PROGRAMS: dict[str, Program] = {}


async def program_of(session: AsyncSession, job: orm.Job) -> Program:
    """The job's compiled program (kept by program id: an id names one source for good)."""
    assert job.program_id is not None, "a job is stepped only once it has a program"
    found = _PROGRAMS.get(job.program_id)
    if found is None:
        found = compile_program(await programs.source(session, job.program_id))
        if len(_PROGRAMS) >= programs.SOURCE_CACHE_SIZE:
            _PROGRAMS.pop(next(iter(_PROGRAMS)))  # the oldest entry
        _PROGRAMS[job.program_id] = found
    return found


_MODULES: dict[str, frozenset[str]] = {}


def _modules_named(program: Program) -> frozenset[str]:
    found = _MODULES.get(program.sha256)
    if found is None:
        nodes = program.nodes
        found = frozenset(m for n in nodes if isinstance(m := getattr(n, "module", None), str))
        if len(_MODULES) >= 1024:
            _MODULES.clear()
        _MODULES[program.sha256] = found
    return found


def modules_used(program: Program) -> frozenset[str]:
    """Every module the script names (a step binds only these of the agent modules)."""
    return _modules_named(program)


def uses_signaling(program: Program) -> bool:
    """Whether the script names the ``signaling`` module anywhere (else it needs no signal)."""
    return "signaling" in _modules_named(program)


async def signal_box(session: AsyncSession, job: orm.Job, program: Program) -> SignalBox:
    """The job's signal box; the signal is read only for scripts that use ``signaling``."""
    if not uses_signaling(program):
        return SignalBox(None)
    return SignalBox(await signals.current(session, job.id))


async def load(
    session: AsyncSession,
    job: orm.Job,
    clock: Clock,
    step_limit: int,
    batch: WriteBatch | None = None,
    box: SignalBox | None = None,
    program: Program | None = None,
) -> Interpreter:
    """The job's interpreter: started fresh, or loaded from ``job.interp``."""
    program = program or await program_of(session, job)
    batch = batch or WriteBatch(job.snapshot or {}, job.overlay)
    box = box or await signal_box(session, job, program)
    registry = bindings.registry(batch, job.target_kind, box, modules_used(program))
    ctx = JobContext(clock)
    if job.interp is None:
        return Interpreter.start(program, registry, ctx, step_limit=step_limit)
    return tstate.load(job.interp, registry, ctx, program=program)


def save(job: orm.Job, interp: Interpreter) -> int:
    """Store the interpreter state and progress in the job; return the state's size."""
    job.interp = interp.save(include_source=False)
    job.progress = progress(interp)
    return len(job.interp.encode())


def progress(interp: Interpreter) -> dict[str, Any]:
    """``Interpreter.progress()`` plus the current line."""
    found = interp.progress()
    found["line"] = interp.position[0] if interp.position else None
    return found


def current_function(interp: Interpreter) -> Function | None:
    """The host function of the call in progress (top frame), if any."""
    if not interp.frames:
        return None
    node = interp.frames[-1].node
    if not isinstance(node, syntax.Call) or node.module is None:
        return None
    module = interp.registry.get(node.module)
    return module.functions.get(node.name) if module is not None else None
