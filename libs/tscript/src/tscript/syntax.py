"""The parse tree of a TScript program.

Every node has ``nid``, its number in a pre-order walk of the tree (the script is 0; a node's
children follow it in source order), and the ``line`` / ``column`` where its construct starts
(tscript.md §9.3): the name token for names, the operator token for operators, the ``[`` of an
index, the first character of a call, the keyword of ``if`` / ``while`` / ``goto`` / ``begin``,
the start of the target for assignments. Saved states refer to nodes by ``nid``, so the
numbering is part of the state format.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from tscript.values import Value


@dataclass(eq=False, slots=True)
class Node:
    """Common fields of every node."""

    line: int
    column: int
    nid: int = field(default=-1, kw_only=True)


# --- expressions -----------------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class Expr(Node):
    """Base of expression nodes."""


@dataclass(eq=False, slots=True)
class Const(Expr):
    """A literal: int, float, string, bool, none, or a :class:`~tscript.values.Duration`."""

    value: Value


@dataclass(eq=False, slots=True)
class Name(Expr):
    """A script variable."""

    name: str


@dataclass(eq=False, slots=True)
class QName(Expr):
    """A plugin value ``module.name``."""

    module: str
    name: str


@dataclass(eq=False, slots=True)
class BinOp(Expr):
    """A binary operator: ``+ - * / % ^ & | . == != < <= > >=``; position is the operator."""

    op: str
    left: Expr
    right: Expr


@dataclass(eq=False, slots=True)
class Logic(Expr):
    """Short-circuit ``and`` / ``or``; position is the keyword."""

    op: str
    left: Expr
    right: Expr


@dataclass(eq=False, slots=True)
class Not(Expr):
    """``not`` / ``Not``; position is the keyword."""

    operand: Expr


@dataclass(eq=False, slots=True)
class Unary(Expr):
    """Unary ``-`` / ``+`` (not part of a signed literal); position is the sign."""

    op: str
    operand: Expr


@dataclass(eq=False, slots=True)
class Index(Expr):
    """``base[i1][i2]…``: one node for a whole chain of index suffixes.

    ``brackets`` holds the (line, column) of each ``[``. When ``base`` is a :class:`Name` or
    :class:`QName`, all index expressions are evaluated first, then the name is read
    (tscript.md §6.2); for any other base the base is evaluated first. ``nid`` order: base,
    then the indexes.
    """

    base: Expr
    indexes: list[Expr]
    brackets: list[tuple[int, int]]


@dataclass(eq=False, slots=True)
class Call(Expr):
    """``name( a=…, b=… )`` (builtin, ``module`` is None) or ``module.name( … )``."""

    module: str | None
    name: str
    args: list[tuple[str, Expr]]


@dataclass(eq=False, slots=True)
class Exists(Expr):
    """``exists( target )``; target is a Name, QName or an Index rooted at one."""

    target: Expr


@dataclass(eq=False, slots=True)
class ArrayLit(Expr):
    """``[ e1, e2, … ]``."""

    items: list[Expr]


@dataclass(eq=False, slots=True)
class MapLit(Expr):
    """``{ k1=e1, k2=e2, … }``; keys are strings, in source order."""

    items: list[tuple[str, Expr]]


# --- statements ------------------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class Stmt(Node):
    """Base of statement nodes."""


@dataclass(eq=False, slots=True)
class Assign(Stmt):
    """``target = value``; target is ``name`` or ``module.name`` plus index suffixes.

    ``nid`` order: the index expressions, then ``value``.
    """

    module: str | None
    name: str
    indexes: list[Expr]
    brackets: list[tuple[int, int]]
    value: Expr


@dataclass(eq=False, slots=True)
class ExprStmt(Stmt):
    """An expression evaluated for its effects; its value is discarded."""

    expr: Expr


@dataclass(eq=False, slots=True)
class If(Stmt):
    """``if c1 then b1 elif c2 then b2 … else bn``; ``conds`` and ``bodies`` pair up.

    ``nid`` order: c1, b1, c2, b2, …, orelse.
    """

    conds: list[Expr]
    bodies: list[Stmt]
    orelse: Stmt | None


@dataclass(eq=False, slots=True)
class While(Stmt):
    """``while cond do body``."""

    cond: Expr
    body: Stmt


@dataclass(eq=False, slots=True)
class Block(Stmt):
    """``begin( options ) … end``. Times are in seconds."""

    description: str | None
    expected_time: int | float | None
    max_time: int | float | None
    body: list[Stmt]


@dataclass(eq=False, slots=True)
class Goto(Stmt):
    """``goto label``; position is the keyword."""

    label: str


@dataclass(eq=False, slots=True)
class JumpPoint(Stmt):
    """``:label`` (top level only)."""

    label: str


@dataclass(eq=False, slots=True)
class Pass(Stmt):
    """``pass``."""


@dataclass(eq=False, slots=True)
class Break(Stmt):
    """``break``."""


@dataclass(eq=False, slots=True)
class Continue(Stmt):
    """``continue``."""


@dataclass(eq=False, slots=True)
class Script(Node):
    """The whole program; always ``nid`` 0 at line 1, column 1."""

    body: list[Stmt]


def children(node: Node) -> list[Node]:
    """The direct children of ``node`` in pre-order (source) order."""
    match node:
        case Script(body=body) | Block(body=body):
            return list(body)
        case BinOp(left=left, right=right) | Logic(left=left, right=right):
            return [left, right]
        case Not(operand=operand) | Unary(operand=operand):
            return [operand]
        case Index(base=base, indexes=indexes):
            return [base, *indexes]
        case Call(args=args) | MapLit(items=args):
            return [expr for _, expr in args]
        case Exists(target=target):
            return [target]
        case ArrayLit(items=items):
            return list(items)
        case Assign(indexes=indexes, value=value):
            return [*indexes, value]
        case ExprStmt(expr=expr):
            return [expr]
        case If(conds=conds, bodies=bodies, orelse=orelse):
            out: list[Node] = []
            for cond, body in zip(conds, bodies, strict=True):
                out += [cond, body]
            if orelse is not None:
                out.append(orelse)
            return out
        case While(cond=cond, body=body):
            return [cond, body]
    return []


def number_nodes(script: Script) -> list[Node]:
    """Assign pre-order ``nid`` numbers; returns the nodes indexed by ``nid``."""
    nodes: list[Node] = []
    stack: list[Node] = [script]
    while stack:
        node = stack.pop()
        node.nid = len(nodes)
        nodes.append(node)
        stack.extend(reversed(children(node)))
    return nodes
