"""Expression parsing for TScript (tscript.md §3, §4): precedence climbing over tokens.

:class:`ExprParser` holds the token cursor, the error helpers shared with the statement
parser (:mod:`tscript.parser`), and the expression grammar. Binary levels 1–8 are handled by
one precedence-climbing loop; prefix signs, ``not`` in operand position, ``^``, index chains
and primaries by :meth:`ExprParser.operand`.
"""

from __future__ import annotations

from typing import Final, NoReturn

from tscript.errors import ParseError
from tscript.lexer import RESERVED, Token
from tscript.syntax import (
    ArrayLit,
    BinOp,
    Call,
    Const,
    Exists,
    Expr,
    Index,
    Logic,
    MapLit,
    Name,
    Not,
    QName,
    Unary,
)

MAX_DEPTH: Final = 200
"""Deepest nesting of brackets, prefix operators and statement bodies that parses."""

_BINARY: Final = {
    "or": 1,
    "and": 2,
    "==": 4,
    "!=": 4,
    "<": 4,
    "<=": 4,
    ">": 4,
    ">=": 4,
    "|": 5,
    "&": 6,
    "+": 7,
    "-": 7,
    ".": 7,
    "*": 8,
    "/": 8,
    "%": 8,
}
_NOT_LEVEL: Final = 3
_COMPARISON: Final = 4
_NOTS: Final = frozenset(("not", "Not"))
_SIGNS: Final = frozenset(("-", "+"))
_NUMBERS: Final = frozenset(("INT", "FLOAT"))
_LITERALS: Final = frozenset(
    ("INT", "FLOAT", "TIME", "STR", "true", "True", "false", "False", "none", "None")
)
WORDS: Final = RESERVED | {"NAME"}
"""Token kinds accepted where the grammar asks for a WORD."""

_NOT_NAMES: Final = frozenset(("then", "do", "else", "elif", "end", "and", "or"))


class ExprParser:
    """A cursor over tokens with the expression grammar.

    Args:
        toks: Tokens from :func:`tscript.lexer.tokenize` (ending with ``EOF`` or ``ERROR``).
    """

    def __init__(self, toks: list[Token]) -> None:
        self.toks = [*toks, toks[-1]]  # a spare end token: peeking one ahead is always safe
        self.pos = 0
        self.tok = self.toks[0]
        self.depth = 0
        self.blocks: list[Token] = []  # the ``begin`` of each block being parsed

    # --- cursor and errors ---------------------------------------------------------------

    def _advance(self) -> Token:
        tok = self.tok
        self.pos += 1
        self.tok = self.toks[self.pos]
        return tok

    def _peek(self) -> Token:
        return self.toks[self.pos + 1]

    def _enter(self, levels: int = 1) -> None:
        self.depth += levels
        if self.depth > MAX_DEPTH:
            raise ParseError("nesting too deep", self.tok.line, self.tok.column)

    def _expect(self, kind: str) -> Token:
        if self.tok.kind != kind:
            self._fail(self.tok, f"'{kind}'")
        return self._advance()

    def _word(self, what: str) -> Token:
        """Consume a WORD (any word, reserved or not)."""
        tok = self.tok
        if tok.kind in WORDS:
            return self._advance()
        if tok.kind == "QNAME":
            dot = tok.text.index(".")
            raise ParseError("unexpected '.'", tok.line, tok.column + dot)
        self._fail(tok, what)

    def _fail(self, tok: Token, expected: str) -> NoReturn:
        """Raise the error for ``tok`` where ``expected`` should have been."""
        if tok.kind == "ERROR":
            raise ParseError(tok.text, tok.line, tok.column)
        if tok.kind == "EOF":
            opened = tok.value
            if isinstance(opened, Token):
                raise ParseError(f"unclosed '{opened.kind}'", opened.line, opened.column)
            if self.blocks:
                begin = self.blocks[-1]
                raise ParseError("unclosed block: 'begin' without 'end'", begin.line, begin.column)
        raise ParseError(f"expected {expected}, found {_describe(tok)}", tok.line, tok.column)

    def _fail_after_expr(self, tok: Token, expected: str) -> NoReturn:
        """Like :meth:`_fail`, for a token that follows a complete expression."""
        kind = tok.kind
        message = ""
        if kind == "=":
            message = self._reserved_before() or "unexpected '=' (assignment is a statement)"
        elif kind == "[":
            message = "unexpected '[' (no space is allowed before an index)"
        elif kind == "(" and not tok.adj and self.toks[self.pos - 1].kind in ("NAME", "QNAME"):
            message = "no space is allowed between a function name and '('"
        if message:
            raise ParseError(message, tok.line, tok.column)
        self._fail(tok, expected)

    def _reserved_before(self) -> str:
        prev = self.toks[self.pos - 1] if self.pos else None
        if prev is not None and prev.kind in RESERVED:
            return f"reserved word '{prev.kind}' cannot be a name"
        return ""

    def _bad_operand(self, tok: Token) -> NoReturn:
        kind = tok.kind
        message = ""
        if kind == "=":
            message = self._reserved_before()
        elif kind in ("begin", "exists") and not (self._peek().kind == "(" and self._peek().adj):
            message = f"expected '(' directly after '{kind}'"
        elif kind in RESERVED and kind not in _NOT_NAMES:
            message = f"reserved word '{kind}' cannot be a name"
        if message:
            raise ParseError(message, tok.line, tok.column)
        self._fail(tok, "an expression")

    # --- expressions ---------------------------------------------------------------------

    def expr(self, min_prec: int = 1, nested: bool = False) -> Expr:
        """Parse an expression whose binary operators bind at least as tight as ``min_prec``.

        Args:
            min_prec: The loosest binary level allowed (1 = ``or`` … 8 = ``* / %``).
            nested: True for the not-expr of a ``not`` in operand position: a second
                comparison then ends it instead of being an error, so that an enclosing
                level can take it.

        Returns:
            The expression tree.
        """
        if min_prec <= _NOT_LEVEL and self.tok.kind in _NOTS:
            left = self._not_chain(nested)
            compared = True
        else:
            left = self.operand()
            compared = False
        binary = _BINARY
        while True:
            op = self.tok
            prec = binary.get(op.kind, 0)
            if prec < min_prec:
                return left
            if prec == _COMPARISON:
                if compared:
                    if nested:
                        return left
                    raise ParseError("comparisons cannot be chained", op.line, op.column)
                compared = True
            self._advance()
            right = self.expr(prec + 1)
            if prec <= 2:
                left = Logic(op.line, op.column, op.kind, left, right)
            else:
                left = BinOp(op.line, op.column, op.kind, left, right)

    def _not_chain(self, nested: bool) -> Expr:
        nots: list[Token] = []
        while self.tok.kind in _NOTS:
            nots.append(self._advance())
        self._enter(len(nots))
        node = self.expr(_NOT_LEVEL, nested)
        self.depth -= len(nots)
        for tok in reversed(nots):
            node = Not(tok.line, tok.column, node)
        return node

    def operand(self) -> Expr:
        """Parse a unary-level operand: signs, ``not``, a power, or a postfix primary."""
        tok = self.tok
        kind = tok.kind
        if kind in _SIGNS and not self._signed_literal():
            return self._prefixed()
        if kind in _NOTS:
            return self._not_chain(True)
        node = self._primary(tok)
        if self.tok.kind == "[" and self.tok.adj:
            node = self._index_chain(node)
        if self.tok.kind == "^":
            op = self._advance()
            self._enter()
            node = BinOp(op.line, op.column, "^", node, self.operand())
            self.depth -= 1
        return node

    def _signed_literal(self) -> bool:
        nxt = self._peek()
        return nxt.adj and nxt.kind in _NUMBERS

    def _prefixed(self) -> Expr:
        signs: list[Token] = []
        while self.tok.kind in _SIGNS and not self._signed_literal():
            signs.append(self._advance())
        self._enter(len(signs))
        node = self.operand()
        self.depth -= len(signs)
        for sign in reversed(signs):
            node = Unary(sign.line, sign.column, sign.kind, node)
        return node

    def _primary(self, tok: Token) -> Expr:
        kind = tok.kind
        if kind == "NAME":
            self._advance()
            if self.tok.kind == "(" and self.tok.adj:
                return Call(tok.line, tok.column, None, tok.text, self._named_items("argument"))
            return Name(tok.line, tok.column, tok.text)
        if kind in _LITERALS:
            self._advance()
            return Const(tok.line, tok.column, tok.value)
        if kind == "QNAME":
            self._advance()
            module, name = tok.text.split(".")
            if self.tok.kind == "(" and self.tok.adj:
                return Call(tok.line, tok.column, module, name, self._named_items("argument"))
            return QName(tok.line, tok.column, module, name)
        if kind == "(":
            self._advance()
            self._enter()
            node = self.expr()
            if self.tok.kind != ")":
                self._fail_after_expr(self.tok, "')'")
            self._advance()
            self.depth -= 1
            return node
        if kind == "[":
            return self._array(tok)
        if kind == "{":
            return MapLit(tok.line, tok.column, self._named_items("key"))
        return self._other_primary(tok)

    def _other_primary(self, tok: Token) -> Expr:
        kind = tok.kind
        if kind in _SIGNS:  # a signed literal: _signed_literal() holds
            self._advance()
            number = self._advance()
            value = -number.value if kind == "-" else number.value
            return Const(tok.line, tok.column, value)
        if kind == "exists" and self._peek().kind == "(" and self._peek().adj:
            return self._exists(tok)
        self._bad_operand(tok)

    def _index_chain(self, base: Expr) -> Index:
        indexes: list[Expr] = []
        brackets: list[tuple[int, int]] = []
        self._enter()
        while self.tok.kind == "[" and self.tok.adj:
            bracket = self._advance()
            brackets.append((bracket.line, bracket.column))
            indexes.append(self.expr())
            if self.tok.kind != "]":
                self._fail_after_expr(self.tok, "']'")
            self._advance()
        self.depth -= 1
        line, column = brackets[0]
        return Index(line, column, base, indexes, brackets)

    def _comma(self, close: str) -> bool:
        """After an item: consume a ``,`` (True) or stop before ``close`` (False)."""
        kind = self.tok.kind
        if kind == ",":
            self._advance()
            return True
        if kind != close:
            self._fail_after_expr(self.tok, f"',' or '{close}'")
        return False

    def _array(self, bracket: Token) -> ArrayLit:
        self._advance()
        self._enter()
        items: list[Expr] = []
        while self.tok.kind != "]":
            items.append(self.expr())
            if not self._comma("]"):
                break
        self._advance()
        self.depth -= 1
        return ArrayLit(bracket.line, bracket.column, items)

    def _named_items(self, what: str) -> list[tuple[str, Expr]]:
        """Parse ``( word = expr, … )`` or ``{ … }`` from its opening bracket on.

        Args:
            what: ``"argument"`` (a call) or ``"key"`` (a map literal); names must differ.

        Returns:
            The (name, value) pairs in source order.
        """
        close = ")" if self._advance().kind == "(" else "}"
        self._enter()
        items: list[tuple[str, Expr]] = []
        seen: set[str] = set()
        while self.tok.kind != close:
            key = self.tok
            if what == "argument" and key.kind not in WORDS and key.kind != "QNAME":
                self._fail_unnamed(key)
            self._word(f"a {what} name")
            if key.text in seen:
                raise ParseError(f"duplicate {what} '{key.text}'", key.line, key.column)
            seen.add(key.text)
            self._expect("=")
            items.append((key.text, self.expr()))
            if not self._comma(close):
                break
        self._advance()
        self.depth -= 1
        return items

    def _fail_unnamed(self, tok: Token) -> NoReturn:
        if tok.kind in ("ERROR", "EOF", ","):
            self._fail(tok, "an argument name")
        raise ParseError("arguments must be named (name=value)", tok.line, tok.column)

    def _exists(self, keyword: Token) -> Exists:
        self._advance()
        self._advance()
        self._enter()
        tok = self.tok
        target: Expr
        if tok.kind == "NAME":
            target = Name(tok.line, tok.column, tok.text)
        elif tok.kind == "QNAME":
            module, name = tok.text.split(".")
            target = QName(tok.line, tok.column, module, name)
        else:
            self._fail(tok, "a variable name")
        self._advance()
        if self.tok.kind == "[" and self.tok.adj:
            target = self._index_chain(target)
        if self.tok.kind != ")":
            self._fail_after_expr(self.tok, "')'")
        self._advance()
        self.depth -= 1
        return Exists(keyword.line, keyword.column, target)


def _describe(tok: Token) -> str:
    kind = tok.kind
    if kind == "NEWLINE":
        return "end of line"
    if kind == "EOF":
        return "end of input"
    if kind == "STR":
        text = tok.text if len(tok.text) <= 20 else tok.text[:17] + "..."
        return f"string {text}"
    return f"'{tok.text}'"
