"""Hardware rules (§8.3): checking rule lists on write and evaluating them against a report.

Pure functions: a rule is a JSON object ``{path, equals?, regex?, min?, max?, where?,
count_min?, count_max?, optional?}``; :func:`evaluate` returns one failure message per failing
rule, in the normative format ``rule <i> (<path>): <reason>``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final

from contractor.inventory.errors import invalid

RULE_MEMBERS: Final = frozenset(
    {"path", "equals", "regex", "min", "max", "where", "count_min", "count_max", "optional"}
)
CHECK_MEMBERS: Final = ("equals", "regex", "min", "max")
STAR: Final = "*"
_SEGMENT = re.compile(r"^(?P<key>[^.\[\]]+)?(?P<indexes>(?:\[(?:\d+|\*)\])*)$")
_INDEX = re.compile(r"\[(\d+|\*)\]")


class _Missing:
    """The value of a path that does not resolve."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final = _Missing()

Step = str | int
"""A path step: an object key, a list index, or ``*`` (every element)."""


def parse_path(path: str) -> list[Step]:
    """Split ``hardware.nics[*].speed_mbps`` into ``["hardware", "nics", "*", "speed_mbps"]``.

    Raises:
        ValueError: The path is empty or malformed.
    """
    if not path:
        raise ValueError("the path is empty")
    steps: list[Step] = []
    for part in path.split("."):
        match = _SEGMENT.fullmatch(part)
        if match is None or not part or (match["key"] is None and not steps):
            raise ValueError(f"malformed path segment {part!r}")
        if match["key"] is not None:
            steps.append(match["key"])
        for index in _INDEX.findall(match["indexes"]):
            steps.append(STAR if index == STAR else int(index))
    return steps


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


# -- checking rule lists (blueprint writes) -------------------------------------------------------


def check(rules: Sequence[Any], loc: list[str | int]) -> None:
    """Refuse a malformed rule list (422 naming the offending member).

    Raises:
        FieldError: A rule is not an object, lacks ``path``, has an unknown member, a bad regex,
            a non-numeric bound, or ``where``/``count_min``/``count_max`` without ``[*]``.
    """
    for index, rule in enumerate(rules):
        here = [*loc, index]
        if not isinstance(rule, dict):
            raise invalid(here, "a hardware rule must be an object")
        unknown = sorted(set(rule) - RULE_MEMBERS)
        if unknown:
            raise invalid([*here, unknown[0]], f"unknown hardware rule member {unknown[0]}")
        path = rule.get("path")
        if not isinstance(path, str):
            raise invalid([*here, "path"], "path is required and must be a string")
        try:
            steps = parse_path(path)
        except ValueError as exc:
            raise invalid([*here, "path"], str(exc)) from exc
        expands = STAR in steps
        _check_checks(rule, here)
        for member in ("count_min", "count_max"):
            if member not in rule:
                continue
            if not expands:
                raise invalid([*here, member], f"{member} needs a path with [*]")
            value = rule[member]
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise invalid([*here, member], f"{member} must be a non-negative integer")
        if "optional" in rule and not isinstance(rule["optional"], bool):
            raise invalid([*here, "optional"], "optional must be true or false")
        if "where" in rule:
            if not expands:
                raise invalid([*here, "where"], "where needs a path with [*]")
            _check_where(rule["where"], [*here, "where"])


def _check_checks(checks: dict[str, Any], loc: list[str | int]) -> None:
    if "regex" in checks:
        if not isinstance(checks["regex"], str):
            raise invalid([*loc, "regex"], "regex must be a string")
        try:
            re.compile(checks["regex"])
        except re.error as exc:
            raise invalid([*loc, "regex"], f"invalid regular expression: {exc}") from exc
    for member in ("min", "max"):
        if member in checks and not _is_number(checks[member]):
            raise invalid([*loc, member], f"{member} must be a number")


def _check_where(where: Any, loc: list[str | int]) -> None:
    if not isinstance(where, dict) or not where:
        raise invalid(loc, "where must be a non-empty object of relative path → checks")
    for relative, checks in where.items():
        here = [*loc, relative]
        try:
            steps = parse_path(relative)
        except ValueError as exc:
            raise invalid(here, str(exc)) from exc
        if STAR in steps:
            raise invalid(here, "a where path cannot expand [*]")
        if not isinstance(checks, dict):
            raise invalid(here, "a where check must be an object")
        unknown = sorted(set(checks) - set(CHECK_MEMBERS))
        if unknown:
            raise invalid([*here, unknown[0]], f"unknown check member {unknown[0]}")
        _check_checks(checks, here)


# -- evaluation ----------------------------------------------------------------------------------


def resolve(value: Any, steps: Sequence[Step]) -> Any:
    """Follow steps without ``*`` (``MISSING`` when a step does not resolve)."""
    for step in steps:
        if isinstance(step, int):
            if not isinstance(value, list) or step >= len(value):
                return MISSING
            value = value[step]
        elif isinstance(value, dict) and step in value:
            value = value[step]
        else:
            return MISSING
    return value


def expand(value: Any, steps: Sequence[Step]) -> list[Any] | None:
    """The elements a path with ``[*]`` yields (``MISSING`` for elements lacking the rest).

    ``None`` when the part before the first ``[*]`` does not resolve to a list.
    """
    first = steps.index(STAR)
    container = resolve(value, steps[:first])
    if not isinstance(container, list):
        return None
    rest = steps[first + 1 :]
    found: list[Any] = []
    for element in container:
        if STAR in rest:
            found.extend(expand(element, rest) or [])
        else:
            found.append(resolve(element, rest))
    return found


def json_equal(left: Any, right: Any) -> bool:
    """JSON equality: ``true`` is not ``1``, ``1`` equals ``1.0``, key order does not matter."""
    if isinstance(left, bool) or isinstance(right, bool):
        return isinstance(left, bool) and isinstance(right, bool) and left is right
    if _is_number(left) and _is_number(right):
        return bool(left == right)
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(json_equal(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(
            json_equal(a, b) for a, b in zip(left, right, strict=True)
        )
    return type(left) is type(right) and bool(left == right)


def as_json(value: Any) -> str:
    """A value as compact JSON text (how numbers, booleans and structures are shown)."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def as_text(value: Any) -> str:
    """The text a regex searches: strings as is, anything else as JSON."""
    return value if isinstance(value, str) else as_json(value)


def check_value(value: Any, checks: dict[str, Any]) -> str | None:
    """The reason the first failing check of ``checks`` fails for ``value``, else ``None``."""
    if value is MISSING:
        return "not found"
    if "equals" in checks and not json_equal(value, checks["equals"]):
        return f"{as_json(value)} != {as_json(checks['equals'])}"
    if "regex" in checks and re.search(checks["regex"], as_text(value)) is None:
        return f'"{as_text(value)}" does not match "{checks["regex"]}"'
    if "min" in checks or "max" in checks:
        measured = len(value) if isinstance(value, list | dict) else value
        if not _is_number(measured):
            return f"{as_json(value)} is not a number"
        if "min" in checks and measured < checks["min"]:
            return f"{as_json(measured)} < min {as_json(checks['min'])}"
        if "max" in checks and measured > checks["max"]:
            return f"{as_json(measured)} > max {as_json(checks['max'])}"
    return None


def _element_failure(element: Any, rule: dict[str, Any], path: str) -> tuple[str, str] | None:
    """(path shown, reason) of the first failing check of one expanded element."""
    reason = check_value(element, rule)
    if reason is not None:
        return path, reason
    for relative, checks in (rule.get("where") or {}).items():
        value = MISSING if element is MISSING else resolve(element, parse_path(relative))
        reason = check_value(value, checks)
        if reason is not None:
            return f"{path}.{relative}", reason
    return None


@dataclass(frozen=True)
class Failure:
    """One failing rule."""

    number: int
    path: str
    reason: str

    def __str__(self) -> str:
        return f"rule {self.number} ({self.path}): {self.reason}"


def _evaluate_one(report: Any, rule: dict[str, Any], number: int) -> Failure | None:
    path = str(rule["path"])
    steps = parse_path(path)
    optional = bool(rule.get("optional"))
    if STAR not in steps:
        value = resolve(report, steps)
        if value is MISSING:
            return None if optional else Failure(number, path, "not found")
        reason = check_value(value, rule)
        return None if reason is None else Failure(number, path, reason)
    elements = expand(report, steps)
    if elements is None and optional:
        return None
    elements = elements or []
    failures = [_element_failure(e, rule, path) for e in elements]
    if "count_min" in rule or "count_max" in rule:
        passing = sum(1 for f in failures if f is None)
        if "count_min" in rule and passing < rule["count_min"]:
            return Failure(number, path, f"{passing} matching, need >= {rule['count_min']}")
        if "count_max" in rule and passing > rule["count_max"]:
            return Failure(number, path, f"{passing} matching, need <= {rule['count_max']}")
        return None
    if not elements:
        return None if optional else Failure(number, path, "not found")
    for failed in failures:
        if failed is not None:
            return Failure(number, failed[0], failed[1])
    return None


def failures(report: Any, rules: Sequence[dict[str, Any]]) -> Iterator[Failure]:
    """The failing rules, numbered from 1."""
    for number, rule in enumerate(rules, start=1):
        failed = _evaluate_one(report, rule, number)
        if failed is not None:
            yield failed


def evaluate(report: Any, rules: Sequence[dict[str, Any]]) -> list[str]:
    """Every failure message (empty: the report passes every rule)."""
    return [str(f) for f in failures(report, rules)]
