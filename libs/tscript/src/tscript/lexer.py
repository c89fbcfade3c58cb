"""The TScript lexer (tscript.md §2): source bytes or text to a list of tokens.

Token kinds: ``NAME`` (a non-reserved word), ``QNAME`` (``module.name``), each reserved word
as itself (``if``, ``not``, ``true``, …), ``INT``, ``FLOAT``, ``TIME``, ``STR``, ``JUMP``
(``:label``), each operator or bracket as itself (``==``, ``(``, …), a lone ``:``,
``NEWLINE`` and ``EOF``. A lexical error does not raise at once: it becomes a final ``ERROR``
token, so that the parser reports any earlier syntax error first (tscript.md §3.1).
"""

from __future__ import annotations

import re
from typing import Any, Final

from tscript.errors import ParseError
from tscript.values import Duration

# fmt: off
RESERVED: Final = frozenset((
    "and", "begin", "break", "continue", "do", "elif", "else", "end", "exists", "false", "False",
    "goto", "if", "none", "None", "not", "Not", "or", "pass", "then", "true", "True", "while",
))
"""Words that cannot name a variable, function or module (tscript.md §2.2)."""
# fmt: on

_KEYWORD_VALUES: Final[dict[str, Any]] = {
    "true": True,
    "True": True,
    "false": False,
    "False": False,
    "none": None,
    "None": None,
}
_CLOSING: Final = {"(": ")", "[": "]", "{": "}"}
_TIME_UNITS: Final = (1, 60, 3600, 86400)
_MAX_INT_DIGITS: Final = 4299
_BOM: Final = b"\xef\xbb\xbf"
_WORD: Final = "[A-Za-z][A-Za-z0-9_]*"
_RESERVED_ALT: Final = "|".join(sorted(RESERVED, key=len, reverse=True))

_MASTER: Final = re.compile(
    rf"""[ \t]*(?:
    (?P<word>{_WORD}(?:\.{_WORD})?)
  | (?P<op>==|!=|<=|>=|[-+*/%^&|.<>=,])
  | (?P<num>[0-9]+(?:(?::[0-9]+)+|\.[0-9]+)?)
  | (?P<nl>\r\n?|\n)
  | (?P<str>"[^"]*"|'[^']*')
  | (?P<open>[(\[{{])
  | (?P<close>[)\]}}])
  | (?P<com>\#[^\r\n]*)
  | (?P<jump>:{_WORD})
  | (?P<colon>:)
  | (?P<end>\Z)
  | (?P<bad>.)
    )""",
    re.VERBOSE | re.DOTALL,
)
_LINE_END: Final = re.compile(r"\r\n?|\n")
_LETTERS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


class Token:
    """One token: its kind, source text, position, and literal value.

    ``adj`` is true when the token starts right where the previous token ended (no whitespace,
    comment or line end between them); the parser uses it for the adjacency rules of §2.4.
    For ``EOF``, ``value`` is the innermost bracket left open (or None); for ``ERROR``,
    ``text`` is the message.
    """

    __slots__ = ("adj", "column", "kind", "line", "text", "value")

    def __init__(self, kind: str, text: str, line: int, column: int, adj: bool) -> None:
        self.kind = kind
        self.text = text
        self.line = line
        self.column = column
        self.adj = adj
        self.value: Any = None

    def __repr__(self) -> str:
        return f"Token({self.kind!r}, {self.text!r}, {self.line}:{self.column})"


def decode_source(source: str | bytes) -> str:
    """Return the script text of ``source`` without a leading byte-order mark.

    Args:
        source: The script, as text or as UTF-8 bytes.

    Returns:
        The text, with no newline translation.

    Raises:
        ParseError: ``source`` is bytes that are not valid UTF-8; the position is the
            line and column of the first bad byte.
    """
    if isinstance(source, str):
        return source[1:] if source.startswith("\ufeff") else source
    data = source[3:] if source.startswith(_BOM) else source
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        prefix = data[: exc.start].decode("utf-8")
        ends = list(_LINE_END.finditer(prefix))
        line_start = ends[-1].end() if ends else 0
        raise ParseError("invalid UTF-8", len(ends) + 1, len(prefix) - line_start + 1) from None


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens.

    Line ends inside brackets are dropped and consecutive line ends give one ``NEWLINE``
    token (at the first terminator); leading line ends give none. The list ends with an
    ``EOF`` or an ``ERROR`` token.

    Args:
        text: The script text (see :func:`decode_source`).

    Returns:
        The tokens.
    """
    scanner = _Scanner(text)
    pos = 0
    while pos >= 0:
        pos = scanner.scan(pos)
    return scanner.toks


class _Scanner:
    """The lexer's state between runs of :meth:`scan`."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.toks: list[Token] = []
        self.opens: list[Token] = []  # the open brackets, innermost last
        self.line = 1
        self.line_start = 0  # offset of the first character of the current line
        self.prev_end = -1  # offset just after the previous token

    def scan(self, pos: int) -> int:
        """Append the tokens from offset ``pos`` on.

        Returns:
            -1 when done (after ``EOF`` or ``ERROR``), else the offset to continue from (after
            a reserved word that was followed by ``.`` and a word).
        """
        text = self.text
        toks = self.toks
        append = toks.append
        opens = self.opens
        line = self.line
        line_start = self.line_start
        prev_end = self.prev_end
        for m in _MASTER.finditer(text, pos):
            kind = m.lastgroup or ""  # every alternative is a named group
            if kind == "nl":
                if not opens and toks and toks[-1].kind != "NEWLINE":
                    col = m.start(kind) - line_start + 1
                    append(Token("NEWLINE", "line end", line, col, False))
                line += 1
                line_start = m.end()
                continue
            if kind == "com":
                continue
            src = m[kind]
            end = m.end()
            start = end - len(src)
            tok = Token(src, src, line, start - line_start + 1, start == prev_end)
            prev_end = end
            if kind == "word":
                if src in RESERVED:
                    tok.value = _KEYWORD_VALUES.get(src)
                elif "." in src:
                    first = src[: src.index(".")]
                    if first not in RESERVED:
                        tok.kind = "QNAME"
                    else:  # a reserved word, then ``.`` and a word: rescan from the dot
                        tok.kind = tok.text = first
                        tok.value = _KEYWORD_VALUES.get(first)
                        append(tok)
                        self.line, self.line_start = line, line_start
                        self.prev_end = start + len(first)
                        return self.prev_end
                else:
                    tok.kind = "NAME"
            elif kind == "op" or kind == "open" or kind == "colon":
                if kind == "open":
                    opens.append(tok)
            elif kind == "num":
                error = _number(tok)
                if error is None and end < len(text) and text[end] in _LETTERS:
                    append(tok)
                    error = Token("ERROR", "", line, end - line_start + 1, True)
                    error.text = "a number must not be directly followed by a word"
                if error is not None:
                    append(error)
                    return -1
            elif kind == "str":
                tok.kind = "STR"
                tok.value = src[1:-1]
                if "\n" in src or "\r" in src:
                    ends = list(_LINE_END.finditer(src))
                    line += len(ends)
                    line_start = start + ends[-1].end()
            elif kind == "close":
                if not opens or _CLOSING[opens[-1].kind] != src:
                    append(_error(tok, f"unexpected '{src}'"))
                    return -1
                opens.pop()
            elif kind == "jump":
                tok.kind = "JUMP"
            elif kind == "end":
                tok.kind, tok.text, tok.adj = "EOF", "end of input", False
                tok.value = opens[-1] if opens else None
                append(tok)
                return -1
            else:
                append(_error(tok, _bad_char_message(src)))
                return -1
            append(tok)
        raise AssertionError("unreachable: the pattern always matches the end")


def _error(tok: Token, message: str) -> Token:
    tok.kind = "ERROR"
    tok.text = message
    return tok


def _number(tok: Token) -> Token | None:
    """Fill in a numeral's kind and value; return an ERROR token if it is invalid."""
    src = tok.text
    if ":" in src:
        fields = src.split(":")
        if len(fields) > 4 or any(len(field) > 2 for field in fields):
            return _error(tok, f"invalid time literal '{src}'")
        seconds = sum(int(f) * unit for f, unit in zip(reversed(fields), _TIME_UNITS, strict=False))
        tok.kind = "TIME"
        tok.value = Duration(seconds)
    elif "." in src:
        tok.kind = "FLOAT"
        tok.value = float(src)
        if tok.value == float("inf"):
            return _error(tok, f"number too large '{src}'")
    else:
        digits = src.lstrip("0") or "0"
        if len(digits) > _MAX_INT_DIGITS:
            return _error(tok, "integer literal too long")
        tok.kind = "INT"
        try:
            tok.value = int(digits)
        except ValueError:  # the interpreter's digit limit was lowered (sys.set_int_max_str_digits)
            return _error(tok, "integer literal too long")
    return None


def _bad_char_message(char: str) -> str:
    if char in "\"'":
        return "unterminated string"
    if char == "!":
        return "unexpected '!' (use 'not' or '!=')"
    if not char.isascii():
        return f"character {char!r} (U+{ord(char):04X}) is only allowed in strings and comments"
    if not char.isprintable():
        return f"invalid character U+{ord(char):04X}"
    return f"unexpected character '{char}'"
