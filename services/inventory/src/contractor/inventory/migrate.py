"""Alembic, driven from code: migrate to head, and check that a database is current."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from contractor.servicekit.db import create_engine
from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

VERSION_TABLE = "inventory_alembic_version"
MIGRATE_COMMAND = "python -m contractor.inventory migrate"
SCRIPT_LOCATION = Path(__file__).with_name("migrations")


class DatabaseNotMigrated(RuntimeError):
    """The database schema is not at the code's head revision."""


def alembic_config(url: str) -> Config:
    """An Alembic configuration for inventory's migration tree (no ini file needed)."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    return config


def _run(connection: Connection, config: Config, target: str) -> None:
    config.attributes["connection"] = connection
    if target == "head":
        command.upgrade(config, "head")
    else:
        command.downgrade(config, target)


async def upgrade(url: str, target: str = "head") -> None:
    """Migrate the database at ``url`` to ``head`` (or down to ``target``, e.g. ``base``)."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run, alembic_config(url), target)
    finally:
        await engine.dispose()


def _current(connection: Connection) -> set[str]:
    context = MigrationContext.configure(connection, opts={"version_table": VERSION_TABLE})
    return set(context.get_current_heads())


async def ensure_current(engine: AsyncEngine) -> None:
    """Refuse to serve a database that is not migrated to head.

    Raises:
        DatabaseNotMigrated: The schema is missing or older (or newer) than the code.
    """
    heads = set(ScriptDirectory.from_config(alembic_config(str(engine.url))).get_heads())
    async with engine.connect() as connection:
        current = await connection.run_sync(_current)
    if current != heads:
        raise DatabaseNotMigrated(
            f"the inventory database is at revision {sorted(current) or 'none'}, the code needs "
            f"{sorted(heads)}; migrate it with: {MIGRATE_COMMAND}"
        )
