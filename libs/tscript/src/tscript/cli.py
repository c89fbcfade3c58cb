"""The ``tscript`` command: ``lint`` and ``run`` (tscript.md §14). Keep this contract stable."""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Sequence
from typing import Any

from tscript.codec import CodecError, from_json, to_json
from tscript.context import Context, RealContext, VirtualContext, from_micros, to_micros
from tscript.errors import ParseError
from tscript.lexer import RESERVED
from tscript.machine import DEFAULT_STEP_LIMIT, Interpreter
from tscript.program import compile_program

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_SLICE = 100_000


class UsageError(Exception):
    """Bad command line: exit code 2."""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``tscript`` command; returns the exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "lint":
            return lint(args.files)
        return run(args.file, args.vars, args.clock, args.max_steps)
    except UsageError as exc:
        print(f"tscript: {exc}", file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="tscript", description="Lint and run TScript files.")
    commands = parser.add_subparsers(dest="command", required=True)
    lint_cmd = commands.add_parser("lint", help="check that files parse")
    lint_cmd.add_argument("files", nargs="+", metavar="FILE")
    run_cmd = commands.add_parser("run", help="run a file with the builtin functions only")
    run_cmd.add_argument("file", metavar="FILE")
    run_cmd.add_argument("--vars", default=None, help="JSON object of variables to pre-set")
    run_cmd.add_argument("--clock", choices=("virtual", "real"), default="real")
    run_cmd.add_argument("--max-steps", type=_positive_int, default=DEFAULT_STEP_LIMIT)
    return parser


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def lint(files: Sequence[str]) -> int:
    """Parse each file; print ``FILE:LINE:COLUMN: message`` per invalid file on stderr."""
    failed = False
    for name in files:
        try:
            with open(name, "rb") as handle:
                data = handle.read()
        except OSError as exc:
            print(f"{name}:0:0: cannot read file: {exc.strerror or exc}", file=sys.stderr)
            failed = True
            continue
        try:
            compile_program(data)
        except ParseError as exc:
            print(f"{name}:{exc.line}:{exc.column}: {exc.message}", file=sys.stderr)
            failed = True
    return 1 if failed else 0


def _decode_vars(text: str | None) -> dict[str, Any]:
    if text is None:
        return {}
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise UsageError(f"--vars is not valid JSON: {exc}") from None
    if not isinstance(raw, dict):
        raise UsageError("--vars must be a JSON object")
    out: dict[str, Any] = {}
    for name, value in raw.items():
        if not _WORD.fullmatch(name) or name in RESERVED:
            raise UsageError(f"--vars: {name!r} is not a valid variable name")
        try:
            out[name] = from_json(value)
        except CodecError as exc:
            raise UsageError(f"--vars: {name}: {exc.message}") from None
    return out


def run(file: str, vars_json: str | None, clock: str, max_steps: int) -> int:
    """Run ``file`` to its end (or stop) and print the one-line JSON result."""
    variables = _decode_vars(vars_json)
    try:
        with open(file, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        raise UsageError(f"cannot read {file}: {exc.strerror or exc}") from None
    try:
        program = compile_program(data)
    except ParseError as exc:
        _emit("invalid", exc.line, exc.column, exc.message, {})
        return 1
    ctx: Context = VirtualContext() if clock == "virtual" else RealContext()
    interp = Interpreter.start(program, ctx=ctx, variables=variables, step_limit=max_steps)
    status = drive(interp, ctx)
    line, column = interp.position if interp.position and status != "done" else (None, None)
    message = interp.message if status != "done" else None
    encoded = {name: to_json(value) for name, value in interp.vars.items()}
    _emit(status, line, column, message, encoded)
    return 0 if status == "done" else 1


def drive(interp: Interpreter, ctx: Context) -> str:
    """Run slices until the job stops; waits pass on the virtual clock or really sleep."""
    while True:
        result = interp.run(_SLICE)
        if result.status == "yielded":
            continue
        if result.status != "waiting":
            return result.status
        if result.wake_at is None:
            return "error"  # only remote requests wait without a time; none can exist here
        if isinstance(ctx, VirtualContext):
            ctx.advance_to(from_micros(result.wake_at))
        else:
            time.sleep(max(0.0, (result.wake_at - to_micros(ctx.now())) / 1_000_000))


def _emit(
    status: str,
    line: int | None,
    column: int | None,
    message: str | None,
    variables: dict[str, Any],
) -> None:
    document = {
        "status": status,
        "line": line,
        "column": column,
        "message": message,
        "variables": variables,
    }
    sys.stdout.write(json.dumps(document) + "\n")


if __name__ == "__main__":
    raise SystemExit(main())
