"""Finding plugins by entry point and building the enabled ones from the configuration."""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

import pydantic

from subcontractor.errors import ConfigError
from subcontractor.plugin import Plugin
from subcontractor.settings import Settings, problems_of

GROUP = "subcontractor.plugins"

PluginClass = type[Plugin[Any]]


def discover() -> dict[str, PluginClass]:
    """Every installed plugin class, by entry-point name.

    Raises:
        ConfigError: An entry point does not load or names something that is not a plugin.
    """
    found: dict[str, PluginClass] = {}
    problems: list[tuple[str, str]] = []
    for point in entry_points(group=GROUP):
        try:
            cls = point.load()
        except Exception as exc:  # a broken distribution must not hide the others' problems
            problems.append((f"plugins.{point.name}", f"entry point does not load: {exc!r}"))
            continue
        if not (isinstance(cls, type) and issubclass(cls, Plugin)):
            problems.append((f"plugins.{point.name}", f"{point.value} is not a Plugin subclass"))
            continue
        found[point.name] = cls
    if problems:
        raise ConfigError(problems)
    return found


def build_plugins(settings: Settings, available: dict[str, PluginClass]) -> dict[str, Plugin[Any]]:
    """Instantiate each plugin whose table is present and not disabled.

    Raises:
        ConfigError: Unknown plugin names, bad plugin keys, or no plugin enabled.
    """
    plugins: dict[str, Plugin[Any]] = {}
    problems: list[tuple[str, str]] = []
    for name, table in settings.plugins.items():
        cls = available.get(name)
        if cls is None:
            installed = ", ".join(sorted(available)) or "none"
            problems.append(
                (f"plugins.{name}", f"no installed plugin of this name (installed: {installed})")
            )
            continue
        try:
            config = cls.config_model.model_validate(table)
        except pydantic.ValidationError as exc:
            problems.extend(problems_of(exc, ("plugins", name)))
            continue
        if settings.config_dir is not None:
            config = config.anchored(settings.config_dir)
        if not config.enabled:
            continue
        try:
            plugins[name] = cls(config)
        except ConfigError as exc:  # e.g. a file the plugin must open
            problems.extend(exc.problems)
    if not problems and not plugins:
        problems.append(("plugins", "no plugin is enabled; add a [plugins.<name>] table"))
    if problems:
        raise ConfigError(problems)
    return plugins
