"""Alembic environment for foreman: async, one tree for PostgreSQL and SQLite (batch mode)."""

import asyncio

from alembic import context
from contractor.foreman.migrate import VERSION_TABLE
from contractor.foreman.orm import Base
from contractor.servicekit.db import create_engine
from sqlalchemy import Connection

config = context.config
target_metadata = Base.metadata


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        render_as_batch=True,
        compare_type=True,
        version_table=VERSION_TABLE,
        **kwargs,
    )


def do_run_migrations(connection: Connection) -> None:
    """Run the migrations on one connection."""
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    """Open an async engine and migrate through it."""
    engine = create_engine(config.get_main_option("sqlalchemy.url") or "")
    async with engine.connect() as connection:
        await connection.run_sync(do_run_migrations)
        await connection.commit()
    await engine.dispose()


if context.is_offline_mode():
    _configure(url=config.get_main_option("sqlalchemy.url"), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
elif (given := config.attributes.get("connection")) is not None:
    do_run_migrations(given)
else:
    asyncio.run(run_async_migrations())
