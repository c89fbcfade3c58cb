"""Blueprint routes (§3.2): ``/blueprints/foundation`` and ``/blueprints/structure``."""

# No ``from __future__ import annotations``: the routes are built per kind inside a function,
# and FastAPI must see the real body model classes, not strings naming local variables.

import hashlib
from typing import Annotated, Any, Literal

from contractor.inventory import orm, store
from contractor.inventory.deps import Admin, IfMatch, Reader, SessionDep
from contractor.inventory.errors import ScriptNotFound
from contractor.inventory.masking import redact
from contractor.inventory.schemas.blueprints import (
    BlueprintRead,
    FoundationBlueprintCreate,
    FoundationBlueprintUpdate,
    ResolvedScript,
    StructureBlueprintCreate,
    StructureBlueprintUpdate,
)
from contractor.servicekit.auth import Principal, Role
from contractor.servicekit.pagination import Limit, Page
from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

router = APIRouter(prefix="/blueprints", tags=["blueprints"])

FOUNDATION_ONLY = ("foundation_types", "physical_interface_names", "hardware_rules")
STRUCTURE_ONLY = ("foundation_blueprints",)
EMPTY_SLOTS = ("create", "destroy")


def render(blueprint: orm.Blueprint, caller: Principal) -> BlueprintRead:
    """A blueprint as ``caller`` may see it."""
    read = BlueprintRead.model_validate(blueprint)
    hidden = STRUCTURE_ONLY if blueprint.kind == "foundation" else FOUNDATION_ONLY
    read = read.model_copy(update=dict.fromkeys(hidden))
    if caller.role not in (Role.ADMIN, Role.SERVICE):
        read = read.model_copy(update={"config_values": redact(read.config_values)})
    return read


def _data(blueprint: orm.Blueprint, changed: list[str]) -> dict[str, Any]:
    return {"kind": blueprint.kind, "name": blueprint.name, "changed": changed}


def _add_kind_routes(
    kind: Literal["foundation", "structure"],
    create_model: type[BaseModel],
    update_model: type[BaseModel],
) -> None:
    @router.get(f"/{kind}", name=f"list_{kind}_blueprints")
    async def list_blueprints(
        session: SessionDep,
        caller: Reader,
        ancestor: str | None = None,
        limit: Annotated[Limit, Query()] = 50,
        cursor: str | None = None,
    ) -> Page[BlueprintRead]:
        """List blueprints of this kind by name."""
        rows, next_cursor = await store.blueprints.list_page(
            session, kind, ancestor=ancestor, limit=limit, cursor=cursor
        )
        return Page(items=[render(r, caller) for r in rows], next_cursor=next_cursor)

    @router.post(f"/{kind}", status_code=201, name=f"create_{kind}_blueprint")
    async def create_blueprint(
        body: create_model,  # type: ignore[valid-type]  # a class chosen per kind
        session: SessionDep,
        caller: Admin,
        response: Response,
    ) -> BlueprintRead:
        """Create a blueprint of this kind."""
        model: BaseModel = body
        async with session.begin():
            blueprint = await store.blueprints.create(session, kind, model.model_dump())
            await store.events.append(
                session,
                "blueprint.created",
                actor=caller.actor(),
                subject=("blueprint", blueprint.name),
                site=None,
                data=_data(blueprint, sorted(model.model_fields_set)),
            )
        response.headers["Location"] = f"/api/v1/blueprints/{kind}/{blueprint.name}"
        response.headers["ETag"] = f'"{blueprint.version}"'
        return render(blueprint, caller)

    @router.get(f"/{kind}/{{name}}", name=f"read_{kind}_blueprint")
    async def read_blueprint(
        name: str, session: SessionDep, caller: Reader, response: Response
    ) -> BlueprintRead:
        """Read one blueprint."""
        blueprint = await store.blueprints.get(session, kind, name)
        response.headers["ETag"] = f'"{blueprint.version}"'
        return render(blueprint, caller)

    @router.patch(f"/{kind}/{{name}}", name=f"update_{kind}_blueprint")
    async def update_blueprint(
        name: str,
        body: update_model,  # type: ignore[valid-type]  # a class chosen per kind
        session: SessionDep,
        caller: Admin,
        expected: IfMatch,
        response: Response,
    ) -> BlueprintRead:
        """Change a blueprint."""
        model: BaseModel = body
        async with session.begin():
            blueprint = await store.blueprints.get(session, kind, name)
            old_values = blueprint.config_values
            changes = model.model_dump(include=model.model_fields_set)
            changed = await store.blueprints.update(session, blueprint, changes, expected)
            if changed:
                await store.events.append(
                    session,
                    "blueprint.updated",
                    actor=caller.actor(),
                    subject=("blueprint", name),
                    site=None,
                    data=_data(blueprint, changed),
                )
            if "config_values" in changed:
                await store.configs.announce(
                    session,
                    ("blueprint", name),
                    site=None,
                    keys=store.configs.changed_keys(old_values, blueprint.config_values),
                    dns_zones=await store.configs.blueprint_zones(session, name),
                    actor=caller.actor(),
                )
        response.headers["ETag"] = f'"{blueprint.version}"'
        return render(blueprint, caller)

    @router.delete(f"/{kind}/{{name}}", status_code=204, name=f"delete_{kind}_blueprint")
    async def delete_blueprint(
        name: str, session: SessionDep, caller: Admin, expected: IfMatch
    ) -> None:
        """Delete a blueprint nothing uses."""
        async with session.begin():
            blueprint = await store.blueprints.get(session, kind, name)
            await store.blueprints.delete(session, blueprint, expected)
            await store.events.append(
                session,
                "blueprint.deleted",
                actor=caller.actor(),
                subject=("blueprint", name),
                site=None,
                data=_data(blueprint, []),
            )


_add_kind_routes("foundation", FoundationBlueprintCreate, FoundationBlueprintUpdate)
_add_kind_routes("structure", StructureBlueprintCreate, StructureBlueprintUpdate)


@router.get("/{kind}/{name}/scripts/{slot}")
async def resolve_script(
    kind: Literal["foundation", "structure"],
    name: str,
    slot: str,
    session: SessionDep,
    _: Reader,
) -> ResolvedScript:
    """Resolve a script slot through the blueprint's parents."""
    await store.blueprints.get(session, kind, name)
    found = store.blueprint_graph.resolve_script(await store.blueprints.graph(session), name, slot)
    if found is None:
        if slot not in EMPTY_SLOTS:
            raise ScriptNotFound(f"no script fills slot {slot} of blueprint {name}")
        return ResolvedScript(
            slot=slot,
            name=None,
            from_blueprint=None,
            body="",
            sha256=hashlib.sha256(b"").hexdigest(),
        )
    from_blueprint, script_name = found
    script = await store.scripts.get(session, script_name)
    return ResolvedScript(
        slot=slot,
        name=script.name,
        from_blueprint=from_blueprint,
        body=script.body,
        sha256=hashlib.sha256(script.body.encode()).hexdigest(),
    )


@router.post("/import")
async def import_bundle(
    request: Request,
    session: SessionDep,
    caller: Admin,
    mode: Literal["both", "add", "update"] = "both",
    type: Literal["all", "script", "foundation", "structure", "pxe", "links"] = "all",
    name: str | None = None,
    dry_run: bool = False,
    filename: str | None = None,
) -> dict[str, Any]:
    """Import a TOML blueprint bundle in one transaction (all errors reported at once)."""
    options = store.bundles.Options(mode=mode, type=type, name=name, filename=filename)
    try:
        text = (await request.body()).decode()
    except UnicodeDecodeError as exc:
        raise store.bundles.BundleInvalid("the file is not UTF-8") from exc
    data, warnings = store.bundles.parse(text, options)
    await session.begin()
    try:
        outcome = await store.bundles.run(session, data, options, caller.actor(), warnings)
        if dry_run:
            await session.rollback()
        else:
            await session.commit()
    except BaseException:
        await session.rollback()
        raise
    return {
        "created": outcome.created,
        "updated": outcome.updated,
        "skipped": outcome.skipped,
        "warnings": outcome.warnings,
        "dry_run": dry_run,
    }
