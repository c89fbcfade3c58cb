"""``python -m contractor.foreman migrate | serve``."""

from __future__ import annotations

import argparse
import asyncio
import sys

from contractor.foreman import migrate
from contractor.foreman.settings import Settings
from contractor.servicekit import logs
from contractor.servicekit.process import tune_gc


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m contractor.foreman")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("migrate", help="migrate the database to the current schema")
    serve = commands.add_parser("serve", help="run the HTTP server and the loops")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8002)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; return the exit status."""
    args = _parser().parse_args(argv)
    settings = Settings()
    if args.command == "migrate":
        asyncio.run(migrate.upgrade(settings.database_url))
        print("foreman database migrated", file=sys.stderr)
    else:
        import uvicorn
        from contractor.foreman.main import create_app

        logs.configure("foreman", settings.log_level, loggers=["contractor"])
        app = create_app(settings)
        tune_gc()
        # Long-polls (events feed, agent polls) would hold a graceful shutdown for up to 30 s.
        # ``log_config=None``: uvicorn keeps the JSON handlers configured above.
        uvicorn.run(
            app, host=args.host, port=args.port, timeout_graceful_shutdown=3, log_config=None
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
