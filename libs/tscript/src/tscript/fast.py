"""The fast path: whole statements and loops that cannot suspend, run as closures.

A statement is *pure* when nothing in it can suspend the job: no plugin calls, no ``pause`` /
``error`` / ``message`` / ``delay``, no ``goto``, no block with ``max_time``. The interpreter
runs a pure statement as one closure when the step budget left covers its worst case
(``maxcost``); a ``while`` whose condition and body are pure runs iteration by iteration while
the budget covers one more iteration, then hands back to the step-by-step path at the top of
the loop. Closures count steps exactly as the step-by-step path does.

A statement closure returns ``None`` normally, or ``"break"`` / ``"continue"``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from tscript import ops, syntax
from tscript.builtin_functions import PURE
from tscript.calls import assign_module_value
from tscript.codec import copy_value
from tscript.fast_expr import compile_expr, exists_is_simple
from tscript.handlers import store_into

if TYPE_CHECKING:
    from tscript.program import Program

StmtFn = Callable[[dict[str, Any], Any], "str | None"]
LoopFn = Callable[[dict[str, Any], Any, bool], bool]
INF = math.inf
truthy = ops.truthy
_SCALAR_RESULTS = (syntax.Const, syntax.BinOp, syntax.Not, syntax.Unary, syntax.Exists)


def _fresh(node: syntax.Expr) -> bool:
    """Whether ``node`` always yields a value that nothing else holds (no copy needed)."""
    if isinstance(node, _SCALAR_RESULTS):
        return True
    if isinstance(node, (syntax.ArrayLit, syntax.MapLit)):
        return all(_fresh(child) for child in syntax.children(node))  # type: ignore[arg-type]
    return False


class FastStmt:
    """A compiled pure statement: its closure, static cost and worst-case cost."""

    __slots__ = ("cost", "maxcost", "run")

    def __init__(self, run: StmtFn, cost: int, maxcost: float) -> None:
        self.run = run
        self.cost = cost
        self.maxcost = maxcost


class FastExpr:
    """A compiled pure expression: its closure, static cost and worst-case cost."""

    __slots__ = ("cost", "fn", "maxcost")

    def __init__(self, fn: Callable[[dict[str, Any], Any], Any], cost: int, maxcost: float) -> None:
        self.fn = fn
        self.cost = cost
        self.maxcost = maxcost


class FastArgs:
    """The arguments of a call that may suspend, when every argument is pure."""

    __slots__ = ("cost", "fns", "maxcost")

    def __init__(
        self, fns: list[Callable[[dict[str, Any], Any], Any]], cost: int, maxcost: float
    ) -> None:
        self.fns = fns
        self.cost = cost
        self.maxcost = maxcost


class FastCode:
    """The fast-path closures of one program, indexed by node number.

    ``exprs`` holds compound pure expressions that the step-by-step path may evaluate in one go
    (never the target of an ``exists`` or anything inside it: a *not defined* error there is
    caught and the run goes on, so its step count must come from the step-by-step path).
    """

    def __init__(self, program: Program) -> None:
        count = len(program.nodes)
        self.stmts: list[FastStmt | None] = [None] * count
        self.loops: list[LoopFn | None] = [None] * count
        self.exprs: list[FastExpr | None] = [None] * count
        self.call_args: list[FastArgs | None] = [None] * count
        self._pure: dict[int, bool] = {}
        self._maxcost: dict[int, float] = {}
        inside_exists = _inside_exists(program)
        # Children before parents, so the analysis never recurses deeply (operator chains can
        # be thousands of nodes deep); compiling a too-deep subtree just leaves it slow.
        for node in reversed(program.nodes):
            self.pure(node)
            self.maxcost(node)
        for node in program.nodes:
            try:
                self._compile(node, inside_exists)
            except RecursionError:
                continue

    def _compile(self, node: syntax.Node, inside_exists: set[int]) -> None:
        if isinstance(node, syntax.Stmt) and self.pure(node):
            self.stmts[node.nid] = self._stmt(node)
            if node.__class__ is syntax.While:
                self.loops[node.nid] = self._loop(node)
        elif (
            isinstance(node, syntax.Expr)
            and node.__class__ not in _LEAVES
            and node.nid not in inside_exists
            and self.pure(node)
        ):
            fn, cost = compile_expr(node)
            self.exprs[node.nid] = FastExpr(fn, cost, self.maxcost(node))
        elif (
            node.__class__ is syntax.Call
            and node.nid not in inside_exists
            and all(self.pure(child) for child in syntax.children(node))
        ):
            compiled = [compile_expr(expr) for _, expr in node.args]
            self.call_args[node.nid] = FastArgs(
                [fn for fn, _ in compiled],
                sum(cost for _, cost in compiled),
                sum(self.maxcost(child) for child in syntax.children(node)),
            )

    # --- analysis ------------------------------------------------------------------------

    def pure(self, node: syntax.Node) -> bool:
        """Whether ``node`` (statement or expression) can run without suspending."""
        known = self._pure.get(node.nid)
        if known is None:
            known = self._pure[node.nid] = self._is_pure(node)
        return known

    def _is_pure(self, node: syntax.Node) -> bool:
        cls = node.__class__
        if cls is syntax.Call:
            call: syntax.Call = node  # type: ignore[assignment]
            if call.module is not None or (call.name not in PURE and call.name != "fatal_error"):
                return False
        elif cls is syntax.Exists:
            if not exists_is_simple(node):  # type: ignore[arg-type]
                return False
        elif cls is syntax.Block:
            if node.max_time is not None:  # type: ignore[attr-defined]
                return False
        elif cls is syntax.Assign:
            if node.module is not None and node.indexes:  # type: ignore[attr-defined]
                return False
        elif cls is syntax.Goto or cls is syntax.JumpPoint:
            return False
        return all(self.pure(child) for child in syntax.children(node))

    def maxcost(self, node: syntax.Node) -> float:
        """An upper bound of the steps ``node`` takes (infinite for loops)."""
        known = self._maxcost.get(node.nid)
        if known is None:
            if node.__class__ is syntax.While:
                known = INF
            else:
                known = 1 + sum(self.maxcost(child) for child in syntax.children(node))
            self._maxcost[node.nid] = known
        return known

    # --- statements ----------------------------------------------------------------------

    def _stmt(self, node: Any) -> FastStmt:
        maxcost = self.maxcost(node)
        cls = node.__class__
        if cls is syntax.Assign:
            run, cost = _assign(node)
        elif cls is syntax.ExprStmt:
            run, cost = _exprstmt(node)
        elif cls is syntax.If:
            run, cost = self._if(node)
        elif cls is syntax.Block:
            run, cost = self._block(node)
        elif cls is syntax.While:
            run, cost = _never, 1  # loops run through `loops`, never as one statement
        else:
            code = {syntax.Break: "break", syntax.Continue: "continue"}.get(cls)
            run, cost = (lambda v, m: code), 1
        return FastStmt(run, cost, maxcost)

    def _sub(self, node: syntax.Stmt) -> FastStmt:
        found = self.stmts[node.nid]
        return found if found is not None else self._stmt(node)

    def _if(self, node: syntax.If) -> tuple[StmtFn, int]:
        conds = [compile_expr(cond) for cond in node.conds]
        bodies = [self._sub(body) for body in node.bodies]
        orelse = self._sub(node.orelse) if node.orelse is not None else None
        branches = [(fn, cost, body) for (fn, cost), body in zip(conds, bodies, strict=True)]
        first_cost = conds[0][1]
        rest = branches[1:]
        first_fn, _, first_body = branches[0]

        def run(v: dict[str, Any], m: Any) -> str | None:
            x = first_fn(v, m)
            if x if x.__class__ is bool else truthy(x):
                m.steps += first_body.cost
                return first_body.run(v, m)
            for fn, cost, body in rest:
                m.steps += cost
                x = fn(v, m)
                if x if x.__class__ is bool else truthy(x):
                    m.steps += body.cost
                    return body.run(v, m)
            if orelse is not None:
                m.steps += orelse.cost
                return orelse.run(v, m)
            return None

        return run, 1 + first_cost

    def _block(self, node: syntax.Block) -> tuple[StmtFn, int]:
        stmts = [(s.cost, s.run) for s in (self._sub(stmt) for stmt in node.body)]

        def run(v: dict[str, Any], m: Any) -> str | None:
            for cost, fn in stmts:
                m.steps += cost
                code = fn(v, m)
                if code:
                    return code
            return None

        return run, 1

    def _loop(self, node: syntax.While) -> LoopFn | None:
        per_iteration = self.maxcost(node.cond) + self.maxcost(node.body)
        if per_iteration == INF:
            return None
        cond, cond_cost = compile_expr(node.cond)
        body = self._sub(node.body)
        body_cost, body_run = body.cost, body.run

        def loop(v: dict[str, Any], m: Any, started: bool) -> bool:
            """Run iterations while the budget covers one; True when the loop has ended."""
            while True:
                end = m.slice_end if m.slice_end < m.limit else m.limit
                if m.steps + per_iteration > end:
                    return False
                m.steps += cond_cost
                x = cond(v, m)
                if not (x if x.__class__ is bool else truthy(x)):
                    return True
                m.steps += body_cost
                if body_run(v, m) == "break":
                    return True

        return loop


_LEAVES = (syntax.Const, syntax.Name, syntax.QName)


def _inside_exists(program: Program) -> set[int]:
    """Node numbers of every ``exists`` target and everything inside one."""
    found: set[int] = set()
    for node in program.nodes:
        if node.__class__ is syntax.Exists:
            stack: list[syntax.Node] = [node.target]
            while stack:
                inner = stack.pop()
                found.add(inner.nid)
                stack.extend(syntax.children(inner))
    return found


def _never(v: dict[str, Any], m: Any) -> str | None:
    raise AssertionError("a while loop is never run as a single fast statement")


def _assign(node: syntax.Assign) -> tuple[StmtFn, int]:
    value_fn, value_cost = compile_expr(node.value)
    compiled = [compile_expr(index) for index in node.indexes]
    cost = 1 + value_cost + sum(c for _, c in compiled)
    may_alias = not _fresh(node.value)
    name = node.name
    if node.module is not None:

        def run_module(v: dict[str, Any], m: Any) -> str | None:
            assign_module_value(m, node, copy_value(value_fn(v, m)))
            return None

        return run_module, cost
    if compiled:
        keys = [fn for fn, _ in compiled]

        def run_indexed(v: dict[str, Any], m: Any) -> str | None:
            path = [key(v, m) for key in keys]
            store_into(v, node, path, copy_value(value_fn(v, m)))
            return None

        return run_indexed, cost
    if may_alias:

        def run_copy(v: dict[str, Any], m: Any) -> str | None:
            x = value_fn(v, m)
            v[name] = copy_value(x) if x.__class__ is list or x.__class__ is dict else x
            return None

        return run_copy, cost

    def run(v: dict[str, Any], m: Any) -> str | None:
        v[name] = value_fn(v, m)
        return None

    return run, cost


def _exprstmt(node: syntax.ExprStmt) -> tuple[StmtFn, int]:
    fn, cost = compile_expr(node.expr)

    def run(v: dict[str, Any], m: Any) -> str | None:
        fn(v, m)
        return None

    return run, 1 + cost
