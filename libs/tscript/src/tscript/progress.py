"""Progress reporting: where a job is and how far it has come (tscript.md §12.6)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tscript import syntax

if TYPE_CHECKING:
    from tscript.machine import Frame, Interpreter


def progress(m: Interpreter) -> dict[str, Any]:
    """``{"percent": float, "message": str | None, "levels": [...]}``, outermost level first."""
    if m.status == "done":
        return {"percent": 100.0, "message": m.message, "levels": []}
    now = m.now()
    frames = m.frames
    levels = [_level(frame, frame is frames[-1], now) for frame in frames]
    levels = [level for level in levels if level is not None]
    percent = 0.0
    for level in reversed(levels):
        if level["kind"] == "block":
            percent = (
                (100.0 * level["index"] + percent) / level["count"] if level["count"] else 100.0
            )
        elif level["kind"] == "if":
            percent = (100.0 * level["branch"] + percent) / level["count"]
    if m.steps == 0:
        percent = 0.0
    return {"percent": percent, "message": m.message, "levels": levels}


def _level(frame: Frame, is_top: bool, now: int) -> dict[str, Any] | None:
    node = frame.node
    cls = node.__class__
    if cls is syntax.Script or cls is syntax.Block:
        return _block_level(frame, node, is_top, now)
    if cls is syntax.While:
        return {"kind": "while", "doing": "body" if frame.pc else "condition"}
    if cls is syntax.If:
        count = len(node.conds) + (1 if node.orelse is not None else 0)
        branch = min(frame.pc >> 1, count - 1)
        doing = "body" if frame.pc & 1 or frame.pc >= 2 * len(node.conds) else "condition"
        return {"kind": "if", "branch": branch, "count": count, "doing": doing}
    if cls is syntax.Call:
        extra = frame.extra or {}
        dispatched = bool(frame.pc == 3 and extra.get("req", {}).get("dispatched"))
        return {"kind": "call", "module": node.module, "name": node.name, "dispatched": dispatched}
    return None


def _block_level(frame: Frame, node: Any, is_top: bool, now: int) -> dict[str, Any]:
    count = len(node.body)
    index = frame.pc if is_top else frame.pc - 1
    level: dict[str, Any] = {"kind": "block", "index": max(0, min(index, count)), "count": count}
    start = (frame.extra or {}).get("start")
    elapsed = (now - start) / 1_000_000 if start is not None else 0.0
    level["elapsed"] = elapsed
    if cls_is_block(node):
        if node.description is not None:
            level["description"] = node.description
        if node.expected_time is not None:
            level["remaining"] = node.expected_time - elapsed
        if node.max_time is not None:
            level["max_time"] = node.max_time
    return level


def cls_is_block(node: Any) -> bool:
    """Whether ``node`` is a ``begin … end`` block (not the script)."""
    return node.__class__ is syntax.Block
