"""Saving and loading the complete execution state as canonical, versioned JSON (§13).

Layout of version 1 (besides the envelope ``format`` / ``version`` / ``program``)::

    status, message, position [line, column] | null, stop {cause, …} | null,
    steps, limit, allowance           step counters (limit is absolute, allowance is N)
    started_at, wake_at               RFC 3339 times (wake_at may be null)
    vars                              {name: value}            values as in §14.3, order-kept
    frames                            [[nid, pc, [values], extra | null], …]   outermost first

``nid`` is the node's pre-order number in the parse tree of the source. ``pc`` and ``extra``
mean what :mod:`tscript.handlers` and :mod:`tscript.calls` say for the node's type; times in
``extra`` (``start``, ``deadline``, ``wake``) are RFC 3339 strings. A value in a frame that is
the very list or map held by a variable is written ``{"$ref": [name, key, …]}`` so that in-place
builtins keep acting on the variable after a load.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Final

import orjson

from tscript import syntax
from tscript.codec import CodecError, from_state_json, to_state_json
from tscript.context import Context, RealContext, format_time, parse_time
from tscript.errors import StateError
from tscript.machine import Frame, Interpreter
from tscript.plugins import Registry
from tscript.program import Program, compile_program, source_sha256
from tscript.values import Value

FORMAT: Final = "tscript-state"
VERSION: Final = 1
#: version N -> function upgrading a plain dict of version N to version N + 1.
UPGRADES: Final[dict[int, Callable[[dict[str, Any]], dict[str, Any]]]] = {}
_TIME_KEYS: Final = ("start", "deadline", "wake")
#: Scalars that are their own JSON encoding (floats too: JSON keeps them floats).
_PLAIN: Final = frozenset({int, str, bool, float, type(None)})


def dumps(document: Any) -> str:
    """Canonical JSON: sorted keys, no insignificant whitespace, UTF-8 text.

    orjson writes it several times faster than the standard library. A document it cannot
    write (an integer beyond 64 bits) is written by :mod:`json` with ``"bigint": true`` added,
    which tells :func:`loads` to read it with :mod:`json` too (orjson would read such integers
    as floats). Either way the text depends only on the document, so
    ``save(load(text)) == text`` holds.
    """
    try:
        return orjson.dumps(document, option=orjson.OPT_SORT_KEYS).decode("utf-8")
    except TypeError:
        if isinstance(document, dict):
            document = {**document, "bigint": True}
        return json.dumps(
            document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
        )


def loads(text: str | bytes) -> Any:
    """Parse saved-state JSON exactly (integers of any size stay integers)."""
    document = orjson.loads(text)
    if isinstance(document, dict) and document.get("bigint") is True:
        document = json.loads(text)
        del document["bigint"]
    return document


def save(m: Interpreter, include_source: bool = True) -> str:
    """The job's complete state as canonical JSON text."""
    program: dict[str, Any] = {"sha256": m.program.sha256}
    if include_source:
        program["source"] = m.program.source
    document = {
        "format": FORMAT,
        "version": VERSION,
        "program": program,
        "status": m.status,
        "message": m.message,
        "position": list(m.position) if m.position else None,
        "stop": m.stop,
        "steps": m.steps,
        "limit": m.limit,
        "allowance": m.allowance,
        "started_at": format_time(m.started_at),
        "wake_at": format_time(m.wake_at) if m.wake_at is not None else None,
        "vars": {
            name: value if value.__class__ in _PLAIN else to_state_json(value)
            for name, value in m.vars.items()
        },
        "frames": _save_frames(m),
    }
    return dumps(document)


def _save_frames(m: Interpreter) -> list[Any]:
    refs: dict[int, list[Any]] | None = None
    out: list[Any] = []
    for frame in m.frames:
        vals: list[Any] = []
        for value in frame.vals or ():
            if value.__class__ is list or value.__class__ is dict:
                if refs is None:
                    refs = _container_paths(m.vars)
                path = refs.get(id(value))
                vals.append({"$ref": path} if path is not None else to_state_json(value))
            else:
                vals.append(to_state_json(value))
        extra = frame.extra
        if extra and ("start" in extra or "deadline" in extra or "wake" in extra):
            extra = dict(extra)
            for key in _TIME_KEYS:
                if key in extra:
                    extra[key] = format_time(extra[key])
        out.append([frame.node.nid, frame.pc, vals, extra])
    return out


def _container_paths(variables: dict[str, Value]) -> dict[int, list[Any]]:
    paths: dict[int, list[Any]] = {}
    stack: list[tuple[Any, list[Any]]] = [(value, [name]) for name, value in variables.items()]
    while stack:
        value, path = stack.pop()
        if value.__class__ is list:
            paths[id(value)] = path
            stack.extend(
                (item, [*path, index])
                for index, item in enumerate(value)
                if item.__class__ is list or item.__class__ is dict
            )
        elif value.__class__ is dict:
            paths[id(value)] = path
            stack.extend(
                (item, [*path, to_state_json(key)])
                for key, item in value.items()
                if item.__class__ is list or item.__class__ is dict
            )
    return paths


def load(
    text: str | bytes,
    registry: Registry | None = None,
    ctx: Context | None = None,
    program: Program | None = None,
) -> Interpreter:
    """Rebuild a job from :func:`save` output.

    Args:
        text: The saved state.
        registry: The modules the job may call.
        ctx: Time and ids.
        program: The program, when the state was saved without its source.

    Raises:
        StateError: Unknown (newer) version, a program that does not match, or a malformed
            document. Nothing runs in that case.
    """
    try:
        document = loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise StateError(f"saved state is not JSON: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise StateError("not a tscript-state document")
    document = upgrade(document)
    program = _program(document.get("program"), program)
    interp = Interpreter(program, registry or Registry(), ctx or RealContext())
    try:
        _restore(interp, document)
    except StateError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, CodecError) as exc:
        raise StateError(f"malformed saved state: {type(exc).__name__}: {exc}") from None
    return interp


def upgrade(document: dict[str, Any]) -> dict[str, Any]:
    """Apply the version migrations in order; refuse versions this library does not know."""
    version = document.get("version")
    if not isinstance(version, int) or version < 1:
        raise StateError(f"saved state has an invalid version: {version!r}")
    if version > VERSION:
        raise StateError(
            f"saved state version {version} is newer than this tscript supports ({VERSION})"
        )
    while version < VERSION:
        document = UPGRADES[version](document)
        version += 1
        document["version"] = version
    return document


def _program(info: Any, supplied: Program | None) -> Program:
    if not isinstance(info, dict) or not isinstance(info.get("sha256"), str):
        raise StateError("saved state has no program identity")
    source = info.get("source")
    if source is not None:
        if not isinstance(source, str) or source_sha256(source) != info["sha256"]:
            raise StateError("saved state's sha256 does not match its source")
        if supplied is not None and supplied.sha256 != info["sha256"]:
            raise StateError("saved state belongs to another program")
        return supplied or compile_program(source)
    if supplied is None:
        raise StateError("saved state has no source and no program was supplied")
    if supplied.sha256 != info["sha256"]:
        raise StateError("saved state belongs to another program")
    return supplied


def _restore(m: Interpreter, doc: dict[str, Any]) -> None:
    m.status = doc["status"]
    if m.status not in ("running", "waiting", "paused", "error", "aborted", "done"):
        raise StateError(f"unknown status {m.status!r}")
    m.message = doc["message"]
    m.position = tuple(doc["position"]) if doc["position"] else None
    m.stop = doc["stop"]
    m.steps = int(doc["steps"])
    m.limit = int(doc["limit"])
    m.allowance = int(doc["allowance"])
    m.started_at = parse_time(doc["started_at"])
    m.wake_at = parse_time(doc["wake_at"]) if doc["wake_at"] is not None else None
    m.vars = {
        str(name): value if value.__class__ in _PLAIN else from_state_json(value)
        for name, value in doc["vars"].items()
    }
    nodes = m.program.nodes
    frames: list[Frame] = []
    for nid, pc, vals, extra in doc["frames"]:
        if not isinstance(nid, int) or not 0 <= nid < len(nodes) or not isinstance(pc, int):
            raise StateError(f"frame refers to no node: {nid!r}")
        if extra and ("start" in extra or "deadline" in extra or "wake" in extra):
            for key in _TIME_KEYS:
                if key in extra:
                    extra[key] = parse_time(extra[key])
        values = [_load_value(m.vars, value) for value in vals] if vals else []
        frames.append(Frame(nodes[nid], pc, values, extra))
    if frames and frames[0].node is not m.program.script:
        raise StateError("the outermost frame is not the script")
    m.frames = frames
    # Only blocks count: a pending delay() call keeps its own "deadline" in its frame too.
    m.n_deadlines = sum(
        1 for f in frames if f.node.__class__ is syntax.Block and f.extra and "deadline" in f.extra
    )


def _load_value(variables: dict[str, Value], value: Any) -> Value:
    if isinstance(value, dict) and len(value) == 1 and "$ref" in value:
        path = value["$ref"]
        target = variables[path[0]]
        for key in path[1:]:
            target = target[from_state_json(key)]
        return target
    return from_state_json(value)
