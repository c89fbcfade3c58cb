"""Closures for expressions that cannot suspend: the fast path's building blocks.

``compile_expr(node)`` returns ``(fn, cost)``. ``fn(v, m)`` evaluates the expression over the
variables ``v`` for the interpreter ``m``; ``cost`` is the number of steps that are always taken
when ``fn`` returns normally, which the *caller* adds. Parts that may be skipped (the right side
of ``and`` / ``or``, the target of ``exists``) add their own steps to ``m.steps`` when they run,
so the count matches the step-by-step path exactly.

Binary operators come from small templates compiled once per (operator, operand shape), so the
common int/int and str/str cases run without a call per operand.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tscript import ops, syntax
from tscript.builtin_functions import PURE
from tscript.calls import read_value
from tscript.errors import NotDefined, ScriptAbort, ScriptFatal
from tscript.indexing import get_item
from tscript.text import text

ExprFn = Callable[[dict[str, Any], Any], Any]
BIG = 10**4299
truthy = ops.truthy

_INT_OPS = {"+": "+", "-": "-", "*": "*"}
_CMP_OPS = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "==", "!=": "!="}

_LOADS = {
    "name": "try:\n            {v} = v[{v}n]\n        except KeyError:\n"
    "            raise undefined({v}node) from None",
    "const": "{v} = {v}c",
    "other": "{v} = {v}f(v, m)",
}

_TEMPLATE = """
def factory(an, ac, af, anode, bn, bc, bf, bnode, generic, node, undefined, slow, BIG):
    def run(v, m):
        {load_a}
        {load_b}
        {fast}
        return slow(generic, a, b, node)
    return run
"""


def _fast_case(op: str) -> str:
    if op in _INT_OPS:
        return (
            "if a.__class__ is int and b.__class__ is int:\n"
            f"            r = a {op} b\n"
            "            if -BIG < r < BIG:\n"
            "                return r"
        )
    if op in _CMP_OPS:
        return (
            "if (a.__class__ is int and b.__class__ is int) or "
            "(a.__class__ is str and b.__class__ is str):\n"
            f"            return a {op} b"
        )
    if op == "%":
        return "if a.__class__ is int and b.__class__ is int and b:\n            return a % b"
    if op == ".":
        return "if a.__class__ is str and b.__class__ is str:\n            return a + b"
    return "pass"


_FACTORIES: dict[tuple[str, str, str], Callable[..., ExprFn]] = {}


def _factory(op: str, shape_a: str, shape_b: str) -> Callable[..., ExprFn]:
    key = (op, shape_a, shape_b)
    made = _FACTORIES.get(key)
    if made is None:
        source = _TEMPLATE.format(
            load_a=_LOADS[shape_a].format(v="a"),
            load_b=_LOADS[shape_b].format(v="b"),
            fast=_fast_case(op),
        )
        namespace: dict[str, Any] = {}
        exec(compile(source, f"<tscript binop {op} {shape_a} {shape_b}>", "exec"), namespace)
        made = _FACTORIES[key] = namespace["factory"]
    return made


def undefined(node: syntax.Name) -> NotDefined:
    """The error for reading an unassigned variable."""
    return NotDefined(f"variable '{node.name}' is not defined", node.line, node.column)


def slow_binop(generic: Callable[[Any, Any], Any], a: Any, b: Any, node: syntax.BinOp) -> Any:
    """The general case of a binary operator, with errors placed at the operator."""
    try:
        return generic(a, b)
    except ScriptAbort as exc:
        if exc.line is None:
            exc.line, exc.column = node.line, node.column
        raise


def _shape(node: syntax.Expr) -> str:
    if node.__class__ is syntax.Name:
        return "name"
    if node.__class__ is syntax.Const:
        return "const"
    return "other"


def _binop(node: syntax.BinOp) -> tuple[ExprFn, int]:
    fa, ca = compile_expr(node.left)
    fb, cb = compile_expr(node.right)
    left, right = node.left, node.right
    factory = _factory(node.op, _shape(left), _shape(right))
    fn = factory(
        getattr(left, "name", None), getattr(left, "value", None), fa, left,
        getattr(right, "name", None), getattr(right, "value", None), fb, right,
        ops.BINARY[node.op], node, undefined, slow_binop, BIG,
    )  # fmt: skip
    return fn, 1 + ca + cb


def _name(node: syntax.Name) -> tuple[ExprFn, int]:
    name = node.name

    def run(v: dict[str, Any], m: Any) -> Any:
        try:
            return v[name]
        except KeyError:
            raise undefined(node) from None

    return run, 1


def _const(node: syntax.Const) -> tuple[ExprFn, int]:
    value = node.value
    return (lambda v, m: value), 1


def _qname(node: syntax.QName) -> tuple[ExprFn, int]:
    return (lambda v, m: read_value(m, node)), 1


def _logic(node: syntax.Logic) -> tuple[ExprFn, int]:
    fa, ca = compile_expr(node.left)
    fb, cb = compile_expr(node.right)
    is_or = node.op == "or"

    def run(v: dict[str, Any], m: Any) -> Any:
        a = fa(v, m)
        if (a if a.__class__ is bool else truthy(a)) == is_or:
            return a
        m.steps += cb
        return fb(v, m)

    return run, 1 + ca


def _not(node: syntax.Not) -> tuple[ExprFn, int]:
    fa, ca = compile_expr(node.operand)

    def run(v: dict[str, Any], m: Any) -> Any:
        a = fa(v, m)
        return not (a if a.__class__ is bool else truthy(a))

    return run, 1 + ca


def _unary(node: syntax.Unary) -> tuple[ExprFn, int]:
    fa, ca = compile_expr(node.operand)
    generic = ops.neg if node.op == "-" else ops.pos

    def run(v: dict[str, Any], m: Any) -> Any:
        a = fa(v, m)
        try:
            return generic(a)
        except ScriptAbort as exc:
            if exc.line is None:
                exc.line, exc.column = node.line, node.column
            raise

    return run, 1 + ca


def _apply_index(value: Any, key: Any, bracket: tuple[int, int]) -> Any:
    try:
        return get_item(value, key)
    except ScriptAbort as exc:
        if exc.line is None:
            exc.line, exc.column = bracket
        raise


def _index(node: syntax.Index) -> tuple[ExprFn, int]:
    base, cbase = compile_expr(node.base)
    compiled = [compile_expr(index) for index in node.indexes]
    keys = [fn for fn, _ in compiled]
    cost = 1 + cbase + sum(c for _, c in compiled)
    brackets = node.brackets
    pairs = list(zip(keys, brackets, strict=True))
    if node.base.__class__ in (syntax.Name, syntax.QName):
        if len(keys) == 1:
            key0, bracket0 = keys[0], brackets[0]

            def run_one(v: dict[str, Any], m: Any) -> Any:
                k = key0(v, m)
                return _apply_index(base(v, m), k, bracket0)

            return run_one, cost

        def run_named(v: dict[str, Any], m: Any) -> Any:
            values = [key(v, m) for key in keys]
            result = base(v, m)
            for k, bracket in zip(values, brackets, strict=True):
                result = _apply_index(result, k, bracket)
            return result

        return run_named, cost

    def run_other(v: dict[str, Any], m: Any) -> Any:
        result = base(v, m)
        for key, bracket in pairs:
            result = _apply_index(result, key(v, m), bracket)
        return result

    return run_other, cost


def _call(node: syntax.Call) -> tuple[ExprFn, int]:
    compiled = [(name, compile_expr(expr)) for name, expr in node.args]
    names = [name for name, _ in compiled]
    fns = [fn for _, (fn, _) in compiled]
    cost = 1 + sum(c for _, (_, c) in compiled)
    if node.name == "fatal_error":

        def run_fatal(v: dict[str, Any], m: Any) -> Any:
            from tscript.calls import _msg

            args = {name: fn(v, m) for name, fn in zip(names, fns, strict=True)}
            try:
                message = _msg(node, args)
            except ScriptAbort as exc:
                exc.line, exc.column = node.line, node.column
                raise
            raise ScriptFatal(message, node.line, node.column)

        return run_fatal, cost
    builtin = PURE[node.name]
    if len(fns) == 1:
        (n0,), (f0,) = names, fns

        def run1(v: dict[str, Any], m: Any) -> Any:
            args = {n0: f0(v, m)}  # no comprehension frame on the hot path
            try:
                return builtin(args)
            except ScriptAbort as exc:
                if exc.line is None:
                    exc.line, exc.column = node.line, node.column
                raise

        return run1, cost
    if len(fns) == 2:
        (n0, n1), (f0, f1) = names, fns

        def run2(v: dict[str, Any], m: Any) -> Any:
            args = {n0: f0(v, m), n1: f1(v, m)}
            try:
                return builtin(args)
            except ScriptAbort as exc:
                if exc.line is None:
                    exc.line, exc.column = node.line, node.column
                raise

        return run2, cost

    def run(v: dict[str, Any], m: Any) -> Any:
        args = {name: fn(v, m) for name, fn in zip(names, fns, strict=True)}
        try:
            return builtin(args)
        except ScriptAbort as exc:
            if exc.line is None:
                exc.line, exc.column = node.line, node.column
            raise

    return run, cost


def _exists(node: syntax.Exists) -> tuple[ExprFn, int]:
    target = node.target
    if target.__class__ is syntax.Index:
        base, indexes, brackets = target.base, target.indexes, target.brackets
    else:
        base, indexes, brackets = target, [], []

    def read(v: dict[str, Any], m: Any, leaf: Any) -> Any:
        m.steps += 1
        if leaf.__class__ is syntax.Const:
            return leaf.value
        if leaf.__class__ is syntax.Name:
            return v[leaf.name]
        return read_value(m, leaf)

    def run(v: dict[str, Any], m: Any) -> Any:
        try:
            if indexes:
                m.steps += 1
            keys = [read(v, m, leaf) for leaf in indexes]
            value = read(v, m, base)
            for key, bracket in zip(keys, brackets, strict=True):
                value = _apply_index(value, key, bracket)
        except (KeyError, NotDefined):
            return False
        return True

    return run, 1


def exists_is_simple(node: syntax.Exists) -> bool:
    """Whether the fast path handles this ``exists`` (leaf target and leaf indexes)."""
    target = node.target
    leaves = (syntax.Name, syntax.QName)
    if target.__class__ in leaves:
        return True
    if target.__class__ is not syntax.Index or target.base.__class__ not in leaves:
        return False
    return all(i.__class__ in (syntax.Name, syntax.Const) for i in target.indexes)


def _array(node: syntax.ArrayLit) -> tuple[ExprFn, int]:
    compiled = [compile_expr(item) for item in node.items]
    fns = [fn for fn, _ in compiled]
    return (lambda v, m: [fn(v, m) for fn in fns]), 1 + sum(c for _, c in compiled)


def _map(node: syntax.MapLit) -> tuple[ExprFn, int]:
    compiled = [(key, compile_expr(expr)) for key, expr in node.items]
    pairs = [(key, fn) for key, (fn, _) in compiled]
    cost = 1 + sum(c for _, (_, c) in compiled)
    return (lambda v, m: {key: fn(v, m) for key, fn in pairs}), cost


_COMPILERS: dict[type, Callable[[Any], tuple[ExprFn, int]]] = {
    syntax.Const: _const,
    syntax.Name: _name,
    syntax.QName: _qname,
    syntax.BinOp: _binop,
    syntax.Logic: _logic,
    syntax.Not: _not,
    syntax.Unary: _unary,
    syntax.Index: _index,
    syntax.Call: _call,
    syntax.Exists: _exists,
    syntax.ArrayLit: _array,
    syntax.MapLit: _map,
}


def compile_expr(node: syntax.Expr) -> tuple[ExprFn, int]:
    """The closure and static cost of a pure expression (see the module docstring)."""
    return _COMPILERS[node.__class__](node)


__all__ = ["compile_expr", "exists_is_simple", "text"]
