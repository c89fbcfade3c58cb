"""Property tests: any input parses or raises ParseError; trees are numbered in pre-order."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from tscript import syntax as s
from tscript.errors import ParseError
from tscript.parser import parse

# fmt: off
TOKENS = [
    "and", "begin", "break", "continue", "do", "elif", "else", "end", "exists", "false", "False",
    "goto", "if", "none", "None", "not", "Not", "or", "pass", "then", "true", "True", "while",
    "aa", "bb", "x", "f", "len", "foundation.type", "config.end", "m.f", "TRUE", "If", "nothing",
    "0", "7", "007", "1.5", "2.25", "1:30", "0:05", "1:00:00:00", "99:99", "123:45", "1:2:3:4:5",
    "-1", "+2", "-2.5", "-", "+", "--", "^", "*", "/", "%", "&", "|", ".", "==", "!=", "<", "<=",
    ">", ">=", "=", ",", "!", "_", "@", ";", "(", ")", "[", "]", "{", "}", "begin(", "exists(",
    ":top", ":if", ":", "::", "'str'", '"s t"', '"multi\nline"', "'unterminated", "# comment\n",
    "é", "\u00a0", "\x0c",
]
# fmt: on
SEPARATORS = ["", "", " ", " ", "\t", "\n", "\r\n", "\r", "\n\n"]
SOURCE_CHARS = st.sampled_from(list("abe ()[]{}=,.:+-*/%^&|<>!\"'#\n\r\t019_é\x00"))


def check_tree(script: s.Script) -> None:
    nodes = s.number_nodes(script)
    assert [n.nid for n in nodes] == list(range(len(nodes)))
    assert script.nid == 0 and (script.line, script.column) == (1, 1)
    size: dict[int, int] = {}
    for node in reversed(nodes):  # children have larger numbers, so they come first here
        kids = s.children(node)
        assert all(kid.nid > node.nid for kid in kids)
        size[node.nid] = 1 + sum(size[kid.nid] for kid in kids)
        # pre-order: each child's subtree directly follows the previous one
        expected = node.nid + 1
        for kid in kids:
            assert kid.nid == expected
            expected += size[kid.nid]
        assert node.line >= 1 and node.column >= 1


def parse_or_error(src: str | bytes) -> None:
    try:
        script = parse(src)
    except ParseError as err:
        assert err.line >= 1 and err.column >= 1
        assert err.message
        return
    check_tree(script)


@settings(max_examples=300)
@given(st.text())
def test_arbitrary_text(src: str) -> None:
    parse_or_error(src)


@settings(max_examples=300)
@given(st.text(alphabet=SOURCE_CHARS, max_size=80))
def test_text_from_script_characters(src: str) -> None:
    parse_or_error(src)


@settings(max_examples=200)
@given(st.binary())
def test_arbitrary_bytes(src: bytes) -> None:
    parse_or_error(src)


@st.composite
def token_soup(draw: st.DrawFn) -> str:
    parts = draw(st.lists(st.tuples(st.sampled_from(TOKENS), st.sampled_from(SEPARATORS))))
    return "".join(tok + sep for tok, sep in parts)


@settings(max_examples=1000)
@given(token_soup())
def test_token_soup(src: str) -> None:
    parse_or_error(src)


# --- round trip: random trees printed with the fewest parentheses parse back the same -------

BINARY_LEVEL = {"or": 1, "and": 2, "==": 4, "<": 4, "|": 5, "&": 6, "+": 7, "-": 7, ".": 7}
BINARY_LEVEL |= {"*": 8, "/": 8, "%": 8}
ATOM = 11


def render(node: s.Expr) -> tuple[str, int]:
    """Source text of ``node`` and its level (1 = or … 9 unary, 10 power, 11 atom)."""
    match node:
        case s.Const(value=v):
            return repr(v), ATOM
        case s.Name(name=name):
            return name, ATOM
        case s.Not(operand=x):
            return "not " + wrap(x, 3), 3
        case s.Unary(op=op, operand=x):
            return f"{op} " + wrap(x, 9), 9
        case s.BinOp(op="^", left=lft, right=rgt):
            return f"{wrap(lft, ATOM)} ^ {wrap(rgt, 9)}", 10
        case s.BinOp(op=op, left=lft, right=rgt) | s.Logic(op=op, left=lft, right=rgt):
            level = BINARY_LEVEL[op]
            left_min = level + 1 if level == 4 else level
            return f"{wrap(lft, left_min)} {op} {wrap(rgt, level + 1)}", level
        case s.Index(base=base, indexes=indexes):
            # an Index base needs parentheses, or the two chains would merge into one node
            base_text = f"( {render(base)[0]} )" if isinstance(base, s.Index) else wrap(base, ATOM)
            return base_text + "".join(f"[{render(i)[0]}]" for i in indexes), ATOM
    raise AssertionError(node)


def wrap(node: s.Expr, minimum: int) -> str:
    text, level = render(node)
    return text if level >= minimum else f"( {text} )"


def shape(node: s.Node) -> object:
    fields = [getattr(node, f) for f in ("op", "value", "name") if hasattr(node, f)]
    return (type(node).__name__, fields, [shape(kid) for kid in s.children(node)])


LEAVES = st.one_of(
    st.integers(-50, 50).map(lambda v: s.Const(1, 1, v)),
    st.sampled_from([1.5, -0.25, "t", True, None]).map(lambda v: s.Const(1, 1, v)),
    st.sampled_from(["aa", "bb", "x"]).map(lambda v: s.Name(1, 1, v)),
)


def extend(children: st.SearchStrategy[s.Expr]) -> st.SearchStrategy[s.Expr]:
    ops = st.sampled_from([*BINARY_LEVEL, "^"])
    return st.one_of(
        st.tuples(ops, children, children).map(
            lambda t: (s.Logic if t[0] in ("and", "or") else s.BinOp)(1, 1, t[0], t[1], t[2])
        ),
        children.map(lambda x: s.Not(1, 1, x)),
        st.tuples(st.sampled_from("-+"), children).map(lambda t: s.Unary(1, 1, t[0], t[1])),
        st.tuples(children, st.lists(children, min_size=1, max_size=2)).map(
            lambda t: s.Index(1, 1, t[0], t[1], [(1, 1)] * len(t[1]))
        ),
    )


@settings(max_examples=300)
@given(st.recursive(LEAVES, extend, max_leaves=12))
def test_printed_expressions_parse_back(node: s.Expr) -> None:
    text = render(node)[0]
    stmt = parse("result = " + text).body[0]
    assert isinstance(stmt, s.Assign)
    assert shape(stmt.value) == shape(node), text
