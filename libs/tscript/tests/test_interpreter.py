"""Per-construct behaviour through the Python API (tscript.md §3-§12).

Scripts are compiled with ``compile_program`` and run with ``Interpreter.start(...).run(...)``
on a ``VirtualContext``; waits for a delay move the virtual clock to the wake-up time (as the
CLI's virtual clock does), so delays finish at once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from tscript.codec import from_json, to_json
from tscript.context import VirtualContext, from_micros, to_micros
from tscript.errors import ActionRefused, DeliveryRejected, ParseError
from tscript.machine import Interpreter, SliceResult
from tscript.plugins import (
    Done,
    Fail,
    Function,
    Module,
    Pause,
    Registry,
    Send,
    ValueDef,
    Wait,
    inline,
    remote,
)
from tscript.program import compile_program
from tscript.values import Handle

# ------------------------------------------------------------------------------ helpers


def drive(job: Interpreter, ctx: VirtualContext, slice_size: int = 1000) -> SliceResult:
    """Run slices until the job stops; a wait on the clock jumps the virtual clock."""
    for _ in range(1_000_000):
        result = job.run(slice_size)
        if result.status == "yielded":
            continue
        if result.status == "waiting" and result.request is None and result.wake_at is not None:
            ctx.advance_to(from_micros(result.wake_at))
            continue
        return result
    raise AssertionError("the job never stopped")


def start(
    source: str,
    *,
    variables: dict[str, Any] | None = None,
    step_limit: int = 100_000,
    registry: Registry | None = None,
) -> tuple[Interpreter, VirtualContext]:
    ctx = VirtualContext()
    job = Interpreter.start(
        compile_program(source),
        registry or Registry(),
        ctx,
        variables=variables,
        step_limit=step_limit,
    )
    return job, ctx


def execute(source: str, slice_size: int = 1000, **kwargs: Any) -> tuple[Interpreter, SliceResult]:
    job, ctx = start(source, **kwargs)
    return job, drive(job, ctx, slice_size)


def same_json(left: Any, right: Any) -> bool:
    """JSON equality with exact types (``2 != 2.0``, ``1 != true``)."""
    if isinstance(left, dict) and isinstance(right, dict):
        return set(left) == set(right) and all(same_json(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(
            same_json(a, b) for a, b in zip(left, right, strict=True)
        )
    return type(left) is type(right) and left == right


def encoded_vars(job: Interpreter) -> dict[str, Any]:
    return {name: to_json(value) for name, value in job.vars.items()}


def column_of(source: str, line: int, needle: str | int, nth: int = 1) -> int:
    """1-based column of the ``nth`` occurrence of ``needle`` on ``line`` of ``source``.

    An int ``needle`` is the column itself.
    """
    if isinstance(needle, int):
        return needle
    text = source.replace("\r\n", "\n").replace("\r", "\n").split("\n")[line - 1]
    index = -1
    for _ in range(nth):
        index = text.index(needle, index + 1)
    return index + 1


def case(
    name: str,
    source: str,
    status: str = "done",
    variables: dict[str, Any] | None = None,
    at: tuple[Any, ...] | None = None,
    message: str | None = None,
) -> Any:
    """One table row. ``at`` is ``(line,)`` or ``(line, needle[, nth])`` for the stop position."""
    return pytest.param(source, status, variables, at, message, id=name)


def check(
    source: str,
    status: str,
    variables: dict[str, Any] | None,
    at: tuple[Any, ...] | None,
    message: str | None,
    slice_size: int = 1000,
) -> None:
    if status == "invalid":
        with pytest.raises(ParseError) as info:
            compile_program(source)
        if at is not None:
            assert info.value.line == at[0], info.value
            if len(at) > 1:
                assert info.value.column == column_of(source, *at), info.value
        return
    job, result = execute(source, slice_size)
    assert result.status == status, (result, job.vars)
    assert job.status == status
    if variables is not None:
        got = encoded_vars(job)
        assert same_json(got, variables), f"{got!r} != {variables!r}"
    if status == "done":
        assert (result.line, result.column) == (None, None)
    elif at is not None:
        assert result.line == at[0], result
        if len(at) > 1:
            assert result.column == column_of(source, *at), result
        assert job.position == (result.line, result.column)
    if message is not None:
        assert result.message == message


# ------------------------------------------------------------------------------ §2, §3.1

PARSING = [
    case("unclosed_block", "begin()", "invalid", at=(1, "begin")),
    case("parenthesised", "aa = (1+2)*3", variables={"aa": 9}),
    case("no_chained_comparison", "aa = 1 < 2 < 3", "invalid", at=(1, "<", 2)),
    case("multiline_array", "aa = [ 1,\n 2, ]", variables={"aa": [1, 2]}),
    case("array_lone_comma", "aa = [ , ]", "invalid", at=(1, ",")),
    case("unnamed_argument", "hello( 10 )", "invalid", at=(1,)),
    case("map_with_colon", '{ asdf: "10" }', "invalid", at=(1,)),
    case("assignment_chain", "aa = bb = 5", "invalid", at=(1, "=", 2)),
    case("jump_point_in_block", "begin()\n:there\nend", "invalid", at=(2, ":there")),
    case("do10_is_a_word", "while True do10", "invalid", at=(1,)),
    case("comment_after_then", "if True then # note\n aa = 1", variables={"aa": 1}),
    case("goto_spaces", "goto  there\n:there", variables={}),
    case("goto_tab", "goto\tthere\naa = 1\n:there", variables={}),
    # the end of input is located just after the last character
    case("lone_cr_lines", "aa = 1\r\rbb = 2 +", "invalid", at=(3, 9)),
    case("crlf_lines", "aa = 1\r\nbb = cc", "aborted", {"aa": 1}, (2, "cc")),
    case("lone_cr_runtime_line", "aa = 1\r\r  bb = cc", "aborted", {"aa": 1}, (3, "cc")),
    case(
        "word_boundaries",
        "nothing = 1\nnotable = 2\ntrueish = 3\nx = nothing + notable",
        variables={"nothing": 1, "notable": 2, "trueish": 3, "x": 3},
    ),
    case("reserved_if", "if = 5", "invalid", at=(1,)),
    case("reserved_not", "not = 5", "invalid", at=(1,)),
    case("reserved_true", "true = 1", "invalid", at=(1,)),
    case(
        "capital_keywords_are_names",
        "TRUE = 1\nIf = 2\nx = TRUE + If",
        variables={"TRUE": 1, "If": 2, "x": 3},
    ),
    case("space_before_call", "hello (x=1)", "invalid", at=(1,)),
    case("space_before_index", "aa = [1]\nbb = aa [0]", "invalid", at=(2,)),
    case("space_in_begin", "begin ()\nend", "invalid", at=(1,)),
    case("space_in_exists", "aa = exists (bb)", "invalid", at=(1,)),
    case("space_in_jump_point", ": here", "invalid", at=(1,)),
    case(
        "keywords_touch_brackets",
        'if(1 == 1)then aa = 1\nwhile(1 == 2)do aa = 2\nbb = not"x"',
        variables={"aa": 1, "bb": False},
    ),
    case("two_statements_one_line", "aa = 1 bb = 2", "invalid", at=(1, "bb")),
    case("leading_zeros", "aa = 007", variables={"aa": 7}),
    case("time_fields_unchecked", "aa = 99:99", variables={"aa": {"$duration": 6039}}),
    case("time_three_digits", "aa = 123:45", "invalid", at=(1,)),
    case("time_five_fields", "aa = 1:2:3:4:5", "invalid", at=(1,)),
    case("one_dot_is_operator", "aa = 1.", "invalid", at=(1,)),
    case("leading_dot_float", "aa = .5", "invalid", at=(1,)),
    case("int_dot_string", 'aa = (5."a")', variables={"aa": "5a"}),
    case("float_dot_int", "aa = (1.5.2)", variables={"aa": "1.52"}),
    case("unterminated_string", "aa = 1\nbb = 'abc", "invalid", at=(2, "'")),
    case("string_keeps_newline", "aa = 'a\r\nb'\ncc = dd", "aborted", {"aa": "a\r\nb"}, (3, "dd")),
    case("no_escapes", 'aa = "a\\nb"', variables={"aa": "a\\nb"}),
    case("bang_alone", "aa = ! 1", "invalid", at=(1, "!")),
    case("mismatched_bracket", "aa = [ ( 1 ] )", "invalid", at=(1, "]")),
    case("form_feed", "aa = 1\x0c", "invalid", at=(1,)),
    case("non_ascii_outside_string", "aa = 1 \u00e9", "invalid", at=(1,)),
    case(
        "non_ascii_in_string_and_comment",
        "aa = 'caf\u00e9' # \u00e9t\u00e9",
        variables={"aa": "caf\u00e9"},
    ),
    case("one_char_identifier", "x = 1", variables={"x": 1}),
    case("end_must_start_line", "begin() aa = 1 end", "invalid", at=(1, "end")),
    case(
        "dangling_else_multiline",
        "if True then\n if False then aa = 1\nelse aa = 2",
        variables={"aa": 2},
    ),
    case("hash_in_string", 'aa = "a#b" # c', variables={"aa": "a#b"}),
    case("comment_in_brackets", "aa = [ 1, # one\n 2 ]", variables={"aa": [1, 2]}),
    case("body_after_blank_lines", "if True then\n\n  aa = 1", variables={"aa": 1}),
    case("qualified_then_concat", "aa = {a = 1}\ncc = 'x'\nbb = aa.cc", "aborted", None, (3, "aa")),
    case("three_part_name", "cc = 'x'\nbb = aa.bb.cc", "aborted", {"cc": "x"}, (2, "aa")),
    case("break_in_if_in_while", "while True do if True then break\naa = 1", variables={"aa": 1}),
    case(
        "block_as_if_body_with_else",
        "aa = 1\nif aa == 1 then\nbegin()\n bb = 2\nend\nelse cc = 3",
        variables={"aa": 1, "bb": 2},
    ),
    case(
        "qualified_name_spaces_concat",
        "aa = 'a'\nbb = 'b'\ncc = aa . bb",
        variables={"aa": "a", "bb": "b", "cc": "ab"},
    ),
    case("empty_script", "", variables={}),
    case("comment_only", "# nothing\n\n   # more\n", variables={}),
]


@pytest.mark.parametrize(("source", "status", "variables", "at", "message"), PARSING)
def test_parsing(source: str, status: str, variables: Any, at: Any, message: str | None) -> None:
    check(source, status, variables, at, message)


def test_bom_is_ignored() -> None:
    job, result = execute("\ufeffaa = 1\nbb = cc")
    assert result.status == "aborted"
    assert (result.line, result.column) == (2, 6)
    assert job.vars == {"aa": 1}


def test_invalid_utf8_bytes() -> None:
    with pytest.raises(ParseError):
        compile_program(b"aa = '\xff'\n")


# ------------------------------------------------------------------------------ §4

PRECEDENCE = [
    case("mul_before_add", "aa = 1 + 2 * 3", variables={"aa": 7}),
    case("power_right_assoc", "aa = 2 ^ 3 ^ 2", variables={"aa": 512}),
    case("power_before_mul", "aa = 2 * 3 ^ 2", variables={"aa": 18}),
    case("power_before_mod", "aa = 5 % 3 ^ 2", variables={"aa": 5}),
    case("sub_left_assoc", "aa = 10 - 4 - 3", variables={"aa": 3}),
    case("and_before_or_bits", "aa = 1 | 2 & 3", variables={"aa": 3}),
    case("bits_before_compare", "aa = 6 & 3 == 2", variables={"aa": True}),
    case("not_looser_than_compare", "aa = not 1 == 2", variables={"aa": True}),
    case("not_tighter_than_and", "aa = not 0 and 0", variables={"aa": 0}),
    case("concat_with_product", 'aa = "n" . 2 * 3', variables={"aa": "n6"}),
    case("concat_then_add_aborts", 'aa = "n" . 1 + 2', "aborted", {}, (1, "+")),
    case("reference_parens", "aa = ( ( 1 * 2 ) + 3 )", variables={"aa": 5}),
    case("reference_negative_power", "aa = ( 2 ^ -1 )", variables={"aa": 0.5}),
    case("reference_signed_base", "aa = ( -1 ^ 2 )", variables={"aa": 1}),
    case("signed_literal", "aa = -2 ^ 2", variables={"aa": 4}),
    case("unary_minus_space", "aa = - 2 ^ 2", variables={"aa": -4}),
    case("unary_minus_name", "xx = 3\naa = -xx ^ 2", variables={"xx": 3, "aa": -9}),
    case("double_minus", "aa = 2--3", variables={"aa": 5}),
    case("binary_minus_no_space", "aa = 5 -1", variables={"aa": 4}),
    case("not_operand_of_eq", "bb = 1\naa = 0 == not bb", variables={"bb": 1, "aa": True}),
    case("not_operand_of_plus", "aa = 1 + not 0 == 1", variables={"aa": 2}),
]


@pytest.mark.parametrize(("source", "status", "variables", "at", "message"), PRECEDENCE)
def test_precedence(source: str, status: str, variables: Any, at: Any, message: str | None) -> None:
    check(source, status, variables, at, message)


# ------------------------------------------------------------------------------ §5

ODD = """ii = 0
odd = []
while ii < 6 do
begin()
  ii = ii + 1
  if ii % 2 == 0 then continue
  append( array=odd, value=ii )
end"""

COMPLETE = """# retry a flaky step at most three times
attempts = 0
result = none
while attempts < 3 and result == none do
begin( description="attempt" )
  attempts = attempts + 1
  if attempts == 2 then result = "ok"
end
summary = "done after " . attempts . " attempts"

hosts = [
  { name = "web", cpus = 2 },
  { name = "db", cpus = 4 },   # trailing comma is fine
]
total = 0
ii = 0
while True do
begin()
  if ii >= len( array=hosts ) then break
  total = total + hosts[ii]['cpus']
  ii = ii + 1
end
"""

COMPLETE_VARS = {
    "attempts": 2,
    "result": "ok",
    "summary": "done after 2 attempts",
    "hosts": [{"name": "web", "cpus": 2}, {"name": "db", "cpus": 4}],
    "total": 6,
    "ii": 2,
}

STATEMENTS = [
    # 5.1
    case("expression_statement", "10", variables={}),
    case("undefined_expression_statement", "myval", "aborted", {}, (1, "myval")),
    case("call_statement", "len( array=[1] )", variables={}),
    # 5.2
    case("nested_assign", 'aa = {}\naa["k"] = [1]\naa["k"][0] = 5', variables={"aa": {"k": [5]}}),
    case("list_never_grows", "aa = [1]\naa[3] = 1", "aborted", {"aa": [1]}, (2, "[")),
    case("negative_assign_index", "aa = [1, 2]\naa[-1] = 9", variables={"aa": [1, 9]}),
    case("bool_assign_index", "aa = [1, 2]\naa[true] = 9", variables={"aa": [1, 9]}),
    case("assign_into_undefined", "aa[0] = 1", "aborted", {}, (1, "aa")),
    case("assign_missing_path", "aa = {}\naa['x'][0] = 1", "aborted", {"aa": {}}, (2,)),
    case(
        "assign_copy_then_append",
        "aa = [1,2]\nbb = aa\nappend( array=bb, value=3 )",
        variables={"aa": [1, 2], "bb": [1, 2, 3]},
    ),
    case("assign_into_string", 'aa = "abc"\naa[0] = "x"', "aborted", {"aa": "abc"}, (2,)),
    case("assign_map_new_key", "aa = {}\naa[1] = 'x'", variables={"aa": {"$map": [[1, "x"]]}}),
    case(
        "assign_index_order",
        "xx = [1, 2]\naa = [0, 0, 0]\naa[pop( array=xx )] = len( array=xx )",
        variables={"xx": [1], "aa": [0, 0, 1]},
    ),
    case("module_value_index_assign", "foundation.x[0] = missing", "aborted", {}, (1,)),
    # 5.3
    case("if_else_one_line", "if False then var = 1 else var = 2", variables={"var": 2}),
    case("dangling_else", "if True then if False then aa = 1 else aa = 2", variables={"aa": 2}),
    case(
        "body_is_one_statement",
        "aa = 0\nif False then\n  bb = 1\n\n  cc = 2",
        variables={"aa": 0, "cc": 2},
    ),
    case(
        "elif_chain",
        (
            "aa = 2\n"
            "if aa == 1 then bb = 'one'\n"
            "# c\n"
            "elif aa == 2 then bb = 'two'\n"
            "\n"
            "else bb = 'other'"
        ),
        variables={"aa": 2, "bb": "two"},
    ),
    case(
        "untaken_conditions_not_evaluated",
        "if True then aa = 1\nelif missing then aa = 2",
        variables={"aa": 1},
    ),
    case(
        "if_body_error_position",
        'aa = 1\nif aa == 1 then\n  fatal_error( msg="x" )',
        "aborted",
        {"aa": 1},
        (3, "fatal_error"),
        "x",
    ),
    # 5.4
    case("continue_in_block", ODD, variables={"ii": 6, "odd": [1, 3, 5]}),
    case("while_true_break", "while True do break", variables={}),
    case("continue_outside_loop", "if True then continue", "invalid", at=(1, "continue")),
    case("break_outside_loop", "aa = 1\nbreak", "invalid", at=(2, "break")),
    case("break_in_block_outside_loop", "begin()\n break\nend", "invalid", at=(2, "break")),
    case("pass_anywhere", "pass\nif True then pass\nbegin()\n pass\nend", variables={}),
    case(
        "break_through_nested_blocks",
        (
            "ii = 0\n"
            "while True do\n"
            "begin()\n"
            " begin()\n"
            "  ii = ii + 1\n"
            "  if ii == 3 then break\n"
            " end\n"
            "end\n"
            "done = ii"
        ),
        variables={"ii": 3, "done": 3},
    ),
    case(
        "break_innermost_only",
        (
            "out = 0\n"
            "ii = 0\n"
            "while ii < 3 do\n"
            "begin()\n"
            " ii = ii + 1\n"
            " jj = 0\n"
            " while True do\n"
            " begin()\n"
            "  jj = jj + 1\n"
            "  if jj == 2 then break\n"
            " end\n"
            " out = out + jj\n"
            "end"
        ),
        variables={"out": 6, "ii": 3, "jj": 2},
    ),
    case(
        "continue_retests_condition",
        (
            "ii = 0\n"
            "seen = 0\n"
            "while ii < 4 do\n"
            "begin()\n"
            " ii = ii + 1\n"
            " begin()\n"
            "  if ii > 1 then continue\n"
            " end\n"
            " seen = seen + 1\n"
            "end"
        ),
        variables={"ii": 4, "seen": 1},
    ),
    case("while_false_never_runs", "while False do missing", variables={}),
    # 5.5
    case("empty_block", 'begin()end\nbegin( description="x" )   end\naa = 1', variables={"aa": 1}),
    case("statement_on_begin_line", "begin() aa = 1\n bb = 2\nend", variables={"aa": 1, "bb": 2}),
    case("block_no_scope", "begin()\n aa = 1\nend\nbb = aa", variables={"aa": 1, "bb": 1}),
    case("max_time_not_time", "begin( max_time=5 )\nend", "invalid", at=(1, "5")),
    case("description_not_string", "begin( description=foo )\nend", "invalid", at=(1, "foo")),
    case("expected_time_string", 'begin( expected_time="1:00" )\nend', "invalid", at=(1, '"')),
    case("bogus_option", 'begin( bogus="x" )\nend', "invalid", at=(1, "bogus")),
    case(
        "duplicate_option",
        'begin( description="a", description="b" )\nend',
        "invalid",
        at=(1, "description", 2),
    ),
    case(
        "block_options_multiline",
        'begin(\n  description="x",\n  max_time=1:00,\n)\n aa = 1\nend',
        variables={"aa": 1},
    ),
    # 5.6
    case("goto_skips", "goto jump_a\nabc = 1\n:jump_a\ndce = 2", variables={"dce": 2}),
    case(
        "goto_loop", "cnt = 0\n:top\ncnt = cnt + 1\nif cnt < 5 then goto top", variables={"cnt": 5}
    ),
    case(
        "goto_unknown_label", "aa = 1\nif aa then goto nowhere", "aborted", {"aa": 1}, (2, "goto")
    ),
    case(
        "goto_last_label_counts",
        "aa = 0\ngoto here\n:here\naa = aa + 1\n:here\naa = aa + 10",
        variables={"aa": 10},
    ),
    case("jump_point_in_if_body", "if True then :x", "invalid", at=(1, ":x")),
    case("jump_point_in_while_body", "while False do\n:x", "invalid", at=(2, ":x")),
    case(
        "goto_out_of_loop_and_block",
        (
            "ii = 0\n"
            "while True do\n"
            "begin()\n"
            " ii = ii + 1\n"
            " if ii == 3 then goto out\n"
            "end\n"
            ":out\n"
            "done = ii"
        ),
        variables={"ii": 3, "done": 3},
    ),
    case(
        "goto_mid_expression",
        (
            "aa = [1, 2]\n"
            ":again\n"
            "if len( array=aa ) < 4 then append( array=aa, value=0 )\n"
            "if len( array=aa ) < 4 then goto again"
        ),
        variables={"aa": [1, 2, 0, 0]},
    ),
    case("label_may_be_keyword", "goto end\naa = 1\n:end\nbb = 2", variables={"bb": 2}),
    # 5.7
    case("complete_example", COMPLETE, variables=COMPLETE_VARS),
]


@pytest.mark.parametrize(("source", "status", "variables", "at", "message"), STATEMENTS)
def test_statements(source: str, status: str, variables: Any, at: Any, message: str | None) -> None:
    check(source, status, variables, at, message)


# ------------------------------------------------------------------------------ §6

EXPRESSIONS = [
    # 6.1
    case("undefined_name", "aa = 1\nbb = aa + cc", "aborted", {"aa": 1}, (2, "cc")),
    # 6.2
    case("string_index", 'aa = "hello"\nbb = aa[1]', variables={"aa": "hello", "bb": "e"}),
    case("negative_index", "aa = [1,2,3]\nbb = aa[-1]", variables={"aa": [1, 2, 3], "bb": 3}),
    case("missing_key", 'aa = {xx=1}\nbb = aa["yy"]', "aborted", {"aa": {"xx": 1}}, (2, "[")),
    case("out_of_range", "aa = [1]\nbb = aa[1]", "aborted", {"aa": [1]}, (2, "[")),
    case("index_non_indexable", "aa = 5\nbb = aa[0]", "aborted", {"aa": 5}, (2, "[")),
    case("index_list_with_string", 'aa = [1]\nbb = aa["x"]', "aborted", {"aa": [1]}, (2, "[")),
    case("index_map_with_list", "aa = {k=1}\nbb = aa[[1]]", "aborted", None, (2, "[")),
    case("bool_index", "aa = [1,2]\nbb = aa[true]", variables={"aa": [1, 2], "bb": 2}),
    case(
        "chained_index",
        "aa = [[1,2],[3,4]]\nbb = aa[1][0]",
        variables={"aa": [[1, 2], [3, 4]], "bb": 3},
    ),
    case(
        "chained_index_failure_position",
        "aa = [[1,2],[3,4]]\nbb = aa[1][5]",
        "aborted",
        None,
        (2, "[", 2),
    ),
    case("index_literal_list", "bb = [7, 8][1]", variables={"bb": 8}),
    case("index_literal_string", 'bb = "abc"[1]', variables={"bb": "b"}),
    case(
        "index_call_result", "bb = slice( array=[5,6,7], start=1, end=3 )[0]", variables={"bb": 6}
    ),
    case(
        "index_map_int_key",
        "aa = {}\naa[2] = 'two'\nbb = aa[2.0]",
        variables={"aa": {"$map": [[2, "two"]]}, "bb": "two"},
    ),
    case(
        "index_before_name",
        "xx = [1,2,3]\nbb = missing[pop( array=xx )]",
        "aborted",
        {"xx": [1, 2]},
        (2, "missing"),
    ),
    # 6.3
    case("unknown_function", "aa = nothing( x=1 )", "aborted", {}, (1, "nothing")),
    case(
        "arguments_before_lookup",
        "xx = [1]\nunknown( a=pop( array=xx ) )",
        "aborted",
        {"xx": []},
        (2, "unknown"),
    ),
    case("unknown_module", "aa = foundation.power_on()", "aborted", {}, (1, "foundation")),
    case("unknown_module_value", "aa = config.hostname", "aborted", {}, (1, "config")),
    case("duplicate_argument", "aa = len( array=[1], array=[2] )", "invalid", at=(1, "array", 2)),
    case(
        "arguments_multiline",
        "aa = slice(\n  array=[1, 2, 3],\n  start=1,\n  end=2,\n)",
        variables={"aa": [2]},
    ),
    case("call_error_position", "aa = [ 1,\n  len( array=5 ) ]", "aborted", {}, (2, "len")),
    # 6.4
    case("exists_undefined", "aa = exists( bb )", variables={"aa": False}),
    case(
        "exists_out_of_range",
        "bb = [1, 2]\naa = exists( bb[3] )",
        variables={"bb": [1, 2], "aa": False},
    ),
    case("exists_statement", "exists( bob[gh] )", variables={}),
    case("exists_not_indexable", "aa = 5\nbb = exists( aa[0] )", "aborted", {"aa": 5}, (2, "[")),
    case(
        "exists_true", 'aa = {k=1}\nbb = exists( aa["k"] )', variables={"aa": {"k": 1}, "bb": True}
    ),
    case(
        "exists_in_index_expression",
        "aa = [1]\nbb = exists( aa[missing] )",
        variables={"aa": [1], "bb": False},
    ),
    case("exists_module", "bb = exists( foundation.x )", variables={"bb": False}),
    case(
        "exists_other_error_propagates",
        "aa = [1]\nbb = exists( aa[1 / 0] )",
        "aborted",
        {"aa": [1]},
        (2, "/"),
    ),
    case(
        "exists_chain",
        "aa = {k=[1, {z=2}]}\nbb = exists( aa['k'][1]['z'] )\ncc = exists( aa['k'][1]['y'] )",
        variables={"aa": {"k": [1, {"z": 2}]}, "bb": True, "cc": False},
    ),
    case(
        "exists_in_condition",
        "if not exists( hostname ) then hostname = 'x'",
        variables={"hostname": "x"},
    ),
    # 6.5
    case("duplicate_map_key", "xx = { aa=1, aa=2 }", "invalid", at=(1, "aa", 2)),
    case(
        "map_source_order",
        "xx = [1,2,3]\nyy = { aa=pop( array=xx ), bb=pop( array=xx ) }",
        variables={"xx": [1], "yy": {"aa": 3, "bb": 2}},
    ),
    case(
        "array_source_order",
        "xx = [1,2,3]\nyy = [ pop( array=xx ), pop( array=xx ) ]",
        variables={"xx": [1], "yy": [3, 2]},
    ),
    case("map_keys_reserved_words", "xx = { if=1, end=2 }", variables={"xx": {"if": 1, "end": 2}}),
    case(
        "map_multiline",
        "xx = {\n  aa = 1,  # one\n  bb = [\n    2,\n  ],\n}",
        variables={"xx": {"aa": 1, "bb": [2]}},
    ),
]


def _op(name: str, expr: str, result: Any = None, *, aborts_at: str | None = None) -> Any:
    source = f"aa = {expr}"
    if aborts_at is not None:
        return case(name, source, "aborted", {}, (1, aborts_at))
    return case(name, source, variables={"aa": result})


OPERATORS = [
    _op("bool_plus_bool", "(True + True)", 2),
    _op("int_plus_float", "(1 + 2.0)", 3.0),
    _op("int_times_int", "(3 * 4)", 12),
    _op("true_division", "(4 / 2)", 2.0),
    _op("true_division_frac", "(7 / 2)", 3.5),
    _op("division_by_zero", "(1 / 0)", aborts_at="/"),
    _op("division_by_zero_float", "(1 / 0.0)", aborts_at="/"),
    _op("mod_sign_of_divisor", "(-7 % 3)", 2),
    _op("mod_negative_divisor", "(7 % -3)", -2),
    _op("mod_float", "(5.5 % 2)", 1.5),
    _op("mod_zero", "(5 % 0)", aborts_at="%"),
    _op("power_int", "(2 ^ 3)", 8),
    _op("power_negative_exp", "(2 ^ -1)", 0.5),
    _op("power_float_base", "(2.0 ^ 2)", 4.0),
    _op("zero_negative_power", "(0 ^ -1)", aborts_at="^"),
    _op("non_real_power", "(-8 ^ 0.5)", aborts_at="^"),
    _op("non_finite_power", "(10.0 ^ 400)", aborts_at="^"),
    _op("huge_int_power", "(10 ^ 5000)", aborts_at="^"),
    _op("huge_float_product", "(10.0 ^ 200 * 10.0 ^ 200)", aborts_at="*"),
    _op("bit_and", "(5 & 4)", 4),
    _op("bit_or_bools", "(True | False)", True),
    _op("bit_and_int_bool", "(3 & True)", 1),
    _op("bit_float", "(1.5 & 1)", aborts_at="&"),
    _op("bit_string", '(1 | "a")', aborts_at="|"),
    _op("unary_minus_bool", "-True", -1),
    _op("unary_minus_string", '- "a"', aborts_at="-"),
    _op("unary_plus_list", "+ [1]", aborts_at="+"),
    _op("concat_int_string", '( 5 . "a" )', "5a"),
    _op("concat_none", '( "x" . none )', "xNone"),
    _op("eq_different_kinds", '("a" == 1)', False),
    _op("eq_int_float", "(1 == 1.0)", True),
    _op("eq_int_bool", "(1 == true)", True),
    _op("ne", "(1 != 2)", True),
    _op("order_string_int", '("a" < 1)', aborts_at="<"),
    _op("order_none", "(none < none)", aborts_at="<"),
    _op("order_map", "({} <= {})", aborts_at="<="),
    _op("and_value", "(1 and 2)", 2),
    _op("or_value", '(0 or "x")', "x"),
    _op("not_zero", "not 0", True),
    _op("not_string", 'not "x"', False),
    _op("Not_capital", "Not 1", False),
    _op("string_plus", '( "a" + "b" )', aborts_at="+"),
    _op("duration_plus_int", "( 0:10 + 1 )", aborts_at="+"),
    _op("none_times", "( none * 2 )", aborts_at="*"),
    _op("list_minus", "( [1] - [1] )", aborts_at="-"),
    _op("left_checked_first", '( "a" - missing )', aborts_at="missing"),
    _op("operands_left_then_right", "( missing1 + missing2 )", aborts_at="missing1"),
    case("short_circuit_and", 'aa = False and fatal_error( msg="x" )', variables={"aa": False}),
    case(
        "short_circuit_and_pause", 'aa = True and pause( msg="p" )', "paused", {}, (1, "pause"), "p"
    ),
    case("short_circuit_or", "aa = True or missing", variables={"aa": True}),
    case("or_evaluates_right", "aa = 0 or missing", "aborted", {}, (1, "missing")),
    case(
        "and_no_side_effect", "xx = [1]\naa = 0 and pop( array=xx )", variables={"xx": [1], "aa": 0}
    ),
    case(
        "or_no_side_effect", "xx = [1]\naa = 1 or pop( array=xx )", variables={"xx": [1], "aa": 1}
    ),
    case("big_int_digits", 'aa = len( array="" . (10 ^ 4298) )', variables={"aa": 4299}),
]


@pytest.mark.parametrize(
    ("source", "status", "variables", "at", "message"), EXPRESSIONS + OPERATORS
)
def test_expressions(
    source: str, status: str, variables: Any, at: Any, message: str | None
) -> None:
    check(source, status, variables, at, message)


# ------------------------------------------------------------------------------ §7


def _text(name: str, expr: str, text: str) -> Any:
    return case(name, f'aa = "" . {expr}', variables={"aa": text})


VALUES = [
    case("truthy_empty_list", "if [] then aa = 1 else aa = 2", variables={"aa": 2}),
    case("truthy_empty_map", "if {} then aa = 1 else aa = 2", variables={"aa": 2}),
    case("truthy_empty_string", 'if "" then aa = 1 else aa = 2', variables={"aa": 2}),
    case("truthy_zero_float", "if 0.0 then aa = 1 else aa = 2", variables={"aa": 2}),
    case("truthy_zero_duration", "if 0:00 then aa = 1 else aa = 2", variables={"aa": 2}),
    case("truthy_none", "if none then aa = 1 else aa = 2", variables={"aa": 2}),
    case("truthy_string_zero", 'if "0" then aa = 1 else aa = 2', variables={"aa": 1}),
    case("truthy_list_of_zero", "if [0] then aa = 1 else aa = 2", variables={"aa": 1}),
    case("truthy_duration", "if 0:01 then aa = 1 else aa = 2", variables={"aa": 1}),
    _op("duration_ne_int", "1:00 == 60", False),
    _op("duration_eq_duration", "1:00 == 0:60", True),
    _op("list_eq_elementwise", "[1, 2] == [1, 2.0]", True),
    _op("list_eq_order", "[1, 2] == [2, 1]", False),
    _op("map_eq_order_ignored", "{a=1, b=2} == {b=2, a=1}", True),
    _op("string_order", '"a" < "b"', True),
    _op("string_order_code_point", '"Z" < "a"', True),
    _op("list_order", "[1, 2] < [1, 3]", True),
    _op("list_order_prefix", "[1] < [1, 0]", True),
    _op("duration_order", "1:00 < 2:00", True),
    _op("list_order_fails", '[1] < ["a"]', aborts_at="<"),
    _op("duration_int_order", "1:00 < 5", aborts_at="<"),
    case(
        "map_keys_follow_eq",
        'mm = {}\nmm[1] = "a"\nmm[1.0] = "b"\nmm[true] = "c"\nnn = len( array=mm )',
        variables={"mm": {"$map": [[1, "c"]]}, "nn": 1},
    ),
    _text("text_list", '[1, "a"]', "[1, 'a']"),
    _text("text_map", "{kk=1}", "{'kk': 1}"),
    _text("text_float", "(4 / 2)", "2.0"),
    _text("text_small_float", "(1 / 100000)", "1e-05"),
    _text("text_large_float", "(10.0 ^ 17)", "1e+17"),
    _text("text_tenth", "0.1", "0.1"),
    _text("text_bool", "true", "True"),
    _text("text_none", "none", "None"),
    _text("text_duration", "0:12", "0:00:12"),
    _text("text_one_day", "1:0:0:0", "1 day, 0:00:00"),
    _text("text_days", "2:3:4:5", "2 days, 3:04:05"),
    _text("text_quote_inside", '["it\'s"]', '["it\'s"]'),
    _text("text_nested", "[[1, none], {a=true}]", "[[1, None], {'a': True}]"),
    case(
        "copy_on_append",
        "aa = [1]\nbb = []\nappend( array=bb, value=aa )\nappend( array=aa, value=2 )",
        variables={"aa": [1, 2], "bb": [[1]]},
    ),
    case("copy_on_assign", "aa = [1]\nbb = aa\nbb[0] = 5", variables={"aa": [1], "bb": [5]}),
    case(
        "copy_on_read_from_map",
        'aa = {k=[1]}\nbb = aa["k"]\nappend( array=bb, value=2 )',
        variables={"aa": {"k": [1]}, "bb": [1, 2]},
    ),
    case(
        "copy_into_map",
        "aa = [1]\nmm = {}\nmm['x'] = aa\naa[0] = 2",
        variables={"aa": [2], "mm": {"x": [1]}},
    ),
    case(
        "copy_same_value_twice",
        "aa = [1]\nbb = [aa, aa]\nbb[0][0] = 9",
        variables={"aa": [1], "bb": [[9], [1]]},
    ),
    case(
        "copy_list_literal_of_variable",
        "aa = [1]\nbb = [aa]\nbb[0][0] = 9",
        variables={"aa": [1], "bb": [[9]]},
    ),
    case(
        "copy_map_literal_of_variable",
        "aa = [1]\nbb = {x=aa, y=aa}\nbb['x'][0] = 9",
        variables={"aa": [1], "bb": {"x": [9], "y": [1]}},
    ),
    case(
        "pop_in_place",
        "aa = [1, 2]\nbb = aa\ncc = pop( array=aa )",
        variables={"aa": [1], "bb": [1, 2], "cc": 2},
    ),
    case(
        "separate_namespaces",
        "len = 5\nconfig = 5\naa = len( array=[1] )",
        variables={"len": 5, "config": 5, "aa": 1},
    ),
]


@pytest.mark.parametrize(("source", "status", "variables", "at", "message"), VALUES)
def test_values(source: str, status: str, variables: Any, at: Any, message: str | None) -> None:
    check(source, status, variables, at, message)


# ------------------------------------------------------------------------------ §8

BUILTINS = [
    case("len_map", "aa = len( array={a=1, b=2} )", variables={"aa": 2}),
    case("len_string", 'aa = len( array="h\u00e9llo" )', variables={"aa": 5}),
    case("len_bad_type", "aa = len( array=5 )", "aborted", {}, (1, "len")),
    case("len_unknown_argument", "aa = len( list=[1] )", "aborted", {}, (1, "len")),
    case("len_missing_argument", "aa = len()", "aborted", {}, (1, "len")),
    case(
        "slice_clamped", "aa = slice( array=[1,2,3], start=-2, end=10 )", variables={"aa": [2, 3]}
    ),
    case(
        "slice_string_none",
        'aa = slice( array="hello", start=1, end=none )',
        variables={"aa": "ello"},
    ),
    case("slice_missing_end", "aa = slice( array=[1], start=0 )", "aborted", {}, (1, "slice")),
    case("pop_last", "xx = [1,2,3]\naa = pop( array=xx )", variables={"xx": [1, 2], "aa": 3}),
    case(
        "pop_index",
        "xx = [1,2,3]\naa = pop( array=xx, index=0 )",
        variables={"xx": [2, 3], "aa": 1},
    ),
    case("pop_empty", "xx = []\naa = pop( array=xx )", "aborted", {"xx": []}, (2, "pop")),
    case(
        "pop_bad_index",
        "xx = [1]\naa = pop( array=xx, index=5 )",
        "aborted",
        {"xx": [1]},
        (2, "pop"),
    ),
    case(
        "pop_map",
        'mm = {a=1, b=2}\naa = pop( array=mm, index="a" )',
        variables={"mm": {"b": 2}, "aa": 1},
    ),
    case(
        "pop_map_missing",
        'mm = {a=1}\naa = pop( array=mm, index="z" )',
        "aborted",
        None,
        (2, "pop"),
    ),
    case("append_returns_none", "aa = append( array=[1], value=2 )", variables={"aa": None}),
    case(
        "append_not_list",
        "aa = 'x'\nappend( array=aa, value=2 )",
        "aborted",
        {"aa": "x"},
        (2, "append"),
    ),
    case("index_list", "aa = index( array=[1,2,3], value=2 )", variables={"aa": 1}),
    case("index_list_equality", "aa = index( array=[1,2,3], value=2.0 )", variables={"aa": 1}),
    case("index_string", 'aa = index( array="hello", value="ll" )', variables={"aa": 2}),
    case("index_not_found", "aa = index( array=[1], value=5 )", "aborted", {}, (1, "index")),
    case(
        "fatal_error",
        'aa = 1\n  fatal_error( msg="broken" )',
        "aborted",
        {"aa": 1},
        (2, "fatal_error"),
        "broken",
    ),
    case("fatal_error_text_of_msg", "fatal_error( msg=[1, 'a'] )", "aborted", {}, (1,), "[1, 'a']"),
    case(
        "error_builtin",
        'aa = 1\nerror( msg="retry me" )',
        "error",
        {"aa": 1},
        (2, "error"),
        "retry me",
    ),
    case(
        "pause_builtin",
        'aa = 1\nbb = pause( msg="look" )',
        "paused",
        {"aa": 1},
        (2, "pause"),
        "look",
    ),
    case("message_builtin", 'message( msg="hello" )\naa = 1', variables={"aa": 1}),
    case("delay_ignores_unknown_args", "delay( seconds=5, bogus=1 )\naa = 1", variables={"aa": 1}),
    case("delay_string_seconds", 'delay( seconds="  7 " )\naa = 1', variables={"aa": 1}),
    case("delay_signed_string", 'delay( seconds="+7" )\naa = 1', variables={"aa": 1}),
    case("delay_bad_string", 'delay( seconds="x" )', "aborted", {}, (1, "delay")),
    case("delay_float_string", 'delay( seconds="1.5" )', "aborted", {}, (1, "delay")),
    case("delay_all_zero", "delay()", "aborted", {}, (1, "delay")),
    case(
        "delay_truncates_to_zero",
        "aa = 1\ndelay( seconds=0.9 )",
        "aborted",
        {"aa": 1},
        (2, "delay"),
    ),
    case("delay_negative_total", "delay( seconds=-5 )\naa = 1", variables={"aa": 1}),
    case("delay_list_argument", "delay( seconds=[1] )", "aborted", {}, (1, "delay")),
    case("delay_returns_none", "aa = delay( minutes=1 )", variables={"aa": None}),
]


@pytest.mark.parametrize(("source", "status", "variables", "at", "message"), BUILTINS)
def test_builtins(source: str, status: str, variables: Any, at: Any, message: str | None) -> None:
    check(source, status, variables, at, message)


def test_delay_waiting_message_and_position() -> None:
    job, ctx = start("aa = 1\n  delay( minutes=1, seconds=5 )\nbb = 2")
    result = job.run(1000)
    assert result.status == "waiting"
    assert job.status == "waiting"
    assert result.message == "Waiting for 65 more seconds"
    assert (result.line, result.column) == (2, 3)
    assert result.request is None
    assert result.wake_at == 946_684_800_000_000 + 65_000_000
    ctx.advance(20)
    result = job.run(1000)
    assert result.status == "waiting"
    assert result.message == "Waiting for 45 more seconds"
    assert job.vars == {"aa": 1}
    ctx.advance(45)
    assert job.run(1000).status == "done"
    assert job.vars == {"aa": 1, "bb": 2}


def test_each_delay_is_independent() -> None:
    job, ctx = start("delay( seconds=10 )\ndelay( seconds=10 )\naa = 1")
    assert job.run(1000).status == "waiting"
    ctx.advance(10)
    result = job.run(1000)
    assert result.status == "waiting"  # the second delay starts its own 10 seconds
    assert result.message == "Waiting for 10 more seconds"
    ctx.advance(10)
    assert job.run(1000).status == "done"


# ------------------------------------------------------------------------------ §9 actions


def test_pause_then_resume_yields_none() -> None:
    job, ctx = start('aa = 1\nbb = pause( msg="check" )\ncc = 2')
    result = drive(job, ctx)
    assert (result.status, result.message, result.line, result.column) == ("paused", "check", 2, 6)
    assert job.vars == {"aa": 1}
    job.resume()
    result = drive(job, ctx)
    assert result.status == "done"
    assert job.vars == {"aa": 1, "bb": None, "cc": 2}


def test_error_then_reset_yields_none() -> None:
    job, ctx = start('aa = error( msg="bad" )\nbb = 2')
    result = drive(job, ctx)
    assert (result.status, result.message, result.line, result.column) == ("error", "bad", 1, 6)
    job.reset()
    assert drive(job, ctx).status == "done"
    assert job.vars == {"aa": None, "bb": 2}


def test_error_then_rollback_works_like_reset() -> None:
    job, ctx = start('aa = error( msg="bad" )\nbb = 2')
    assert drive(job, ctx).status == "error"
    job.rollback()
    assert drive(job, ctx).status == "done"
    assert job.vars == {"aa": None, "bb": 2}


def test_actions_refused_in_wrong_state() -> None:
    job, ctx = start('pause( msg="p" )')
    assert drive(job, ctx).status == "paused"
    with pytest.raises(ActionRefused):
        job.reset()
    with pytest.raises(ActionRefused):
        job.rollback()
    job.resume()
    with pytest.raises(ActionRefused):
        job.resume()
    assert drive(job, ctx).status == "done"
    with pytest.raises(ActionRefused):
        job.resume()
    with pytest.raises(ActionRefused):
        job.reset()


def test_aborted_is_terminal() -> None:
    job, ctx = start("aa = missing\nbb = 1")
    assert drive(job, ctx).status == "aborted"
    for action in (job.resume, job.reset, job.rollback):
        with pytest.raises(ActionRefused):
            action()
    assert job.run(1000).status == "aborted"
    assert job.vars == {}


def test_variables_survive_pause() -> None:
    job, ctx = start(
        "aa = [1]\npause( msg='p' )\nappend( array=aa, value=2 )", variables={"seed": 1}
    )
    drive(job, ctx)
    job.resume()
    assert drive(job, ctx).status == "done"
    assert job.vars == {"seed": 1, "aa": [1, 2]}


def test_paused_in_loop_resumes_in_place() -> None:
    source = (
        "ii = 0\nwhile ii < 3 do\nbegin()\n ii = ii + 1\n if ii == 2 then pause( msg='half' )\nend"
    )
    job, ctx = start(source)
    result = drive(job, ctx)
    assert (result.status, result.line, result.column) == ("paused", 5, 18)
    assert job.vars == {"ii": 2}
    job.resume()
    assert drive(job, ctx).status == "done"
    assert job.vars == {"ii": 3}


# ------------------------------------------------------------------------------ §10


MAX_TIME = [
    case(
        "max_time_exceeded",
        "begin( max_time=0:05 )\n aa = 1\n delay( seconds=10 )\n bb = 2\nend",
        "paused",
        {"aa": 1},
        (1, "begin"),
        "max_time of block at line 1 exceeded",
    ),
    case(
        "max_time_enough",
        "begin( max_time=0:10 )\n delay( seconds=5 )\n aa = 1\nend",
        variables={"aa": 1},
    ),
    case(
        "max_time_description",
        'aa = 0\n  begin( description="Install OS", max_time=0:01 )\n delay( seconds=2 )\n  end',
        "paused",
        {"aa": 0},
        (2, "begin"),
        "max_time of Install OS exceeded",
    ),
    case(
        "max_time_outermost_first",
        'begin( max_time=0:05, description="outer" )\n'
        ' begin( max_time=0:03, description="inner" )\n'
        "  delay( seconds=10 )\n end\nend",
        "paused",
        {},
        (1, "begin"),
        "max_time of outer exceeded",
    ),
    case(
        "max_time_inner_only",
        'begin( max_time=1:00, description="outer" )\n'
        " begin( max_time=0:03 )\n  delay( seconds=10 )\n end\nend",
        "paused",
        {},
        (2, "begin"),
        "max_time of block at line 2 exceeded",
    ),
    case(
        "max_time_discarded_by_continue",
        (
            "ii = 0\n"
            "while ii < 2 do\n"
            "begin( max_time=0:05 )\n"
            " ii = ii + 1\n"
            " if ii == 1 then continue\n"
            "end\n"
            "delay( seconds=20 )\n"
            "done = 1"
        ),
        variables={"ii": 2, "done": 1},
    ),
    case(
        "max_time_discarded_by_goto",
        "begin( max_time=0:01 )\n goto out\nend\n:out\ndelay( seconds=5 )\naa = 1",
        variables={"aa": 1},
    ),
    case(
        "max_time_discarded_by_break",
        "while True do\nbegin( max_time=0:01 )\n break\nend\ndelay( seconds=5 )\naa = 1",
        variables={"aa": 1},
    ),
    case(
        "max_time_left_normally",
        "begin( max_time=0:01 )\n aa = 1\nend\ndelay( seconds=5 )\nbb = 2",
        variables={"aa": 1, "bb": 2},
    ),
]


@pytest.mark.parametrize(("source", "status", "variables", "at", "message"), MAX_TIME)
def test_max_time(source: str, status: str, variables: Any, at: Any, message: str | None) -> None:
    check(source, status, variables, at, message)


def test_max_time_renewed_on_resume() -> None:
    source = (
        "begin( max_time=0:05 )\n"
        " delay( seconds=10 )\n"
        " aa = 1\n"
        " delay( seconds=4 )\n"
        " bb = 2\n"
        " delay( seconds=6 )\n"
        " cc = 3\n"
        "end"
    )
    job, ctx = start(source)
    result = drive(job, ctx)
    assert (result.status, result.line, result.column) == ("paused", 1, 1)
    assert result.message == "max_time of block at line 1 exceeded"
    assert job.vars == {}
    job.resume()  # at t=10: fresh deadline t=15
    result = drive(job, ctx)
    assert result.status == "paused"  # t=20 after the 6 s delay
    assert result.message == "max_time of block at line 1 exceeded"
    assert job.vars == {"aa": 1, "bb": 2}
    job.resume()
    assert drive(job, ctx).status == "done"
    assert job.vars == {"aa": 1, "bb": 2, "cc": 3}


def test_max_time_checked_before_waiting_call_is_polled() -> None:
    job, ctx = start("begin( max_time=0:05 )\n delay( seconds=60 )\n aa = 1\nend")
    assert job.run(1000).status == "waiting"
    ctx.advance(6)
    result = job.run(1000)
    assert (result.status, result.line, result.column) == ("paused", 1, 1)
    job.resume()  # deadline t=11; the delay still waits until t=60
    result = job.run(1000)
    assert result.status == "waiting"
    ctx.advance(6)
    assert job.run(1000).status == "paused"


# ------------------------------------------------------------------------------ §11


@pytest.mark.parametrize(
    ("source", "line"),
    [
        ("while True do 10", 1),
        (":top\ngoto top", None),
        ("cnt = 0\nwhile True do cnt = cnt + 1", 2),
    ],
)
def test_step_limit(source: str, line: int | None) -> None:
    _job, result = execute(source, step_limit=500)
    assert result.status == "error"
    assert result.message == "step limit of 500 exceeded"
    assert result.line is not None and result.column is not None
    if line is not None:
        assert result.line == line


def test_step_limit_reset_grants_fresh_allowance() -> None:
    source = "cnt = 0\nwhile cnt < 200 do cnt = cnt + 1\ndone = cnt"
    job, ctx = start(source, step_limit=300)
    result = drive(job, ctx)
    assert result.status == "error"
    assert result.message == "step limit of 300 exceeded"
    first = job.vars["cnt"]
    assert 0 < first < 200
    job.reset()
    result = drive(job, ctx)
    assert result.status == "error"
    assert result.message == "step limit of 300 exceeded"
    second = job.vars["cnt"]
    assert first < second < 200
    resets = 1
    while result.status == "error":
        job.reset()
        resets += 1
        result = drive(job, ctx)
        assert resets < 20
    assert result.status == "done"
    assert job.vars == {"cnt": 200, "done": 200}


def test_step_limit_same_with_tiny_slices() -> None:
    source = "cnt = 0\nwhile True do cnt = cnt + 1"
    outcomes = set()
    for size in (1, 2, 3, 7, 1000):
        job, result = execute(source, size, step_limit=257)
        outcomes.add((result.status, result.line, result.column, result.message, job.vars["cnt"]))
    assert len(outcomes) == 1
    assert next(iter(outcomes))[0] == "error"


def test_yielded_slices() -> None:
    job, ctx = start("cnt = 0\nwhile cnt < 50 do cnt = cnt + 1")
    result = job.run(10)
    assert result.status == "yielded"
    assert job.status == "running"
    assert 0 <= job.vars.get("cnt", 0) < 50
    assert drive(job, ctx).status == "done"
    assert job.vars == {"cnt": 50}


SLICE_SCRIPTS = {
    "complete_example": COMPLETE,
    "odd": ODD,
    "goto_loop": (
        "cnt = 0\n"
        ":top\n"
        "cnt = cnt + 1\n"
        "if cnt < 5 then goto top\n"
        "fin = [cnt, exists( nope ), 1 and 2]"
    ),
    "abort_midway": (
        "aa = [1, 2, 3]\nii = 0\nwhile True do\nbegin()\n ii = ii + 1\n bb = aa[ii]\nend"
    ),
    "max_time": (
        "xx = 0\n"
        "begin( max_time=0:05 )\n"
        " while xx < 3 do\n"
        " begin()\n"
        "  xx = xx + 1\n"
        "  delay( seconds=2 )\n"
        " end\n"
        "end"
    ),
    "pause_in_map": "mm = { a = len( array=[1, 2] ), b = pause( msg='here' ), c = 3 }",
    "nested_data": (
        "hh = [{n='a', c=[1, 2]}, {n='b', c=[3]}]\n"
        "tot = 0\n"
        "ii = 0\n"
        "while ii < len( array=hh ) do\n"
        "begin()\n"
        " jj = 0\n"
        " while jj < len( array=hh[ii]['c'] ) do\n"
        " begin()\n"
        "  tot = tot + hh[ii]['c'][jj] * (2 ^ jj)\n"
        "  jj = jj + 1\n"
        " end\n"
        " ii = ii + 1\n"
        "end"
    ),
    "copies": (
        "aa = [1]\n"
        "bb = [aa, aa]\n"
        "cc = {k=aa}\n"
        "bb[0][0] = 9\n"
        "cc['k'][0] = 8\n"
        "append( array=aa, value=2 )"
    ),
    "break_continue_goto": (
        "out = []\n"
        "ii = 0\n"
        "while True do\n"
        "begin()\n"
        " ii = ii + 1\n"
        " if ii > 6 then goto done\n"
        " if ii % 3 == 0 then continue\n"
        " append( array=out, value=ii . '' )\n"
        "end\n"
        ":done\n"
        "fin = out"
    ),
}


@pytest.mark.parametrize("name", sorted(SLICE_SCRIPTS))
def test_slice_size_does_not_change_outcome(name: str) -> None:
    source = SLICE_SCRIPTS[name]
    outcomes = []
    for size in (1, 2, 3, 7, 1000):
        job, result = execute(source, size)
        outcomes.append(
            (result.status, result.line, result.column, result.message, encoded_vars(job))
        )
    reference = outcomes[-1]
    for outcome in outcomes:
        assert outcome == reference
        assert same_json(outcome[4], reference[4])
    expected_status = {"abort_midway": "aborted", "max_time": "paused", "pause_in_map": "paused"}
    assert reference[0] == expected_status.get(name, "done")


def test_slice_size_one_counts_every_step() -> None:
    job, _ctx = start("aa = 1 + 2")
    statuses = []
    for _ in range(20):
        statuses.append(job.run(1).status)
        if statuses[-1] != "yielded":
            break
    # assignment, +, 1, 2: at least the first slices only yield
    assert statuses[0] == "yielded"
    assert statuses[-1] == "done"
    assert len(statuses) >= 4
    assert job.vars == {"aa": 3}


# ------------------------------------------------------------------------------ §12.6


def test_progress_not_started_and_done() -> None:
    job, ctx = start("aa = 1\nbb = 2")
    assert job.progress()["percent"] == 0
    drive(job, ctx)
    progress = job.progress()
    assert progress["percent"] == 100


def test_progress_in_block_with_description() -> None:
    source = (
        "aa = 1\n"
        'begin( description="Install", expected_time=1:00, max_time=5:00 )\n'
        " bb = 2\n"
        " delay( seconds=30 )\n"
        " cc = 3\n"
        "end"
    )
    job, ctx = start(source)
    assert job.run(1000).status == "waiting"
    progress = job.progress()
    assert progress["message"] == "Waiting for 30 more seconds"
    levels = progress["levels"]
    assert [level["kind"] for level in levels] == ["block", "block", "call"]
    assert {k: levels[0][k] for k in ("index", "count")} == {"index": 1, "count": 2}
    assert "description" not in levels[0]
    assert levels[1]["index"] == 1
    assert levels[1]["count"] == 3
    assert levels[1]["description"] == "Install"
    assert levels[1]["elapsed"] == 0
    assert levels[1]["remaining"] == 60
    assert levels[1]["max_time"] == 300
    assert levels[2] == {"kind": "call", "module": None, "name": "delay", "dispatched": False}
    # inner block (100·1 + 0)/3, script (100·1 + 33.3)/2
    assert progress["percent"] == pytest.approx((100 + 100 / 3) / 2)
    ctx.advance(10)
    assert job.run(1000).status == "waiting"
    levels = job.progress()["levels"]
    assert levels[1]["elapsed"] == pytest.approx(10)
    assert levels[1]["remaining"] == pytest.approx(50)


def test_progress_in_while() -> None:
    source = "ii = 0\nwhile ii < 3 do\nbegin()\n ii = ii + 1\n delay( seconds=5 )\nend"
    job, _ctx = start(source)
    assert job.run(1000).status == "waiting"
    progress = job.progress()
    levels = progress["levels"]
    assert [level["kind"] for level in levels] == ["block", "while", "block", "call"]
    assert levels[1] == {"kind": "while", "doing": "body"}
    assert (levels[0]["index"], levels[0]["count"]) == (1, 2)
    assert (levels[2]["index"], levels[2]["count"]) == (1, 2)
    assert levels[3]["name"] == "delay"
    assert progress["percent"] == pytest.approx((100 + 50) / 2)


def test_progress_in_while_condition() -> None:
    source = "ii = 0\nwhile len( array=[ delay( seconds=5 ) ] ) > ii do ii = ii + 1"
    job, _ctx = start(source)
    assert job.run(1000).status == "waiting"
    levels = job.progress()["levels"]
    assert [level["kind"] for level in levels] == ["block", "while", "call", "call"]
    assert levels[1] == {"kind": "while", "doing": "condition"}
    assert [levels[2]["name"], levels[3]["name"]] == ["len", "delay"]


def test_progress_in_if() -> None:
    source = "aa = 1\nif aa == 2 then pass\nelif aa == 1 then delay( seconds=5 )\nelse pass"
    job, _ctx = start(source)
    assert job.run(1000).status == "waiting"
    progress = job.progress()
    levels = progress["levels"]
    assert [level["kind"] for level in levels] == ["block", "if", "call"]
    assert levels[1] == {"kind": "if", "branch": 1, "count": 3, "doing": "body"}
    assert progress["percent"] == pytest.approx((100 + 100 / 3) / 2)


def test_progress_in_if_condition() -> None:
    source = "if delay( seconds=5 ) then pass\nelse aa = 1"
    job, _ctx = start(source)
    assert job.run(1000).status == "waiting"
    levels = job.progress()["levels"]
    assert [level["kind"] for level in levels] == ["block", "if", "call"]
    assert levels[1] == {"kind": "if", "branch": 0, "count": 2, "doing": "condition"}


def test_progress_nested_calls() -> None:
    source = "xx = 1\naa = len( array=[ 1, delay( seconds=5 ) ] )\nbb = 2"
    job, ctx = start(source)
    assert job.run(1000).status == "waiting"
    progress = job.progress()
    levels = progress["levels"]
    assert [level["kind"] for level in levels] == ["block", "call", "call"]
    assert (levels[0]["index"], levels[0]["count"]) == (1, 3)
    assert levels[1] == {"kind": "call", "module": None, "name": "len", "dispatched": False}
    assert levels[2] == {"kind": "call", "module": None, "name": "delay", "dispatched": False}
    assert progress["percent"] == pytest.approx(100 / 3)
    drive(job, ctx)
    assert job.vars == {"xx": 1, "aa": 2, "bb": 2}


def test_progress_inside_exists_and_index() -> None:
    source = "cc = [1, 2]\nbb = exists( cc[ len( array=[ delay( seconds=5 ) ] ) ] )"
    job, ctx = start(source)
    assert job.run(1000).status == "waiting"
    levels = job.progress()["levels"]
    assert [level.get("name") for level in levels if level["kind"] == "call"] == ["len", "delay"]
    drive(job, ctx)
    assert job.vars == {"cc": [1, 2], "bb": True}


def test_progress_remote_call_dispatched() -> None:
    registry = Registry()
    registry.register(
        Module("foundation", functions={"power_on": remote("power_on", module="ipmi")})
    )
    job, ctx = start("aa = 1\nbb = foundation.power_on()", registry=registry)
    result = job.run(1000)
    assert result.status == "waiting"
    assert result.request is not None
    assert result.request["module"] == "ipmi"
    assert result.request["function"] == "power_on"
    levels = job.progress()["levels"]
    assert levels[-1] == {
        "kind": "call",
        "module": "foundation",
        "name": "power_on",
        "dispatched": False,
    }
    job.mark_dispatched(result.request["request_id"])
    assert job.progress()["levels"][-1]["dispatched"] is True
    job.deliver_result(result.request["request_id"], "on")
    assert drive(job, ctx).status == "done"
    assert job.vars == {"aa": 1, "bb": "on"}


def test_progress_paused_message() -> None:
    job, ctx = start("aa = 1\nbegin()\n pause( msg='operator' )\nend")
    drive(job, ctx)
    progress = job.progress()
    assert progress["message"] == "operator"
    assert [level["kind"] for level in progress["levels"]] == ["block", "block", "call"]
    assert progress["levels"][-1]["name"] == "pause"


# ------------------------------------------------------------------------------ §12 plugins


class Poller(Function):
    """A local function: waits, then pauses, then fails, then finishes (or rolls back)."""

    name = "poll_ready"
    kind = "local"
    can_rollback = True

    def start(self, args: dict[str, Any], ctx: Any) -> Any:
        return Wait("polling", {"n": 0, "limit": args["limit"]}, to_micros(ctx.now()) + 5_000_000)

    def poll(self, fstate: Any, ctx: Any) -> Any:
        n = fstate["n"] + 1
        if n == 2:
            return Pause("look at it", {**fstate, "n": n})
        if n == 3:
            return Fail("flaky", {**fstate, "n": n})
        if n >= fstate["limit"]:
            return Done(n)
        return Wait(f"poll {n}", {**fstate, "n": n}, to_micros(ctx.now()) + 5_000_000)

    def rollback(self, fstate: Any, ctx: Any) -> Any:
        return Send("ipmi", "undo", {"n": fstate["n"]}, fstate)

    def on_result(self, fstate: Any, data: Any, ctx: Any) -> Any:
        return Done(["undone", data])


def plugin_registry(seen: list[Any] | None = None) -> Registry:
    def mutate(args: dict[str, Any]) -> None:
        args["v"].append(9)
        if seen is not None:
            seen.append(args["v"])

    def broken_getter() -> Any:
        raise ZeroDivisionError("boom")

    return Registry(
        {
            "foundation": Module(
                "foundation",
                functions={
                    "power_on": remote("power_on", module="ipmi", optional=("x",)),
                    "power_off": remote("power_off", module="ipmi", idempotent=True),
                    "mutate": inline("mutate", mutate),
                    "locate": inline("locate", lambda args: Handle("foundation", {"id": 1})),
                    "poll_ready": Poller(),
                },
                values={
                    "ro": ValueDef(getter=lambda: 5),
                    "wo": ValueDef(setter=lambda value: None),
                    "bad": ValueDef(getter=broken_getter),
                },
            )
        }
    )


def test_remote_request_result() -> None:
    job, ctx = start(
        "aa = 1\nbb = foundation.power_on( x=[1, 1:30] )\ncc = 2", registry=plugin_registry()
    )
    result = job.run(1000)
    assert result.status == "waiting"
    assert (result.line, result.column) == (2, 6)
    request = result.request
    assert request is not None
    assert request["module"] == "ipmi"
    assert request["function"] == "power_on"
    assert request["parameters"] == {"x": [1, {"$duration": 90}]}
    assert request["dispatched"] is False
    with pytest.raises(DeliveryRejected) as info:
        job.deliver_result("not-" + request["request_id"], 1)
    assert info.value.reason == "unknown request id"
    job.mark_dispatched(request["request_id"])
    assert job.run(1000).request["dispatched"] is True  # type: ignore[index]
    job.deliver_result(request["request_id"], {"$duration": 5})
    assert drive(job, ctx).status == "done"
    assert encoded_vars(job) == {"aa": 1, "bb": {"$duration": 5}, "cc": 2}
    with pytest.raises(DeliveryRejected) as info:
        job.deliver_result(request["request_id"], 1)
    assert info.value.reason == "job not running"


def test_remote_lost_not_idempotent_then_reset() -> None:
    job, ctx = start("bb = foundation.power_on()", registry=plugin_registry())
    first = job.run(1000).request
    assert first is not None
    job.request_lost()
    assert job.status == "error"
    assert job.message == f"request {first['request_id']} lost"
    assert job.position == (1, 6)
    with pytest.raises(DeliveryRejected) as info:
        job.deliver_result(first["request_id"], 1)
    assert info.value.reason == "job not running"
    job.reset()
    second = job.run(1000).request
    assert second is not None
    assert second["request_id"] != first["request_id"]
    assert second["function"] == "power_on"
    with pytest.raises(DeliveryRejected):
        job.deliver_result(first["request_id"], 1)
    job.deliver_result(second["request_id"], "on")
    assert drive(job, ctx).status == "done"
    assert job.vars == {"bb": "on"}


def test_remote_lost_idempotent_resends() -> None:
    job, ctx = start("bb = foundation.power_off()", registry=plugin_registry())
    first = job.run(1000).request
    assert first is not None
    job.request_lost()
    result = job.run(1000)
    assert result.status == "waiting"
    assert result.request is not None
    assert result.request["request_id"] != first["request_id"]
    with pytest.raises(DeliveryRejected) as info:
        job.deliver_result(first["request_id"], 1)
    assert info.value.reason == "unknown request id"
    job.deliver_result(result.request["request_id"], "off")
    assert drive(job, ctx).status == "done"
    assert job.vars == {"bb": "off"}


def test_remote_error_delivery_reset_and_rollback() -> None:
    job, ctx = start("aa = 1\nbb = foundation.power_on()", registry=plugin_registry())
    first = job.run(1000).request
    assert first is not None
    job.deliver_error(first["request_id"], "ipmi timeout")
    assert (job.status, job.message, job.position) == ("error", "ipmi timeout", (2, 6))
    with pytest.raises(ActionRefused, match="rollback not possible"):
        job.rollback()
    assert job.status == "error"
    job.reset()
    second = job.run(1000).request
    assert second is not None and second["request_id"] != first["request_id"]
    job.deliver_result(second["request_id"], None)
    assert drive(job, ctx).status == "done"
    assert job.vars == {"aa": 1, "bb": None}


def test_delivery_when_nothing_pending() -> None:
    job, _ctx = start("delay( seconds=5 )", registry=plugin_registry())
    assert job.run(1000).status == "waiting"
    with pytest.raises(DeliveryRejected) as info:
        job.deliver_result("req-1", 1)
    assert info.value.reason == "nothing pending"


def test_local_function_wait_pause_fail_reset() -> None:
    job, ctx = start("aa = 1\nbb = foundation.poll_ready( limit=5 )", registry=plugin_registry())
    seen = []
    for _ in range(20):
        result = drive(job, ctx)
        seen.append((result.status, result.message, result.line, result.column))
        if result.status == "paused":
            job.resume()
        elif result.status == "error":
            job.reset()
        else:
            break
    assert seen == [
        ("paused", "look at it", 2, 6),
        ("error", "flaky", 2, 6),
        ("done", None, None, None),
    ]
    assert job.vars == {"aa": 1, "bb": 5}


def test_local_function_waiting_message() -> None:
    job, _ctx = start("bb = foundation.poll_ready( limit=5 )", registry=plugin_registry())
    result = job.run(1000)
    assert (result.status, result.message) == ("waiting", "polling")
    assert result.wake_at == 946_684_805_000_000


def test_local_function_rollback_hook() -> None:
    job, ctx = start("bb = foundation.poll_ready( limit=5 )", registry=plugin_registry())
    assert drive(job, ctx).status == "paused"
    job.resume()
    assert drive(job, ctx).status == "error"
    job.rollback()
    result = job.run(1000)
    assert result.status == "waiting"
    assert result.request is not None
    assert (result.request["module"], result.request["function"]) == ("ipmi", "undo")
    assert result.request["parameters"] == {"n": 3}
    job.deliver_result(result.request["request_id"], "ok")
    assert drive(job, ctx).status == "done"
    assert job.vars == {"bb": ["undone", "ok"]}


def test_plugin_functions_receive_copies() -> None:
    seen: list[Any] = []
    job, result = execute("aa = [1]\nfoundation.mutate( v=aa )", registry=plugin_registry(seen))
    assert result.status == "done"
    assert job.vars == {"aa": [1]}
    assert seen == [[1, 9]]


PLUGIN_CASES = [
    case("value_getter", "aa = foundation.ro", variables={"aa": 5}),
    case("value_without_setter", "foundation.ro = 1", "aborted", {}, (1, "foundation")),
    case("value_without_getter", "aa = foundation.wo", "aborted", {}, (1, "foundation")),
    case("value_setter", "foundation.wo = 3\naa = 1", variables={"aa": 1}),
    case(
        "getter_host_error", "aa = 1\naa = foundation.bad", "aborted", {"aa": 1}, (2, "foundation")
    ),
    case("function_as_value", "aa = foundation.mutate", "aborted", {}, (1, "foundation")),
    case("value_as_call", "aa = foundation.ro()", "aborted", {}, (1, "foundation")),
    case("exists_function_as_value", "aa = exists( foundation.mutate )", variables={"aa": False}),
    case("exists_value", "aa = exists( foundation.ro )", variables={"aa": True}),
    case(
        "unknown_plugin_argument", "foundation.power_off( x=1 )", "aborted", {}, (1, "foundation")
    ),
    case("module_value_index_assign_first", "foundation.ro[0] = missing", "aborted", {}, (1,)),
    case(
        "handle_allowed_uses",
        "h = foundation.locate()\naa = h == h\nbb = h != h\n"
        "if h then cc = 1\nll = [h]\ndd = ll[0] == h",
        variables={
            "h": {"$handle": {"type": "foundation", "ref": {"id": 1}}},
            "aa": True,
            "bb": False,
            "cc": 1,
            "ll": [{"$handle": {"type": "foundation", "ref": {"id": 1}}}],
            "dd": True,
        },
    ),
    case("handle_arithmetic", "h = foundation.locate()\naa = h + 1", "aborted", None, (2, "+")),
    case("handle_order", "h = foundation.locate()\naa = h < h", "aborted", None, (2, "<")),
    case("handle_index", "h = foundation.locate()\naa = h[0]", "aborted", None, (2, "[")),
    case("handle_len", "h = foundation.locate()\naa = len( array=h )", "aborted", None, (2, "len")),
    case("handle_map_key", "h = foundation.locate()\nm = {}\nm[h] = 1", "aborted", None, (3,)),
]


@pytest.mark.parametrize(("source", "status", "variables", "at", "message"), PLUGIN_CASES)
def test_plugin_values_and_functions(
    source: str, status: str, variables: Any, at: Any, message: str | None
) -> None:
    job, result = execute(source, registry=plugin_registry())
    assert result.status == status, result
    if variables is not None:
        assert same_json(encoded_vars(job), variables), encoded_vars(job)
    if at is not None:
        assert result.line == at[0]
        if len(at) > 1:
            assert result.column == column_of(source, *at)


def test_handle_text() -> None:
    job, result = execute('h = foundation.locate()\naa = "" . h', registry=plugin_registry())
    assert result.status == "done"
    assert isinstance(job.vars["aa"], str) and job.vars["aa"]


# ------------------------------------------------------------------------------ §11 slices


ALL_TABLE_ROWS = [
    row
    for row in PARSING
    + PRECEDENCE
    + STATEMENTS
    + EXPRESSIONS
    + OPERATORS
    + VALUES
    + BUILTINS
    + MAX_TIME
    if row.values[1] != "invalid"
]
EXAMPLES = json.loads(
    (Path(__file__).parent / "data" / "tscript-examples.json").read_text(encoding="utf-8")
)["cases"]


def outcome_at(source: str, size: int, variables: dict[str, Any] | None = None) -> Any:
    job, result = execute(source, size, variables=variables)
    return (result.status, result.line, result.column, result.message, encoded_vars(job))


@pytest.mark.parametrize(("source", "status", "variables", "at", "message"), ALL_TABLE_ROWS)
def test_table_rows_independent_of_slice_size(
    source: str, status: str, variables: Any, at: Any, message: str | None
) -> None:
    reference = outcome_at(source, 1000)
    assert reference[0] == status
    for size in (1, 2, 3, 7):
        assert outcome_at(source, size) == reference, size


@pytest.mark.parametrize("example", EXAMPLES, ids=[example["name"] for example in EXAMPLES])
def test_examples_independent_of_slice_size(example: dict[str, Any]) -> None:
    source = example["script"]
    try:
        compile_program(source)
    except ParseError:
        assert example["expect"]["status"] == "invalid"
        return
    variables = {name: from_json(value) for name, value in example.get("vars", {}).items()}
    reference = outcome_at(source, 1000, variables)
    assert reference[0] == example["expect"]["status"]
    for size in (1, 2, 3, 7):
        assert outcome_at(source, size, variables) == reference, size
