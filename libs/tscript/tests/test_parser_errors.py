"""Parse errors: every rule of tscript.md §2–§5 with its line, column and message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tscript.errors import ParseError
from tscript.parser import parse

DATA = Path(__file__).parent / "data" / "tscript-examples.json"
CASES: list[dict[str, Any]] = json.loads(DATA.read_text(encoding="utf-8"))["cases"]
INVALID = [c for c in CASES if c["expect"]["status"] == "invalid"]
VALID = [c for c in CASES if c["expect"]["status"] != "invalid"]


def error(src: str | bytes) -> ParseError:
    with pytest.raises(ParseError) as info:
        parse(src)
    return info.value


ERRORS = [
    # lexical (§2)
    ("x = 1 !", 1, 7, "unexpected '!'"),
    ("x = 1 @ 2", 1, 7, "unexpected character '@'"),
    ("x = é", 1, 5, "only allowed in strings and comments"),
    ("x\x0c= 1", 1, 2, "invalid character U+000C"),
    ("x =\u00a01", 1, 4, "U+00A0"),
    ("x = 1\x0b", 1, 6, "U+000B"),
    ('x = "abc', 1, 5, "unterminated string"),
    ("a = 1\nx = ( 'abc\n\n", 2, 7, "unterminated string"),
    ("x = 123:45", 1, 5, "invalid time literal '123:45'"),
    ("x = 1:2:3:4:5", 1, 5, "invalid time literal"),
    ("x = 1e5", 1, 6, "directly followed by a word"),
    ("zone = dns.9x", 1, 13, "directly followed by a word"),
    ("x = 1_000", 1, 6, "unexpected character '_'"),
    ("x = .5", 1, 5, "expected an expression, found '.'"),
    ("pct = ( 2 + .25 )", 1, 13, "found '.'"),
    ("aa = 1.", 1, 8, "found end of input"),
    ("x = " + "1" * 5000, 1, 5, "integer literal too long"),
    ("x = " + "1" * 400 + ".5", 1, 5, "number too large"),
    ("x = )", 1, 5, "unexpected ')'"),
    ("x = ( 1 ]", 1, 9, "unexpected ']'"),
    ("x = [ (1 }", 1, 10, "unexpected '}'"),
    ("x = (", 1, 5, "unclosed '('"),
    ("x = f( a=[ 1,\n  2", 1, 10, "unclosed '['"),
    ("x = (1 2", 1, 8, "expected ')', found '2'"),
    ("aa = 1\r\rbb = 2 +", 3, 9, "expected an expression"),
    ("aa = 1\rbb = [ 1,\r2,\r]\rcc = 1 +", 5, 9, "expected an expression"),
    ("aa = ( 1 +\n  2 )\nbb = aa *\n3", 3, 10, "found end of line"),
    ("x = 1 +\r\n\r\n", 1, 8, "found end of line"),
    # reserved words and names (§2.2)
    ("do", 1, 1, "unexpected 'do'"),
    ("do = 5", 1, 1, "reserved word 'do' cannot be a name"),
    ("if = 5", 1, 4, "reserved word 'if' cannot be a name"),
    ("not = 5", 1, 5, "reserved word 'not' cannot be a name"),
    ("true = 1", 1, 6, "reserved word 'true' cannot be a name"),
    ("pass = 1", 1, 6, "reserved word 'pass' cannot be a name"),
    ("x = if", 1, 5, "reserved word 'if' cannot be a name"),
    ("x = end", 1, 5, "found 'end'"),
    ("else = 1", 1, 1, "reserved word 'else' cannot be a name"),
    ("else x = 1", 1, 1, "unexpected 'else'"),
    ("end", 1, 1, "unexpected 'end'"),
    ("bb = ( aa oraa )", 1, 11, "expected ')', found 'oraa'"),
    ("x = none.end", 1, 10, "found 'end'"),
    ("goto aa.bb", 1, 8, "unexpected '.'"),
    ("x = { a.b = 1 }", 1, 8, "unexpected '.'"),
    # adjacency (§2.4)
    ("hello (x=1)", 1, 7, "no space is allowed between a function name and '('"),
    ("x = m.f (x=1)", 1, 9, "no space"),
    ("aa [0]", 1, 4, "no space is allowed before an index"),
    ("x = aa[0] [1]", 1, 11, "before an index"),
    ("x = ( aa\n[0] )", 2, 1, "before an index"),
    ("begin ()\nend", 1, 1, "expected '(' directly after 'begin'"),
    ("x = exists (aa)", 1, 5, "expected '(' directly after 'exists'"),
    (": here", 1, 1, "expected a label directly after ':'"),
    ("x = 1:", 1, 6, "found ':'"),
    ("x = :a", 1, 5, "found ':a'"),
    ("while True do10", 1, 12, "expected 'do', found 'do10'"),
    # expressions (§3, §4)
    ("aa = 1 < 2 < 3", 1, 12, "comparisons cannot be chained"),
    ("not a == b == c", 1, 12, "comparisons cannot be chained"),
    ("aa == not bb == cc == dd", 1, 20, "comparisons cannot be chained"),
    ("aa = [ , ]", 1, 8, "expected an expression, found ','"),
    ("x = [ 1 2 ]", 1, 9, "expected ',' or ']', found '2'"),
    ("x = [ 1,, ]", 1, 9, "found ','"),
    ("hello( 10 )", 1, 8, "arguments must be named"),
    ("len( [ 1, 2 ] )", 1, 6, "arguments must be named"),
    ("f( x )", 1, 6, "expected '=', found ')'"),
    ("f( , )", 1, 4, "expected an argument name, found ','"),
    ("f( a=1, a=2 )", 1, 9, "duplicate argument 'a'"),
    ('{ asdf: "10" }', 1, 7, "expected '=', found ':'"),
    ("{ 10 = 1 }", 1, 3, "expected a key name, found '10'"),
    ("xx = { aa = 1, bb = 2, aa = 3 }", 1, 24, "duplicate key 'aa'"),
    ("x = exists( 5 )", 1, 13, "expected a variable name"),
    ("x = exists( f(a=1) )", 1, 14, "expected ')', found '('"),
    ("x = exists( a + 1 )", 1, 15, "expected ')', found '+'"),
    ("x = aa[]", 1, 8, "expected an expression, found ']'"),
    ("x = 1 2", 1, 7, "expected end of line, found '2'"),
    ("x = (1)(2)", 1, 8, "found '('"),
    # statements (§3 rules, §5)
    ("aa = 1 bb = 2", 1, 8, "expected end of line, found 'bb'"),
    ("aa = bb = 5", 1, 9, "assignment is a statement"),
    ("ff( xx = yy = 1 )", 1, 13, "assignment is a statement"),
    ("if aa = 1 then bb = 1", 1, 7, "assignment is a statement"),
    ("(aa) = 1", 1, 6, "cannot assign to this expression"),
    ("(aa)[0] = 1", 1, 9, "cannot assign"),
    ("f(x=1)[0] = 2", 1, 11, "cannot assign"),
    ("aa + 1 = 2", 1, 8, "cannot assign"),
    ("-aa = 2", 1, 5, "cannot assign"),
    ("ready = True\nif ready go = 1", 2, 10, "expected 'then', found 'go'"),
    ("while ( c < 2 ) c = 1", 1, 17, "expected 'do', found 'c'"),
    ("if a then", 1, 10, "expected a statement, found end of input"),
    ("if a then\n\n", 3, 1, "expected a statement"),
    ("if a then x = 1 else y = 2 else z = 3", 1, 28, "found 'else'"),
    ("if a then x = 1\nelse y = 2\nelif b then z = 3", 3, 1, "unexpected 'elif'"),
    ("if a then x = 1 y = 2", 1, 17, "expected end of line, found 'y'"),
    ("begin()\n  if a then\nend", 3, 1, "unexpected 'end'"),
    ("if True then continue", 1, 14, "'continue' outside a while loop"),
    ("aa = 1\nbegin()\n  break\nend", 3, 3, "'break' outside a while loop"),
    ("if a then while b do x = 1\nelse break", 2, 6, "'break' outside"),
    ("while a do x = 1\nbreak", 2, 1, "'break' outside"),
    ("step = 1\ngoto\nstep = 2", 2, 5, "expected a label, found end of line"),
    ("goto 5", 1, 6, "expected a label, found '5'"),
    ("goto a b", 1, 8, "expected end of line"),
    ("begin()\n:there\nend", 2, 1, "only allowed at the top level"),
    ("if False then x = 1 else :fallback", 1, 26, "jump point ':fallback'"),
    ("while False do :here", 1, 16, "only allowed at the top level"),
    ("if a then\n  :x", 2, 3, "only allowed at the top level"),
    (":a b", 1, 4, "expected end of line"),
    # blocks (§5.5)
    ("begin()", 1, 1, "unclosed block"),
    ("setup = 1\nbegin( description='x' )\n  setup = 2\n", 2, 1, "unclosed block"),
    ("begin()\n begin()\n  x = 1 +", 2, 2, "unclosed block"),
    ("begin()\n x = (1", 2, 6, "unclosed '('"),
    ("begin(", 1, 6, "unclosed '('"),
    ("begin()\n aa = 1 end", 2, 9, "'end' must start a line"),
    ("begin() aa = 1 end", 1, 16, "'end' must start a line"),
    ("begin() end x = 1", 1, 13, "expected end of line, found 'x'"),
    ("begin( max_time=5 )\nend", 1, 17, "expected a time literal such as 1:30 for 'max_time'"),
    ("begin( max_time=1.5 )\nend", 1, 17, "for 'max_time', found '1.5'"),
    ("begin( max_time=-1:00 )\nend", 1, 17, "found '-'"),
    ("begin( description=foo )\nend", 1, 20, "expected a string for 'description'"),
    ("begin( description=5 )\nend", 1, 20, "a string"),
    ("begin( description='a' . 'b' )\nend", 1, 24, "expected ',' or ')', found '.'"),
    ('begin( expected_time="1:00" )\nend', 1, 22, "a time literal"),
    ('begin( bogus="x" )\nend', 1, 8, "unknown block option 'bogus'"),
    ('begin( if="x" )\nend', 1, 8, "unknown block option 'if'"),
    ("begin( max_time=1:00, max_time=2:00 )\nend", 1, 23, "duplicate option 'max_time'"),
    ("begin( 'x' )\nend", 1, 8, "expected a block option"),
    ("begin( description )\nend", 1, 20, "expected '=', found ')'"),
    ("begin( description='x' max_time=1:00 )\nend", 1, 24, "expected ',' or ')'"),
    ("begin( description='x )\nend", 1, 20, "unterminated string"),
    ("x = begin()", 1, 5, "reserved word 'begin' cannot be a name"),
]


@pytest.mark.parametrize(("src", "line", "column", "message"), ERRORS)
def test_error(src: str, line: int, column: int, message: str) -> None:
    err = error(src)
    assert (err.line, err.column) == (line, column), err.message
    assert message in err.message
    assert str(err) == f"{line}:{column}: {err.message}"


def test_earliest_error_wins_over_a_later_lexical_error() -> None:
    err = error("x = 1 2\ny = @")
    assert (err.line, err.column) == (1, 7)
    err = error("x = (1 2 ]")
    assert (err.line, err.column) == (1, 8)
    assert error("x = 'a\ny = (1 +").message == "unterminated string"


def test_invalid_utf8() -> None:
    err = error(b"x = 1\ny = '\xff'")
    assert (err.line, err.column, err.message) == (2, 6, "invalid UTF-8")
    err = error(b"\xef\xbb\xbfx\r\n\r\xc3")
    assert (err.line, err.column) == (3, 1)
    err = error(b"a = '\xe2\x82\xac\xe2\x82'")  # a truncated sequence after a euro sign
    assert (err.line, err.column) == (1, 7)


def test_eof_position_is_after_the_last_character() -> None:
    assert (error("x = 1 +").line, error("x = 1 +").column) == (1, 8)
    assert (error("x = 1 +  # c").line, error("x = 1 +  # c").column) == (1, 13)
    err = error("x = 'a\r\nb' +")
    assert (err.line, err.column) == (2, 5)


@pytest.mark.parametrize("case", INVALID, ids=[c["name"] for c in INVALID])
def test_conformance_invalid(case: dict[str, Any]) -> None:
    err = error(case["script"].encode("utf-8"))
    assert err.line == case["expect"]["line"], err


@pytest.mark.parametrize("case", VALID, ids=[c["name"] for c in VALID])
def test_conformance_valid_cases_parse(case: dict[str, Any]) -> None:
    script = parse(case["script"].encode("utf-8"))
    assert script.nid == 0
