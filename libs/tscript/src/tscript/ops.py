"""TScript operators on already-evaluated operands (tscript.md §6.6, §7.2, §7.3).

A "number" is an int, float or bool (a bool counts as 0/1). Failures raise the error kinds of
§9.2 without a position; the interpreter adds it:

* :class:`~tscript.errors.ParameterError`: an operand of ``+ - * / % ^ & |`` or unary ``-``/``+``
  that is not a number (the left operand is checked first);
* :class:`~tscript.errors.TypeFault`: a float operand of ``&``/``|``, division or modulo by zero,
  a non-real or non-finite result, an int result with 4300 or more decimal digits, an unorderable
  comparison.

Every function puts the int/int case first: the interpreter calls them in tight loops.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Callable
from typing import Any, Final

from tscript.errors import ParameterError, TypeFault
from tscript.text import text, type_name
from tscript.values import Duration

#: Python types that count as TScript numbers.
_NUMBER: Final = frozenset((int, float, bool))

#: Smallest magnitude with 4300 decimal digits: int results must stay below it.
_INT_LIMIT: Final = 10**4299
#: Ints of at most this many bits are below ``_INT_LIMIT`` (a cheap first check).
_SAFE_BITS: Final = _INT_LIMIT.bit_length() - 1
_MAX_DIGITS: Final = 4299


def _not_number(symbol: str, value: Any) -> ParameterError:
    """Build the error for a non-number operand."""
    return ParameterError(f"operand of {symbol} must be a number, not {type_name(value)}")


def _too_large() -> TypeFault:
    """Build the error for an int result with 4300 or more digits."""
    return TypeFault("integer result too large (4300 or more digits)")


def _not_finite() -> TypeFault:
    """Build the error for a float result that is not finite."""
    return TypeFault("float result is not finite")


def _out_of_range() -> TypeFault:
    """Build the error for an operation whose result or operand exceeds the float range."""
    return TypeFault("number out of float range")


def _check_numbers(symbol: str, left: Any, right: Any) -> None:
    """Raise ParameterError unless both operands are numbers (left first)."""
    if type(left) not in _NUMBER:
        raise _not_number(symbol, left)
    if type(right) not in _NUMBER:
        raise _not_number(symbol, right)


def _checked(result: Any) -> Any:
    """Return an arithmetic result, or raise TypeFault if it is out of range."""
    if type(result) is float:
        if result - result == 0.0:  # false for inf and nan
            return result
        raise _not_finite()
    if result.bit_length() <= _SAFE_BITS or -_INT_LIMIT < result < _INT_LIMIT:
        return result
    raise _too_large()


def _arith(symbol: str, func: Callable[[Any, Any], Any], left: Any, right: Any) -> Any:
    """Apply ``func`` to two numbers with the common checks of + - *."""
    _check_numbers(symbol, left, right)
    try:
        return _checked(func(left, right))
    except OverflowError:
        raise _out_of_range() from None


def add(left: Any, right: Any) -> Any:
    """Return ``left + right`` (int if both are int/bool, else float)."""
    if type(left) is int and type(right) is int:
        result = left + right
        if result.bit_length() <= _SAFE_BITS:
            return result
        return _checked(result)
    return _arith("+", operator.add, left, right)


def sub(left: Any, right: Any) -> Any:
    """Return ``left - right`` (int if both are int/bool, else float)."""
    if type(left) is int and type(right) is int:
        result = left - right
        if result.bit_length() <= _SAFE_BITS:
            return result
        return _checked(result)
    return _arith("-", operator.sub, left, right)


def mul(left: Any, right: Any) -> Any:
    """Return ``left * right`` (int if both are int/bool, else float)."""
    if type(left) is int and type(right) is int:
        result = left * right
        if result.bit_length() <= _SAFE_BITS:
            return result
        return _checked(result)
    return _arith("*", operator.mul, left, right)


def div(left: Any, right: Any) -> float:
    """Return ``left / right``, always a float.

    Raises:
        ParameterError: an operand is not a number.
        TypeFault: the divisor is zero or the result is not finite.
    """
    if not (type(left) is int and type(right) is int):
        _check_numbers("/", left, right)
    if not right:
        raise TypeFault("division by zero")
    try:
        result: float = _checked(left / right)
    except OverflowError:
        raise _out_of_range() from None
    return result


def mod(left: Any, right: Any) -> Any:
    """Return ``left % right`` with the sign of the divisor (Python semantics).

    Raises:
        ParameterError: an operand is not a number.
        TypeFault: the divisor is zero, or an int operand is too large for a float.
    """
    if type(left) is int and type(right) is int:
        if right:
            return left % right
        raise TypeFault("modulo by zero")
    _check_numbers("%", left, right)
    if not right:
        raise TypeFault("modulo by zero")
    try:
        return _checked(left % right)
    except OverflowError:
        raise _out_of_range() from None


def power(left: Any, right: Any) -> Any:
    """Return ``left ^ right``.

    The result is an int when both operands are int/bool and the exponent is ≥ 0, else a float.
    The size of an int result is estimated before it is computed.

    Raises:
        ParameterError: an operand is not a number.
        TypeFault: ``0 ^ -1``, a non-real, non-finite or over-large result.
    """
    if type(left) is int and type(right) is int and right >= 0:
        return _int_power(left, right)
    _check_numbers("^", left, right)
    if type(left) is not float and type(right) is not float and right >= 0:
        return _int_power(int(left), int(right))
    try:
        result = math.pow(left, right)
    except ValueError:
        raise TypeFault("power has no real result") from None
    except OverflowError:
        raise _out_of_range() from None
    return _checked(result)


def _int_power(base: int, exponent: int) -> int:
    """Return ``base ** exponent`` for exponent ≥ 0, refusing results of 4300+ digits."""
    if base in (0, 1, -1) or exponent <= 1:
        small: int = base**exponent
        return small
    # |base| ≥ 2, so an exponent beyond 4299 / log10(2) ≈ 14281 is always too large.
    if exponent > 15000 or exponent * math.log10(abs(base)) > _MAX_DIGITS + 1:
        raise _too_large()
    result: int = _checked(base**exponent)
    return result


def _bit_operand(symbol: str, value: Any) -> None:
    """Raise unless ``value`` is an int or bool."""
    kind = type(value)
    if kind is float:
        raise TypeFault(f"operand of {symbol} must be an int or bool, not float")
    if kind is not int and kind is not bool:
        raise _not_number(symbol, value)


def band(left: Any, right: Any) -> Any:
    """Return bitwise ``left & right`` (a bool if both are bools).

    Raises:
        ParameterError: an operand is not a number.
        TypeFault: an operand is a float.
    """
    if type(left) is int and type(right) is int:
        return left & right
    _bit_operand("&", left)
    _bit_operand("&", right)
    return left & right


def bor(left: Any, right: Any) -> Any:
    """Return bitwise ``left | right`` (a bool if both are bools).

    Raises:
        ParameterError: an operand is not a number.
        TypeFault: an operand is a float.
    """
    if type(left) is int and type(right) is int:
        return left | right
    _bit_operand("|", left)
    _bit_operand("|", right)
    return left | right


def concat(left: Any, right: Any) -> str:
    """Return text(left) + text(right) (the ``.`` operator; never fails)."""
    if type(left) is str and type(right) is str:
        return left + right
    return text(left) + text(right)


def eq(left: object, right: object) -> bool:
    """Return structural equality (tscript.md §7.3); never fails.

    Python's own ``==`` already is TScript's equality on the value representation: numbers
    compare by value across int/float/bool, lists element-wise, dicts as key/value sets,
    :class:`~tscript.values.Duration` and :class:`~tscript.values.Handle` only equal their own
    kind, and different kinds are unequal.
    """
    return left == right


def ne(left: object, right: object) -> bool:
    """Return the negation of :func:`eq`."""
    return left != right


def _compare(left: Any, right: Any, symbol: str) -> int:
    """Return -1, 0 or 1 ordering an orderable pair, or raise TypeFault."""
    kind_l = type(left)
    kind_r = type(right)
    if (kind_l in _NUMBER and kind_r in _NUMBER) or (kind_l is str and kind_r is str):
        order: int = (left > right) - (left < right)
        return order
    if kind_l is Duration and kind_r is Duration:
        return _compare(left.seconds, right.seconds, symbol)
    if kind_l is list and kind_r is list:
        # Lexicographic: the first unequal pair decides (and may itself be unorderable).
        for item_l, item_r in zip(left, right, strict=False):
            if item_l != item_r:
                return _compare(item_l, item_r, symbol)
        return (len(left) > len(right)) - (len(left) < len(right))
    raise TypeFault(f"cannot order {type_name(left)} {symbol} {type_name(right)}")


def lt(left: Any, right: Any) -> bool:
    """Return ``left < right`` for an orderable pair.

    Raises:
        TypeFault: the pair is not orderable.
    """
    if type(left) is int and type(right) is int:
        return left < right
    return _compare(left, right, "<") < 0


def le(left: Any, right: Any) -> bool:
    """Return ``left <= right`` for an orderable pair.

    Raises:
        TypeFault: the pair is not orderable.
    """
    if type(left) is int and type(right) is int:
        return left <= right
    return _compare(left, right, "<=") <= 0


def gt(left: Any, right: Any) -> bool:
    """Return ``left > right`` for an orderable pair.

    Raises:
        TypeFault: the pair is not orderable.
    """
    if type(left) is int and type(right) is int:
        return left > right
    return _compare(left, right, ">") > 0


def ge(left: Any, right: Any) -> bool:
    """Return ``left >= right`` for an orderable pair.

    Raises:
        TypeFault: the pair is not orderable.
    """
    if type(left) is int and type(right) is int:
        return left >= right
    return _compare(left, right, ">=") >= 0


def neg(value: Any) -> Any:
    """Return unary ``-value`` (``-True`` → -1).

    Raises:
        ParameterError: the operand is not a number.
    """
    kind = type(value)
    if kind is int or kind is float:
        return -value
    if kind is bool:
        return -int(value)
    raise _not_number("unary -", value)


def pos(value: Any) -> Any:
    """Return unary ``+value`` (``+True`` → 1).

    Raises:
        ParameterError: the operand is not a number.
    """
    kind = type(value)
    if kind is int or kind is float:
        return value
    if kind is bool:
        return int(value)
    raise _not_number("unary +", value)


def truthy(value: Any) -> bool:
    """Return the truth of a value (tscript.md §7.2).

    Falsy: none, false, 0, 0.0, "", [], the empty map and the zero duration; handles and
    everything else are truthy.
    """
    if type(value) is Duration:
        return value.seconds != 0
    return bool(value)


def not_(value: Any) -> bool:
    """Return ``not value``: true exactly when the value is falsy."""
    return not truthy(value)


#: Binary operator symbol → function (``and``/``or`` short-circuit in the interpreter).
BINARY: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "+": add,
    "-": sub,
    "*": mul,
    "/": div,
    "%": mod,
    "^": power,
    "&": band,
    "|": bor,
    ".": concat,
    "==": eq,
    "!=": ne,
    "<": lt,
    "<=": le,
    ">": gt,
    ">=": ge,
}
