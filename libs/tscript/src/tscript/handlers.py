"""One handler per node type for the step-by-step path of the interpreter.

A handler is called with the frame on top of the stack. It starts at most one child node (the
child's value arrives in ``frame.vals``, at once for leaves or when the child's frame finishes)
or completes its own node. Handlers change their frame only *after* starting a child, so a
slice that ends inside ``start_*`` leaves the frame exactly as it was.
"""

from __future__ import annotations

from typing import Any

from tscript import ops, syntax
from tscript.calls import assign_module_value, handle_call, read_value
from tscript.codec import copy_value
from tscript.errors import NotDefined, ParameterError, ScriptAbort, TypeFault
from tscript.indexing import get_item, set_item
from tscript.machine import Frame, Interpreter
from tscript.values import Value

truthy = ops.truthy


def placed(exc: ScriptAbort, line: int, column: int) -> ScriptAbort:
    """Give an error raised by an operator or builtin the position of its construct."""
    if exc.line is None:
        exc.line, exc.column = line, column
    return exc


def h_body(m: Interpreter, f: Frame) -> None:
    """Script and block: run the statements in order."""
    body = f.node.body
    index = f.pc
    if index < len(body):
        m.start_stmt(body[index])
        f.pc = index + 1
    else:
        m.finish_stmt()


def h_if(m: Interpreter, f: Frame) -> None:
    """``if``: pc 2k tests condition k, 2k+1 runs body k; 2n runs ``else``."""
    node: syntax.If = f.node
    pc = f.pc
    count = len(node.conds)
    if pc & 1:
        m.finish_stmt()
    elif pc < 2 * count:
        if not f.vals:
            m.start_expr(node.conds[pc >> 1], f)
        elif truthy(f.vals[-1]):
            m.start_stmt(node.bodies[pc >> 1])
            f.vals.clear()
            f.pc = pc + 1
        else:
            f.vals.clear()
            f.pc = pc + 2
    elif node.orelse is not None:
        m.start_stmt(node.orelse)
        f.pc = pc + 1
    else:
        m.finish_stmt()


def h_while(m: Interpreter, f: Frame) -> None:
    """``while``: pc 0 tests the condition, pc 1 means the body has run."""
    node: syntax.While = f.node
    if f.pc:
        # The body has run: test the condition again in this same step of the loop.
        f.pc = 0
        f.vals.clear()
    if not f.vals:
        loop = m.program.fast.loops[node.nid]
        if loop is not None and not m.n_deadlines and loop(m.vars, m, True):
            m.finish_stmt()
            return
        m.start_expr(node.cond, f)
    elif truthy(f.vals[-1]):
        m.start_stmt(node.body)
        f.vals.clear()
        f.pc = 1
    else:
        m.finish_stmt()


def h_assign(m: Interpreter, f: Frame) -> None:
    """``target = value``: indexes, then value, then store a deep copy."""
    node: syntax.Assign = f.node
    k = len(f.vals)
    if k < len(node.indexes):
        m.start_expr(node.indexes[k], f)
    elif k == len(node.indexes):
        m.start_expr(node.value, f)
    else:
        value = copy_value(f.vals[-1])
        if node.module is not None:
            assign_module_value(m, node, value)
        elif not node.indexes:
            m.vars[node.name] = value
        else:
            store_into(m.vars, node, f.vals[:-1], value)
        m.finish_stmt()


def store_into(
    variables: dict[str, Value], node: syntax.Assign, keys: list[Value], value: Value
) -> None:
    """``name[k1]…[kn] = value``: every step but the last must exist."""
    line, column = node.brackets[0]
    try:
        target = variables[node.name]
    except KeyError:
        raise NotDefined(f"variable '{node.name}' is not defined", node.line, node.column) from None
    last = len(keys) - 1
    for depth, key in enumerate(keys):
        line, column = node.brackets[depth]
        try:
            if depth < last:
                target = get_item(target, key)
            else:
                set_item(target, key, value)
        except ScriptAbort as exc:
            raise placed(exc, line, column) from None


def h_exprstmt(m: Interpreter, f: Frame) -> None:
    """An expression statement: evaluate, discard the value."""
    if f.vals:
        m.finish_stmt()
    else:
        m.start_expr(f.node.expr, f)


def h_binop(m: Interpreter, f: Frame) -> None:
    """Binary operators: left, right, then the operator."""
    node: syntax.BinOp = f.node
    vals = f.vals
    if not vals:
        m.start_expr(node.left, f)
    elif len(vals) == 1:
        m.start_expr(node.right, f)
    else:
        try:
            result = ops.BINARY[node.op](vals[0], vals[1])
        except ScriptAbort as exc:
            raise placed(exc, node.line, node.column) from None
        m.finish_value(result)


def h_logic(m: Interpreter, f: Frame) -> None:
    """``and`` / ``or`` with short-circuit."""
    node: syntax.Logic = f.node
    vals = f.vals
    if not vals:
        m.start_expr(node.left, f)
    elif len(vals) == 1:
        left = vals[0]
        if truthy(left) == (node.op == "or"):
            m.finish_value(left)
        else:
            m.start_expr(node.right, f)
    else:
        m.finish_value(vals[1])


def h_not(m: Interpreter, f: Frame) -> None:
    """``not``."""
    if f.vals:
        m.finish_value(not truthy(f.vals[0]))
    else:
        m.start_expr(f.node.operand, f)


def h_unary(m: Interpreter, f: Frame) -> None:
    """Unary ``-`` and ``+``."""
    node: syntax.Unary = f.node
    if not f.vals:
        m.start_expr(node.operand, f)
        return
    try:
        result = ops.neg(f.vals[0]) if node.op == "-" else ops.pos(f.vals[0])
    except ScriptAbort as exc:
        raise placed(exc, node.line, node.column) from None
    m.finish_value(result)


def h_index(m: Interpreter, f: Frame) -> None:
    """Index chains; name-rooted chains evaluate their indexes before reading the name."""
    node: syntax.Index = f.node
    vals = f.vals
    count = len(node.indexes)
    if node.base.__class__ in (syntax.Name, syntax.QName):
        if len(vals) < count:
            m.start_expr(node.indexes[len(vals)], f)
        elif len(vals) == count:
            m.start_expr(node.base, f)
        else:
            value = vals[count]
            for key, bracket in zip(vals[:count], node.brackets, strict=True):
                value = index_at(value, key, bracket)
            m.finish_value(value)
        return
    # Other operands: the base first, then each index applied as soon as it is known.
    if not vals:
        m.start_expr(node.base, f)
    elif f.pc < count and len(vals) == 1:
        m.start_expr(node.indexes[f.pc], f)
    elif f.pc < count:
        key = vals.pop()
        vals[0] = index_at(vals[0], key, node.brackets[f.pc])
        f.pc += 1
    else:
        m.finish_value(vals[0])


def index_at(value: Value, key: Value, bracket: tuple[int, int]) -> Value:
    """``value[key]`` with errors placed at the bracket."""
    try:
        return get_item(value, key)
    except ScriptAbort as exc:
        raise placed(exc, *bracket) from None


def h_exists(m: Interpreter, f: Frame) -> None:
    """``exists( target )``: true unless the target is not defined (handled by the loop)."""
    if f.vals:
        m.finish_value(True)
    else:
        m.start_expr(f.node.target, f)


def h_array(m: Interpreter, f: Frame) -> None:
    """``[ … ]``."""
    items = f.node.items
    if len(f.vals) < len(items):
        m.start_expr(items[len(f.vals)], f)
    else:
        m.finish_value(list(f.vals))


def h_map(m: Interpreter, f: Frame) -> None:
    """``{ k=v, … }``."""
    items = f.node.items
    if len(f.vals) < len(items):
        m.start_expr(items[len(f.vals)][1], f)
    else:
        m.finish_value({key: value for (key, _), value in zip(items, f.vals, strict=True)})


def h_qname(m: Interpreter, f: Frame) -> None:
    """A plugin value read that was left on the stack (never normally: reads are leaves)."""
    m.finish_value(read_value(m, f.node))


HANDLERS: dict[type, Any] = {
    syntax.Script: h_body,
    syntax.Block: h_body,
    syntax.If: h_if,
    syntax.While: h_while,
    syntax.Assign: h_assign,
    syntax.ExprStmt: h_exprstmt,
    syntax.BinOp: h_binop,
    syntax.Logic: h_logic,
    syntax.Not: h_not,
    syntax.Unary: h_unary,
    syntax.Index: h_index,
    syntax.Call: handle_call,
    syntax.Exists: h_exists,
    syntax.ArrayLit: h_array,
    syntax.MapLit: h_map,
    syntax.QName: h_qname,
}

__all__ = ["HANDLERS", "ParameterError", "TypeFault", "index_at", "placed", "store_into"]
