"""``python -m contractor.local run``: the whole system on one machine."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

from contractor.local.run import main


def cli(argv: list[str] | None = None) -> int:
    """Parse the command line and run."""
    parser = argparse.ArgumentParser(prog="python -m contractor.local")
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="start everything and build the example")
    run.add_argument("--var", type=Path, default=Path("var"), help="state folder (default ./var)")
    run.add_argument("--inventory-port", type=int, default=8001)
    run.add_argument("--foreman-port", type=int, default=8002)
    run.add_argument("--structures", type=int, default=3, help="web servers to build")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return main(args.var, args.inventory_port, args.foreman_port, args.structures)


raise SystemExit(cli())
