"""``python -m subcontractor run | check-config | list-plugins`` (foreman.md §8.1)."""

from __future__ import annotations

import argparse
import gc
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

import anyio

from subcontractor import __version__, logs
from subcontractor.agent import Agent
from subcontractor.errors import ConfigError
from subcontractor.plugin import Plugin
from subcontractor.registry import PluginClass, build_plugins, discover
from subcontractor.settings import Settings, load_settings

EXIT_CONFIG = 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the process exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "list-plugins":
            return list_plugins(discover(), sys.stdout)
        settings, plugins = load(Path(args.config))
        if args.command == "check-config":
            return check_config(Path(args.config), settings, plugins, sys.stdout)
        return run(settings, plugins)
    except ConfigError as exc:
        for key, reason in exc.problems:
            print(f"subcontractor: config error: {key}: {reason}", file=sys.stderr)
        return EXIT_CONFIG


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="subcontractor", description="Contractor's agent.")
    parser.add_argument("--version", action="version", version=__version__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, text in (("run", "run the agent"), ("check-config", "validate a configuration")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--config", required=True, help="the agent's TOML file")
    commands.add_parser("list-plugins", help="installed plugins and their functions")
    return parser


def load(path: Path) -> tuple[Settings, dict[str, Plugin[Any]]]:
    """Load and validate the configuration and build its plugins.

    Raises:
        ConfigError: Anything wrong, each key named.
    """
    settings = load_settings(path)
    return settings, build_plugins(settings, discover())


def check_config(
    path: Path, settings: Settings, plugins: dict[str, Plugin[Any]], out: TextIO
) -> int:
    """Check plugin prerequisites and print a summary without secrets."""
    problems = [problem for plugin in plugins.values() for problem in plugin.validate()]
    if problems:
        raise ConfigError(problems)
    foreman, agent = settings.foreman, settings.agent
    print(f"config OK: {path}", file=out)
    print(
        f"foreman: {foreman.url} (token set, ***; proxy {foreman.proxy or 'from environment'})",
        file=out,
    )
    print(
        f"agent: {agent.name}; sites {', '.join(agent.sites)}; state_dir {agent.state_dir}",
        file=out,
    )
    if settings.credentials is not None:
        print(f"credentials: vault at {settings.credentials.address} (token set, ***)", file=out)
    for name, plugin in sorted(plugins.items()):
        functions = ", ".join(sorted(plugin.functions()))
        print(
            f"plugin {name} {plugin.version}: concurrency {plugin.config.concurrency}; {functions}",
            file=out,
        )
    return 0


def list_plugins(available: dict[str, PluginClass], out: TextIO) -> int:
    """Print each installed plugin and its functions (``*`` marks non-idempotent ones)."""
    for name, cls in sorted(available.items()):
        try:
            table = cls(cls.config_model()).functions()
        except Exception as exc:  # a plugin that needs config still gets listed
            print(f"{name} {cls.version}: (functions need configuration: {exc})", file=out)
            continue
        names = [f"{fn}{'' if table[fn].idempotent else '*'}" for fn in sorted(table)]
        print(f"{name} {cls.version}: {' '.join(names)}", file=out)
    return 0


def run(settings: Settings, plugins: dict[str, Plugin[Any]]) -> int:
    """Run the agent until SIGTERM or SIGINT; a second signal exits at once."""
    agent = Agent(settings, plugins)
    logs.configure(settings.agent.log_level, agent.credentials.secrets)
    # What exists now (modules, classes, validators: some 45,000 objects) lives as long as
    # the process. Frozen, the collector's full passes skip it: they took about a fifth of
    # the agent's CPU while tasks flowed. Each task allocates a few hundred objects, nearly
    # all freed by reference counting; young collections every 5,000 allocations, not 700,
    # cost half as much and promote fewer tasks still in flight.
    gc.collect()
    gc.freeze()
    gc.set_threshold(5000)
    anyio.run(_serve, agent)
    return 0


async def _serve(agent: Agent) -> None:
    async with anyio.create_task_group() as group:
        group.start_soon(_watch_signals, agent)
        await agent.run()
        group.cancel_scope.cancel()


async def _watch_signals(agent: Agent) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        async for _ in signals:
            if agent.runtime is not None and agent.runtime.stop.is_set():
                os._exit(1)  # second signal: leave now; foreman reconciles (§8.6)
            agent.request_stop()
