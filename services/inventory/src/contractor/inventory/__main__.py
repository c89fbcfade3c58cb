"""``python -m contractor.inventory migrate | serve | create-token``."""

from __future__ import annotations

import argparse
import asyncio
import sys

from contractor.inventory import migrate, rotation, store
from contractor.inventory.encryption import secret_box
from contractor.inventory.settings import Settings
from contractor.servicekit.auth import Role
from contractor.servicekit.db import create_engine, create_session_factory
from contractor.servicekit.process import tune_gc


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m contractor.inventory")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="migrate the database to the current schema")
    commands.add_parser("rotate-secrets", help="re-encrypt secrets with the first key")
    serve = commands.add_parser("serve", help="run the HTTP server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8001)
    token = commands.add_parser("create-token", help="print a new API token")
    token.add_argument("--role", required=True, choices=[r.value for r in Role])
    token.add_argument("--name", default=None)
    token.add_argument("--sites", default=None, help="comma-separated (agent tokens)")
    return parser


async def _create_token(settings: Settings, role: Role, name: str, sites: list[str] | None) -> str:
    engine = create_engine(settings.database_url)
    try:
        await migrate.ensure_current(engine)
        async with create_session_factory(engine)() as session, session.begin():
            token, presented = await store.tokens.issue(
                session, name=name, role=role, sites=sites, expires_at=None, created_by="cli"
            )
            await store.events.append(
                session,
                "token.created",
                actor={"kind": "cli", "name": "cli", "role": None},
                subject=("token", token.id),
                site=None,
                data=store.tokens.event_data(token),
            )
        return presented
    finally:
        await engine.dispose()


async def _rotate(settings: Settings) -> int:
    engine = create_engine(settings.database_url)
    try:
        await migrate.ensure_current(engine)
        async with create_session_factory(engine)() as session, session.begin():
            return await rotation.rotate_all(session, secret_box(settings))
    finally:
        await engine.dispose()


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the exit status."""
    args = _parser().parse_args(argv)
    settings = Settings()
    if args.command == "migrate":
        asyncio.run(migrate.upgrade(settings.database_url))
        print("inventory database migrated", file=sys.stderr)
    elif args.command == "rotate-secrets":
        print(f"re-encrypted {asyncio.run(_rotate(settings))} secrets", file=sys.stderr)
    elif args.command == "serve":
        import uvicorn
        from contractor.inventory.main import create_app

        # Long-polls (events feed, agent polls) would hold a graceful shutdown for up to 30 s.
        app = create_app(settings)
        tune_gc()
        uvicorn.run(app, host=args.host, port=args.port, timeout_graceful_shutdown=3)
    else:
        sites = [s for s in (args.sites or "").split(",") if s] or None
        role = Role(args.role)
        print(asyncio.run(_create_token(settings, role, args.name or role.value, sites)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
