"""Parser tests: tree shapes per construct, positions, numbering, and every error rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tscript import syntax as s
from tscript.errors import ParseError
from tscript.parser import parse
from tscript.values import Duration

DATA = Path(__file__).parent / "data" / "tscript-examples.json"
CASES: list[dict[str, Any]] = json.loads(DATA.read_text(encoding="utf-8"))["cases"]


def sx(n: s.Node | None) -> str:
    """A compact text form of a tree: ``(l op r)``, ``u-`` for Unary, ``:=`` for Assign."""
    match n:
        case s.Const(value=v):
            return repr(v)
        case s.Name(name=name):
            return name
        case s.QName(module=m, name=name):
            return f"{m}.{name}"
        case s.BinOp(op=op, left=lft, right=rgt) | s.Logic(op=op, left=lft, right=rgt):
            return f"({sx(lft)} {op} {sx(rgt)})"
        case s.Not(operand=x):
            return f"(not {sx(x)})"
        case s.Unary(op=op, operand=x):
            return f"(u{op} {sx(x)})"
        case s.Index(base=b, indexes=ix):
            return sx(b) + "".join(f"[{sx(i)}]" for i in ix)
        case s.Call(module=m, name=name, args=args):
            return f"{m + '.' if m else ''}{name}({_pairs(args)})"
        case s.Exists(target=t):
            return f"exists({sx(t)})"
        case s.ArrayLit(items=items):
            return "[" + ", ".join(map(sx, items)) + "]"
        case s.MapLit(items=pairs):
            return "{" + _pairs(pairs) + "}"
        case s.Assign(module=m, name=name, indexes=ix, value=v):
            target = (m + "." if m else "") + name + "".join(f"[{sx(i)}]" for i in ix)
            return f"{target} := {sx(v)}"
        case s.ExprStmt(expr=e):
            return sx(e)
        case s.If(conds=conds, bodies=bodies, orelse=orelse):
            arms = " elif ".join(
                f"{sx(c)} then {{{sx(b)}}}" for c, b in zip(conds, bodies, strict=True)
            )
            return "if " + arms + (f" else {{{sx(orelse)}}}" if orelse else "")
        case s.While(cond=c, body=b):
            return f"while {sx(c)} do {{{sx(b)}}}"
        case s.Block(description=d, expected_time=e, max_time=m, body=body):
            return f"block({d!r},{e},{m})[" + "; ".join(map(sx, body)) + "]"
        case s.Goto(label=label):
            return f"goto {label}"
        case s.JumpPoint(label=label):
            return f":{label}"
        case s.Pass():
            return "pass"
        case s.Break():
            return "break"
        case s.Continue():
            return "continue"
        case s.Script(body=body):
            return "; ".join(map(sx, body))
    raise AssertionError(n)


def _pairs(pairs: list[tuple[str, s.Expr]]) -> str:
    return ", ".join(f"{k}={sx(v)}" for k, v in pairs)


def tree(src: str) -> str:
    return sx(parse(src))


def error(src: str | bytes) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse(src)
    return info.value


EXPRESSIONS = [
    # signed literals, unary signs, power
    ("-2 ^ 2", "(-2 ^ 2)"),
    ("- 2 ^ 2", "(u- (2 ^ 2))"),
    ("-xx ^ 2", "(u- (xx ^ 2))"),
    ("2--3", "(2 - -3)"),
    ("5 -1", "(5 - 1)"),
    ("+5", "5"),
    ("-2.5", "-2.5"),
    ("- -2", "(u- -2)"),
    ("- - x", "(u- (u- x))"),
    ("-1:30", "(u- Duration(90))"),
    ("2 ^ 3 ^ 2", "(2 ^ (3 ^ 2))"),
    ("2 ^ -1", "(2 ^ -1)"),
    ("2 ^ - 1", "(2 ^ (u- 1))"),
    ("( -1 ^ 2 )", "(-1 ^ 2)"),
    ("-2[0]", "-2[0]"),
    # binary precedence
    ("1 + 2 * 3", "(1 + (2 * 3))"),
    ("2 * 3 ^ 2", "(2 * (3 ^ 2))"),
    ("5 % 3 ^ 2", "(5 % (3 ^ 2))"),
    ("10 - 4 - 3", "((10 - 4) - 3)"),
    ("7 / 2 * 2", "((7 / 2) * 2)"),
    ("1 | 2 & 3", "(1 | (2 & 3))"),
    ("1 + 1 | 4", "((1 + 1) | 4)"),
    ("6 & 3 == 2", "((6 & 3) == 2)"),
    ('"n" . 2 * 3', "('n' . (2 * 3))"),
    ('"n" . 1 + 2', "(('n' . 1) + 2)"),
    ("a or b and c", "(a or (b and c))"),
    ("a and b or c", "((a and b) or c)"),
    ("a == b and c != d", "((a == b) and (c != d))"),
    ("a < b or a <= b or a > b or a >= b", "((((a < b) or (a <= b)) or (a > b)) or (a >= b))"),
    ("( ( 1 * 2 ) + 3 )", "((1 * 2) + 3)"),
    # not
    ("not 1 == 2", "(not (1 == 2))"),
    ("not 0 and 0", "((not 0) and 0)"),
    ("not not x", "(not (not x))"),
    ("Not False", "(not False)"),
    ("aa == not bb", "(aa == (not bb))"),
    ("1 + not 0 == 1", "(1 + (not (0 == 1)))"),
    ("aa == not bb == cc", "(aa == (not (bb == cc)))"),
    ("aa + not bb == cc == dd", "((aa + (not (bb == cc))) == dd)"),
    ("2 ^ not 1", "(2 ^ (not 1))"),
    ("- not 1", "(u- (not 1))"),
    ('not"x"', "(not 'x')"),
    ("a and not b or c", "((a and (not b)) or c)"),
    # concatenation, numerals and qualified names
    ('(5."a")', "(5 . 'a')"),
    ("(1.5.2)", "(1.5 . 2)"),
    ("1:30.5", "(Duration(90) . 5)"),
    ("aa.bb.cc", "(aa.bb . cc)"),
    ("aa . bb", "(aa . bb)"),
    ("aa. bb", "(aa . bb)"),
    ("aa .bb", "(aa . bb)"),
    ("true.x", "(True . x)"),
    ("true.aa.bb", "(True . aa.bb)"),
    ("config.end", "config.end"),
    ("foundation.type", "foundation.type"),
    # postfix, calls, literals
    ("aa[0][1]", "aa[0][1]"),
    ("(aa[0])[1]", "aa[0][1]"),
    ("f( x=1 )[0]", "f(x=1)[0]"),
    ("[7, 8][1]", "[7, 8][1]"),
    ('"abc"[1]', "'abc'[1]"),
    ("bmc.ports[ slot ]", "bmc.ports[slot]"),
    ("len( array=xx )", "len(array=xx)"),
    ("net.reload( force=True, )", "net.reload(force=True)"),
    ("f()", "f()"),
    ("m.f( end=1, if=2 )", "m.f(end=1, if=2)"),
    ("f(\n  a = 1,\n  b = [ 1,\n 2, ],\n)", "f(a=1, b=[1, 2])"),
    ("exists( aa )", "exists(aa)"),
    ("exists( aa[0]['k'] )", "exists(aa[0]['k'])"),
    ("exists( storage.pool )", "exists(storage.pool)"),
    ("exists(a) and b", "(exists(a) and b)"),
    ("[ ]", "[]"),
    ("[ 1, ]", "[1]"),
    ("{ }", "{}"),
    ("{ end = 1, if = 2, }", "{end=1, if=2}"),
    ("{ xx = { yy = [ 7, 8 ] } }", "{xx={yy=[7, 8]}}"),
    ("007", "7"),
    ("99:99", "Duration(6039)"),
    ("0:05", "Duration(5)"),
    ("1:00:00:00", "Duration(86400)"),
    ("2:03:04", "Duration(7384)"),
    ("true", "True"),
    ("False", "False"),
    ("none", "None"),
    ("None", "None"),
    ("TRUE . NONE . NOT . If . x", "((((TRUE . NONE) . NOT) . If) . x)"),
]


@pytest.mark.parametrize(("src", "want"), EXPRESSIONS)
def test_expression_shape(src: str, want: str) -> None:
    assert tree(src) == want


STATEMENTS = [
    ("aa = 1", "aa := 1"),
    ("aa=5", "aa := 5"),
    ("aa.bb = 1", "aa.bb := 1"),
    ("aa.bb[1] = 2", "aa.bb[1] := 2"),
    ("aa[1][ 'k' ] = 3", "aa[1]['k'] := 3"),
    ("x = 1", "x := 1"),
    ("10", "10"),
    ("a\nb\r\nc\rd", "a; b; c; d"),
    ("\n\n  \n# only comments\n", ""),
    ("", ""),
    ("if True then aa = 1", "if True then {aa := 1}"),
    ("if(1 == 1)then aa = 1", "if (1 == 1) then {aa := 1}"),
    ('if(c == 2)then m = "y"else m = "n"', "if (c == 2) then {m := 'y'} else {m := 'n'}"),
    ("if a then\n\n  x = 1", "if a then {x := 1}"),
    ("if True then # note\n aa = 1", "if True then {aa := 1}"),
    ("if a then x = 1 elif b then x = 2 else x = 3", None),
    ("if a then x = 1\n\n# c\nelif b then\n  x = 2\n\nelse # e\n\n  x = 3", None),
    (
        "if True then if False then aa = 1 else aa = 2",
        "if True then {if False then {aa := 1} else {aa := 2}}",
    ),
    ("if a then\n  if b then x = 1\nelse x = 2", "if a then {if b then {x := 1} else {x := 2}}"),
    ("aa = 0\nif False then\n  bb = 1\n\n  cc = 2", "aa := 0; if False then {bb := 1}; cc := 2"),
    ("if a then x = 1\nelse y = 2\nz = 3", "if a then {x := 1} else {y := 2}; z := 3"),
    ("while(1 == 2)do aa = 1", "while (1 == 2) do {aa := 1}"),
    ("while True do break", "while True do {break}"),
    ("while a do\nbegin()\n if b then continue\n pass\nend", None),
    ("while a do if b then x = 1 else break", "while a do {if b then {x := 1} else {break}}"),
    ("while a do if b then x = 1\nelse break", "while a do {if b then {x := 1} else {break}}"),
    ("begin()end", "block(None,None,None)[]"),
    ("begin()\nend", "block(None,None,None)[]"),
    ("begin()\n  # nothing\n\nend", "block(None,None,None)[]"),
    ('begin( description="x" )   end', "block('x',None,None)[]"),
    ("begin() aa = 1\nend", "block(None,None,None)[aa := 1]"),
    ("begin()\n  a = 1\n  b = 2\n  end", "block(None,None,None)[a := 1; b := 2]"),
    (
        "begin(\n  max_time=1:00,\n  expected_time=0:30,\n  description='d',\n)\nend",
        "block('d',30,60)[]",
    ),
    (
        "begin()\n  begin()end\n  x = 1\nend",
        "block(None,None,None)[block(None,None,None)[]; x := 1]",
    ),
    ("if a then begin()\n x = 1\nend else y = 2", None),
    ("goto  there\n:there", "goto there; :there"),
    ("goto\t\tend", "goto end"),
    ("goto if", "goto if"),
    (":first\n:second\n:if", ":first; :second; :if"),
    ("pass", "pass"),
    ("mm = { end = 1 }\nnn = mm['end']", "mm := {end=1}; nn := mm['end']"),
    ("level = 3   # after a statement", "level := 3"),
    ("  64\n\t8  \n   128   ", "64; 8; 128"),
]


@pytest.mark.parametrize(("src", "want"), [c for c in STATEMENTS if c[1] is not None])
def test_statement_shape(src: str, want: str) -> None:
    assert tree(src) == want


def test_elif_chain_and_blocks_in_bodies() -> None:
    want = "if a then {x := 1} elif b then {x := 2} else {x := 3}"
    assert tree("if a then x = 1 elif b then x = 2 else x = 3") == want
    assert tree("if a then x = 1\n\n# c\nelif b then\n  x = 2\n\nelse # e\n\n  x = 3") == want
    assert tree("while a do\nbegin()\n if b then continue\n pass\nend") == (
        "while a do {block(None,None,None)[if b then {continue}; pass]}"
    )
    assert tree("if a then begin()\n x = 1\nend else y = 2") == (
        "if a then {block(None,None,None)[x := 1]} else {y := 2}"
    )


def test_identifiers_that_contain_keywords() -> None:
    assert tree("nothing . notable . trueish . nonesuch . passenger . endless . orbit") == (
        "((((((nothing . notable) . trueish) . nonesuch) . passenger) . endless) . orbit)"
    )


def test_literal_values_and_types() -> None:
    src = "a = 7\nb = 2.5\nc = 1:30\nd = 'x\r\ny'\ne = True\nf = none\ng = -0.25\nh = " + "9" * 999
    values = [const(stmt) for stmt in parse(src).body]
    assert values == [7, 2.5, Duration(90), "x\r\ny", True, None, -0.25, int("9" * 999)]
    assert [type(v) for v in values[:3]] == [int, float, Duration]


def const(stmt: s.Stmt) -> Any:
    assert isinstance(stmt, s.Assign) and isinstance(stmt.value, s.Const)
    return stmt.value.value


def test_positions() -> None:
    script = parse("x = 1\n  aa[0][ bb ] = -2 + f( k=cc )\nif a then\n  goto  top\n:top")
    assign = script.body[1]
    assert isinstance(assign, s.Assign)
    assert (assign.line, assign.column, assign.brackets) == (2, 3, [(2, 5), (2, 8)])
    plus = assign.value
    assert isinstance(plus, s.BinOp) and (plus.line, plus.column) == (2, 20)
    assert (plus.left.line, plus.left.column) == (2, 17)  # the sign of a signed literal
    call = plus.right
    assert isinstance(call, s.Call) and (call.line, call.column) == (2, 22)
    assert (call.args[0][1].line, call.args[0][1].column) == (2, 27)
    cond = script.body[2]
    assert isinstance(cond, s.If) and (cond.line, cond.column) == (3, 1)
    assert (cond.bodies[0].line, cond.bodies[0].column) == (4, 3)
    assert (script.body[3].line, script.body[3].column) == (5, 1)
    stmt = parse("y = zz[1][2]").body[0]
    assert isinstance(stmt, s.Assign)
    index = stmt.value
    assert isinstance(index, s.Index) and (index.line, index.column) == (1, 7)
    assert index.brackets == [(1, 7), (1, 10)]


def test_columns_count_code_points_and_tabs() -> None:
    stmt = parse("x = 'é€😀' .\ty").body[0]
    assert isinstance(stmt, s.Assign) and (stmt.value.line, stmt.value.column) == (1, 11)
    assert error("x = 'é€😀'\t+").column == 12


def test_numbering_is_preorder() -> None:
    script = parse("a[1] = 2 + b\nif c then d = [3, {k = 4}] else e(x = 5)")
    nodes = s.number_nodes(script)
    assert [type(n).__name__ for n in nodes] == [
        "Script", "Assign", "Const", "BinOp", "Const", "Name", "If", "Name", "Assign",
        "ArrayLit", "Const", "MapLit", "Const", "ExprStmt", "Call", "Const",
    ]  # fmt: skip
    assert script.nid == 0 and [n.nid for n in nodes] == list(range(len(nodes)))


def test_source_forms() -> None:
    assert tree(b"\xef\xbb\xbfx = 1") == "x := 1"
    assert tree("\ufeffx = 1") == "x := 1"
    assert tree("x = 'caf\u00e9'".encode()) == "x := 'café'"
    assert parse(b"\xef\xbb\xbf\n  y").body[0].column == 3
    err = error(b"x = 1\r\ny = '\xc3\xa9\xff'")
    assert (err.line, err.column) == (2, 7)
    err = error(b"a\rb\n\xed\xa0\x80")  # an encoded surrogate is invalid UTF-8
    assert (err.line, err.column) == (3, 1)


def test_nesting_limit() -> None:
    assert tree("x = " + "(" * 200 + "1" + ")" * 200) == "x := 1"
    assert tree("x = " + "[" * 150 + "]" * 150).startswith("x := [[")
    assert error("x = " + "(" * 201 + "1" + ")" * 201).message == "nesting too deep"
    for src in [
        "x = " + "(" * 100_000,
        "x = " + "f(a=" * 5000,
        "x = " + "- " * 5000 + "1",
        "x = " + "not " * 5000 + "1",
        "x = " + "2 ^ " * 5000 + "2",
        "if a then " * 5000 + "x = 1",
        "begin()\n" * 5000,
        "x = " + "a or b and c == d | e & f + g * h ^ (" * 300,
    ]:
        assert "too deep" in error(src).message
