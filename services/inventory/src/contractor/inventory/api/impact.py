"""Impact queries (§9)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from contractor.inventory import orm, store
from contractor.inventory.deps import INT64_MAX, Reader, SessionDep
from contractor.inventory.errors import ResourceNotFound
from fastapi import APIRouter, Query

router = APIRouter(tags=["impact"])
RootKind = Literal["site", "complex", "foundation", "structure", "dependency"]
TABLES: dict[str, Any] = {
    "site": orm.Site,
    "complex": orm.Complex,
    "foundation": orm.Foundation,
    "structure": orm.Structure,
    "dependency": orm.Dependency,
}


@router.get("/impact/{kind}/{key}")
async def read_impact(
    kind: RootKind,
    key: str,
    session: SessionDep,
    _: Reader,
    max_depth: Annotated[int, Query(ge=1, le=64)] = 64,
    kinds: str | None = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 1000,
) -> dict[str, Any]:
    """List everything that depends on an object, nearest first."""
    numeric = key.isascii() and key.isdigit() and int(key) <= INT64_MAX
    lookup: Any = int(key) if kind in ("structure", "dependency") and numeric else key
    if (kind in ("structure", "dependency") and not numeric) or await session.get(
        TABLES[kind], lookup
    ) is None:
        raise ResourceNotFound(kind, key)
    wanted = {k.strip() for k in kinds.split(",")} if kinds else set(store.impact.KINDS)
    found = [
        row
        for row in await store.impact.walk(session, kind, key, max_depth=max_depth)
        if row[0] in wanted
    ]
    counts = {k: sum(1 for row in found if row[0] == k) for k in store.impact.KINDS}
    shown = found[:limit]
    about = await store.impact.describe_many(session, [(k, key) for k, key, _, _ in shown])
    items = [
        {"kind": k, "key": key, "depth": depth, "via": via, **about.get((k, key), {})}
        for k, key, depth, via in shown
    ]
    return {
        "root": {"kind": kind, "key": key},
        "counts": counts,
        "items": items,
        "truncated": len(found) > limit,
    }
