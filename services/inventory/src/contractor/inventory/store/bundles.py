"""Blueprint bundle import (§14): the reference's TOML resource files, in one transaction.

Every item is applied inside a savepoint so that one bad item does not hide the next one's
errors; any error rolls the whole import back (422 ``invalid-bundle``).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from typing import Any

import toml
from contractor.inventory import orm
from contractor.inventory.errors import ScriptInvalid
from contractor.inventory.foundation_types import REGISTRY
from contractor.inventory.store import blueprints, events, pxes, scripts
from contractor.servicekit.errors import ServiceError
from sqlalchemy.ext.asyncio import AsyncSession

ALIASES = {"manualcomplex": "manual", "test": "sim"}
LEGACY_WARNING = "legacy-toml-syntax"
KNOWN_KEYS = {
    "script": {"description", "script"},
    "foundation": {
        "description",
        "parents",
        "scripts",
        "foundation_types",
        "physical_interface_names",
        "config_values",
        "template",
        "hardware_rules",
    },
    "structure": {"description", "parents", "scripts", "foundation_blueprints", "config_values"},
    "pxe": {"boot_script", "template", "description"},
}


class BundleInvalid(ServiceError):
    """The bundle has errors; nothing was stored."""

    status = 422
    type_slug = "invalid-bundle"
    title = "The bundle is not valid"


@dataclass
class Outcome:
    """What an import did (or would do, for a dry run)."""

    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Options:
    """Query options of ``POST /blueprints/import``."""

    mode: str = "both"
    type: str = "all"
    name: str | None = None
    filename: str | None = None


def parse(text: str, options: Options) -> tuple[dict[str, Any], list[str]]:
    """Parse TOML 1.0, falling back to the reference's TOML 0.10 dialect (§14).

    Returns:
        The parsed bundle and the warnings parsing gave (``legacy-toml-syntax`` when only
        the older dialect, which accepts bare keys such as ``>repo_list``, could read it).

    Raises:
        BundleInvalid: Neither dialect reads the file; the TOML 1.0 error, with its position.
    """
    try:
        return tomllib.loads(text), []
    except tomllib.TOMLDecodeError as exc:
        legacy = _parse_legacy(text)
        if legacy is not None:
            first = str(exc).split(" (at line")[0]
            return legacy, [
                f"{LEGACY_WARNING}: the file is not TOML 1.0 ({first}), "
                "read with the older TOML 0.10 dialect"
            ]
        where = re.search(r"at line (\d+), column (\d+)", str(exc))
        line, column = (int(where[1]), int(where[2])) if where else (None, None)
        raise BundleInvalid(
            "the file is not valid TOML",
            errors=[
                {
                    "file": options.filename,
                    "table": None,
                    "line": line,
                    "column": column,
                    "message": str(exc).split(" (at line")[0],
                }
            ],
        ) from exc


def _parse_legacy(text: str) -> dict[str, Any] | None:
    """The file read as TOML 0.10 (the ``toml`` package), or ``None`` if that fails too."""
    try:
        parsed = toml.loads(text)
    except Exception:  # the 0.10 parser raises more than TomlDecodeError on odd input
        return None
    plain: dict[str, Any] = _plain(parsed)
    return plain


def _plain(value: Any) -> Any:
    """Plain dicts and lists (the 0.10 parser returns its own dict subclasses)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _type_name(given: str) -> str | None:
    lowered = given.lower()
    lowered = ALIASES.get(lowered, lowered)
    for name, ftype in REGISTRY.items():
        if lowered in (name, ftype.display_name.lower()):
            return name
    return None


def _parents_first(items: dict[str, dict[str, Any]]) -> list[str]:
    ordered: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in ordered or name in visiting:
            return
        visiting.add(name)
        for parent in items[name].get("parents") or []:
            if parent in items:
                visit(parent)
        visiting.discard(name)
        ordered.append(name)

    for name in items:
        visit(name)
    return ordered


async def run(
    session: AsyncSession,
    data: dict[str, Any],
    options: Options,
    actor: dict[str, Any],
    warnings: list[str] | None = None,
) -> Outcome:
    """Apply a parsed bundle; raise :class:`BundleInvalid` listing every error.

    ``warnings`` (from `parse`) come first in the answer's warnings.
    """
    outcome = Outcome(warnings=list(warnings or []))
    for key in data:
        if key not in ("sflinks", *KNOWN_KEYS):
            outcome.warnings.append(f"unknown entry {key} ignored")
    for section in ("script", "foundation", "structure", "pxe"):
        if options.type not in ("all", section):
            continue
        items = {n: v for n, v in (data.get(section) or {}).items() if options.name in (None, n)}
        order = _parents_first(items) if section in ("foundation", "structure") else list(items)
        for name in order:
            await _item(session, section, name, items[name], options, actor, outcome)
    if options.type in ("all", "links"):
        await _links(session, data.get("sflinks") or [], actor, outcome)
    if outcome.errors:
        raise BundleInvalid(f"{len(outcome.errors)} error(s) in the bundle", errors=outcome.errors)
    return outcome


async def _item(
    session: AsyncSession,
    section: str,
    name: str,
    raw: dict[str, Any],
    options: Options,
    actor: dict[str, Any],
    outcome: Outcome,
) -> None:
    table = f"{section}.{name}"
    for key in sorted(set(raw) - KNOWN_KEYS[section]):
        outcome.warnings.append(f"{table}: unknown key {key} ignored")
    existing = await (
        session.get(orm.Script, name)
        if section == "script"
        else session.get(orm.Pxe, name)
        if section == "pxe"
        else session.get(orm.Blueprint, name)
    )
    if (options.mode == "add" and existing is not None) or (
        options.mode == "update" and existing is None
    ):
        outcome.skipped.append(f"{section}:{name}")
        return
    try:
        async with session.begin_nested():
            await _apply(session, section, name, raw, existing, actor, outcome)
    except ScriptInvalid as exc:
        for finding in exc.extra.get("errors", []):
            outcome.errors.append(
                {
                    "file": options.filename,
                    "table": table,
                    "line": finding.get("line"),
                    "column": finding.get("column"),
                    "message": finding.get("message"),
                }
            )
    except (ServiceError, ValueError, KeyError, TypeError) as exc:
        detail = exc.detail if isinstance(exc, ServiceError) else str(exc)
        outcome.errors.append(
            {
                "file": options.filename,
                "table": table,
                "line": None,
                "column": None,
                "message": detail,
            }
        )


async def _apply(
    session: AsyncSession,
    section: str,
    name: str,
    raw: dict[str, Any],
    existing: Any,
    actor: dict[str, Any],
    outcome: Outcome,
) -> None:
    label = f"{section}:{name}"
    if section == "script":
        values = {"description": raw.get("description") or name, "body": str(raw.get("script", ""))}
        if existing is None:
            await scripts.create(session, {"name": name, **values})
        elif not await scripts.update(session, existing, values, None):
            return
    elif section == "pxe":
        values = {k: raw[k] for k in ("boot_script", "template", "description") if k in raw}
        if existing is None:
            await pxes.create(session, {"name": name, "boot_script": "", "template": "", **values})
        elif not await pxes.update(session, existing, values, None):
            return
    else:
        values = _blueprint_values(section, raw)
        if existing is None:
            defaults: dict[str, Any] = {
                "parents": [],
                "scripts": {},
                "config_values": {},
                "foundation_types": [],
                "physical_interface_names": [],
                "hardware_rules": [],
                "foundation_blueprints": [],
            }
            await blueprints.create(session, section, {**defaults, "name": name, **values})
        else:
            if existing.kind != section:
                raise ValueError(f"{name} is a {existing.kind} blueprint")
            if not await blueprints.update(session, existing, values, None):
                return
    kind = "blueprint" if section in ("foundation", "structure") else section
    change = "created" if existing is None else "updated"
    data = {"name": name, "changed": sorted(raw)}
    if kind == "blueprint":
        data["kind"] = section
    await events.append(
        session, f"{kind}.{change}", actor=actor, subject=(kind, name), site=None, data=data
    )
    (outcome.created if existing is None else outcome.updated).append(label)


def _blueprint_values(section: str, raw: dict[str, Any]) -> dict[str, Any]:
    values: dict[str, Any] = {"description": raw.get("description") or "imported"}
    for key in (
        "parents",
        "scripts",
        "config_values",
        "physical_interface_names",
        "foundation_blueprints",
    ):
        if key in raw and key in KNOWN_KEYS[section]:
            values[key] = raw[key]
    if section == "foundation":
        if "foundation_types" in raw:
            names = [_type_name(str(t)) for t in raw["foundation_types"]]
            unknown = [
                str(t) for t, n in zip(raw["foundation_types"], names, strict=True) if n is None
            ]
            if unknown:
                raise ValueError(f"unknown foundation type {unknown[0]}")
            values["foundation_types"] = names
        rules = list(raw.get("hardware_rules") or [])
        rules += [
            {"path": path, "regex": regex} for path, regex in (raw.get("template") or {}).items()
        ]
        if rules:
            values["hardware_rules"] = rules
    return values


async def _links(
    session: AsyncSession, pairs: list[Any], actor: dict[str, Any], outcome: Outcome
) -> None:
    for pair in pairs:
        structure_name, foundation_name = [*list(pair), None, None][:2]
        sb = await session.get(orm.Blueprint, str(structure_name))
        fb = await session.get(orm.Blueprint, str(foundation_name))
        if sb is None or fb is None or sb.kind != "structure" or fb.kind != "foundation":
            outcome.warnings.append(
                f"sflinks: [{structure_name}, {foundation_name}] names an unknown blueprint"
            )
            continue
        if fb.name in sb.foundation_blueprints:
            continue
        await blueprints.update(
            session, sb, {"foundation_blueprints": [*sb.foundation_blueprints, fb.name]}, None
        )
        await events.append(
            session,
            "blueprint.updated",
            actor=actor,
            subject=("blueprint", sb.name),
            site=None,
            data={"kind": "structure", "name": sb.name, "changed": ["foundation_blueprints"]},
        )
        label = f"structure:{sb.name}"
        if label not in outcome.created and label not in outcome.updated:
            outcome.updated.append(label)
