"""The TScript parser (tscript.md §3, §5): source to a numbered :class:`~tscript.syntax.Script`.

Statements are parsed here by recursive descent; expressions by
:class:`tscript.parser_expr.ExprParser`. The first error raises :class:`ParseError` at the first
token where no valid script can continue (tscript.md §3.1).
"""

from __future__ import annotations

from typing import Any, Final, NoReturn

from tscript.errors import ParseError
from tscript.lexer import RESERVED, Token, decode_source, tokenize
from tscript.parser_expr import ExprParser
from tscript.syntax import (
    Assign,
    Block,
    Break,
    Continue,
    Expr,
    ExprStmt,
    Goto,
    If,
    Index,
    JumpPoint,
    Name,
    Pass,
    QName,
    Script,
    Stmt,
    While,
    number_nodes,
)

_OPTIONS: Final = {"description": "STR", "expected_time": "TIME", "max_time": "TIME"}
_OPTION_TYPES: Final = {"STR": "a string", "TIME": "a time literal such as 1:30"}
_NOT_STATEMENTS: Final = frozenset(
    ("EOF", "NEWLINE", "end", "else", "elif", "then", "do", "and", "or", ":")
)


def parse(source: str | bytes) -> Script:
    """Parse a TScript program.

    Args:
        source: The script as text, or as UTF-8 bytes read from a file. A leading
            byte-order mark is ignored.

    Returns:
        The parse tree, numbered with :func:`tscript.syntax.number_nodes`.

    Raises:
        ParseError: The script is invalid; carries the message, line and column of the
            first error. No other exception is raised for any input.
    """
    parser = Parser(tokenize(decode_source(source)))
    try:
        script = parser.script()
    except RecursionError:
        raise ParseError("nesting too deep", parser.tok.line, parser.tok.column) from None
    number_nodes(script)
    return script


class Parser(ExprParser):
    """The statement grammar on top of :class:`ExprParser`.

    Args:
        toks: Tokens from :func:`tscript.lexer.tokenize`.
    """

    def __init__(self, toks: list[Token]) -> None:
        super().__init__(toks)
        self.loops = 0  # how many ``while`` bodies enclose the current statement

    def script(self) -> Script:
        """Parse the whole token list.

        Returns:
            The (unnumbered) script.
        """
        body: list[Stmt] = []
        while self.tok.kind != "EOF":
            body.append(self.statement(top=True))
            tok = self.tok
            if tok.kind == "NEWLINE":
                self._advance()
            elif tok.kind != "EOF":
                self._fail_after_expr(tok, "end of line")
        return Script(1, 1, body)

    def statement(self, top: bool) -> Stmt:
        """Parse one statement (without its terminating line end).

        Args:
            top: True for a statement of the script itself, where jump points are allowed.

        Returns:
            The statement.
        """
        tok = self.tok
        kind = tok.kind
        if kind == "NAME" or kind == "QNAME":
            return self._simple(tok)
        if kind == "if":
            return self._if(tok)
        if kind == "while":
            return self._while(tok)
        if kind == "begin":
            return self._block(tok)
        if kind in ("goto", "pass", "break", "continue", "JUMP"):
            return self._keyword(tok, top)
        if kind in _NOT_STATEMENTS:
            self._not_a_statement(tok)
        return self._simple(tok)

    def _not_a_statement(self, tok: Token) -> NoReturn:
        if tok.kind == ":":
            raise ParseError("expected a label directly after ':'", tok.line, tok.column)
        if tok.kind in RESERVED:
            if self._peek().kind == "=":
                message = f"reserved word '{tok.kind}' cannot be a name"
            else:
                message = f"unexpected '{tok.kind}'"
            raise ParseError(message, tok.line, tok.column)
        self._fail(tok, "a statement")

    def _simple(self, first: Token) -> Stmt:
        """An expression statement or, when ``=`` follows the expression, an assignment."""
        expr = self.expr()
        if self.tok.kind != "=":
            return ExprStmt(first.line, first.column, expr)
        indexes: list[Expr] = []
        brackets: list[tuple[int, int]] = []
        target = expr
        if isinstance(target, Index):
            indexes, brackets, target = target.indexes, target.brackets, target.base
        if first.kind not in ("NAME", "QNAME") or not isinstance(target, Name | QName):
            self._bad_target(first)
        self._advance()
        value = self.expr()
        module = target.module if isinstance(target, QName) else None
        return Assign(first.line, first.column, module, target.name, indexes, brackets, value)

    def _bad_target(self, first: Token) -> NoReturn:
        eq = self.tok
        if first.kind in RESERVED:
            message = f"reserved word '{first.kind}' cannot be a name"
        else:
            message = "cannot assign to this expression (only to a name, optionally indexed)"
        raise ParseError(message, eq.line, eq.column)

    def _keyword(self, tok: Token, top: bool) -> Stmt:
        """``goto``, ``pass``, ``break``, ``continue`` or a jump point."""
        kind = tok.kind
        if kind == "JUMP" and not top:
            raise ParseError(
                f"jump point '{tok.text}' is only allowed at the top level of the script",
                tok.line,
                tok.column,
            )
        if kind in ("break", "continue") and not self.loops:
            raise ParseError(f"'{kind}' outside a while loop", tok.line, tok.column)
        self._advance()
        if kind == "goto":
            return Goto(tok.line, tok.column, self._word("a label").text)
        if kind == "JUMP":
            return JumpPoint(tok.line, tok.column, tok.text[1:])
        if kind == "break":
            return Break(tok.line, tok.column)
        if kind == "continue":
            return Continue(tok.line, tok.column)
        return Pass(tok.line, tok.column)

    def _condition(self, keyword: str) -> Expr:
        cond = self.expr()
        if self.tok.kind != keyword:
            self._fail_after_expr(self.tok, f"'{keyword}'")
        self._advance()
        return cond

    def _body(self) -> Stmt:
        """An if/elif/else/while body: one statement, possibly on a later line."""
        self._enter()
        if self.tok.kind == "NEWLINE":
            self._advance()
        stmt = self.statement(top=False)
        self.depth -= 1
        return stmt

    def _if(self, keyword: Token) -> If:
        self._advance()
        conds = [self._condition("then")]
        bodies = [self._body()]
        orelse: Stmt | None = None
        while True:
            tok = self.tok
            if tok.kind == "NEWLINE":
                tok = self._peek()
            if tok.kind == "elif":
                self._skip_to(tok)
                conds.append(self._condition("then"))
                bodies.append(self._body())
                continue
            if tok.kind == "else":
                self._skip_to(tok)
                orelse = self._body()
            return If(keyword.line, keyword.column, conds, bodies, orelse)

    def _skip_to(self, tok: Token) -> None:
        """Consume up to and including ``tok`` (at most one line end before it)."""
        while self._advance() is not tok:
            pass

    def _while(self, keyword: Token) -> While:
        self._advance()
        cond = self._condition("do")
        self.loops += 1
        body = self._body()
        self.loops -= 1
        return While(keyword.line, keyword.column, cond, body)

    def _block(self, begin: Token) -> Block:
        paren = self._peek()
        if paren.kind != "(" or not paren.adj:
            raise ParseError("expected '(' directly after 'begin'", begin.line, begin.column)
        self._advance()
        self._advance()
        options = self._options()
        self.blocks.append(begin)
        self._enter()
        body = self._block_body()
        self.depth -= 1
        self.blocks.pop()
        return Block(
            begin.line,
            begin.column,
            options.get("description"),
            options.get("expected_time"),
            options.get("max_time"),
            body,
        )

    def _options(self) -> dict[str, Any]:
        """Block options up to and including the ``)``; times as seconds."""
        found: dict[str, Any] = {}
        while self.tok.kind != ")":
            name = self.tok
            self._word("a block option")
            want = _OPTIONS.get(name.text)
            if want is None:
                raise ParseError(f"unknown block option '{name.text}'", name.line, name.column)
            if name.text in found:
                raise ParseError(f"duplicate option '{name.text}'", name.line, name.column)
            self._expect("=")
            value = self.tok
            if value.kind != want:
                self._fail(value, f"{_OPTION_TYPES[want]} for '{name.text}'")
            self._advance()
            found[name.text] = value.value if want == "STR" else value.value.seconds
            if not self._comma(")"):
                break
        self._advance()
        return found

    def _block_body(self) -> list[Stmt]:
        """The statements of a block and its ``end``."""
        body: list[Stmt] = []
        kind = self.tok.kind
        if kind == "end":
            self._advance()
            return body
        if kind == "NEWLINE":
            self._advance()
        else:
            body.append(self.statement(top=False))
            self._block_line_end()
        while self.tok.kind != "end":
            body.append(self.statement(top=False))
            self._block_line_end()
        self._advance()
        return body

    def _block_line_end(self) -> None:
        tok = self.tok
        if tok.kind == "NEWLINE":
            self._advance()
        elif tok.kind == "end":
            raise ParseError("'end' must start a line", tok.line, tok.column)
        else:
            self._fail_after_expr(tok, "end of line")
