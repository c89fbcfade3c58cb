"""Rendering config templates until they settle (inventory spec §6.5).

Config values are user-supplied Jinja2 templates, so they render only in an
``ImmutableSandboxedEnvironment``. The language renders undefined names as empty, so the
environment keeps Jinja's default ``Undefined`` (not ``StrictUndefined``, unlike our own
templates): a missing name or a missing key of a defined object renders as ``""``, while
attribute or item access on an undefined name fails.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from typing import Any, Final

from contractor.inventory.config.errors import ConfigRenderError
from jinja2 import Template, TemplateError, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

DEFAULT_MAX_ROUNDS: Final = 16
"""Default of ``INVENTORY_RENDER_MAX_ROUNDS``."""


def _json_default(value: object) -> object:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Undefined):
        return ""
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def config_tojson(value: Any, indent: int | None = None) -> str:
    """The ``tojson`` filter: sorted keys, ISO 8601 datetimes, ``Undefined`` as ``""``."""
    return json.dumps(value, sort_keys=True, indent=indent, default=_json_default)


def build_environment() -> ImmutableSandboxedEnvironment:
    """Build the sandboxed environment user config templates (and PXE templates) use.

    Returns:
        An immutable sandbox with the default ``Undefined``, no autoescape, trailing
        newlines kept (a value without template syntax renders to itself) and the
        config ``tojson`` filter.
    """
    env = ImmutableSandboxedEnvironment(autoescape=False, keep_trailing_newline=True)
    env.filters["tojson"] = config_tojson
    env.policies["json.dumps_function"] = config_tojson
    return env


TEMPLATE_CACHE_SIZE = 10_000
"""Compiled templates a renderer keeps (by source text) before starting afresh."""


@dataclass
class ConfigRenderer:
    """Renders config maps in one sandboxed environment, built once.

    Attributes:
        max_rounds: The most rounds a map may take to settle (``INVENTORY_RENDER_MAX_ROUNDS``).
        environment: The sandboxed Jinja environment.
    """

    max_rounds: int = DEFAULT_MAX_ROUNDS
    environment: ImmutableSandboxedEnvironment = field(default_factory=build_environment)
    _templates: dict[str, Template] = field(default_factory=dict, init=False, repr=False)

    def render(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Render every string of ``values`` until a round changes nothing.

        In each round every string at any depth (object values and list items, never
        keys) renders as its own template with the previous round's whole top-level map
        as context; other values are left alone. ``values`` is not changed.

        Args:
            values: A merged config map.

        Returns:
            A new, rendered map.

        Raises:
            ConfigRenderError: A template fails to parse or render (naming its key path),
                or the map still changes in round ``max_rounds`` (naming the values that
                did).
        """
        # No deep copy: every round builds new dicts and lists (and never changes the old
        # ones), so the result shares no container with ``values``.
        current: dict[str, Any] = dict(values)
        templates = self._templates
        if len(templates) > TEMPLATE_CACHE_SIZE:
            templates.clear()
        changed: list[str] = []
        for _ in range(self.max_rounds):
            rendered, changed = _Round(self.environment, templates, current).run()
            if not changed:
                return rendered
            current = rendered
        raise ConfigRenderError(
            f"still changing after {self.max_rounds} rounds ({', '.join(changed)})",
            path=changed[0],
        )

    def render_text(self, text: str, context: Mapping[str, Any], *, name: str) -> str:
        """Render one template (a PXE boot script or template) once against ``context``.

        Args:
            text: The template source.
            context: The rendered config of the target.
            name: What the template is (``"pxe ubuntu template"``), for errors.

        Returns:
            The rendered text.

        Raises:
            ConfigRenderError: The template fails to parse or render.
        """
        return _Round(self.environment, {}, dict(context))._string(text, name)


@dataclass
class _Round:
    """One rendering round over a snapshot of the map (the previous round's result)."""

    environment: ImmutableSandboxedEnvironment
    templates: dict[str, Template]
    context: dict[str, Any]
    changed: list[str] = field(default_factory=list)

    def run(self) -> tuple[dict[str, Any], list[str]]:
        """Render every value once; return the new map and the paths that changed."""
        rendered = {name: self._value(value, name) for name, value in self.context.items()}
        return rendered, self.changed

    def _value(self, value: Any, path: str) -> Any:
        if isinstance(value, str):
            return self._string(value, path)
        if isinstance(value, dict):
            return {k: self._value(v, f"{path}.{k}") for k, v in value.items()}
        if isinstance(value, list):
            return [self._value(item, f"{path}[{i}]") for i, item in enumerate(value)]
        return value

    def _string(self, text: str, path: str) -> str:
        if "{" not in text:  # no template syntax: renders to itself
            return text
        try:
            template = self.templates.get(text)
            if template is None:
                template = self.templates[text] = self.environment.from_string(text)
            result = template.render(self.context)
        except TemplateError as exc:
            raise ConfigRenderError(f"{type(exc).__name__}: {exc.message}", path=path) from exc
        except Exception as exc:  # a user template may fail any way Python can
            raise ConfigRenderError(f"{type(exc).__name__}: {exc}", path=path) from exc
        if result != text:
            self.changed.append(path)
        return result


@cache
def default_renderer() -> ConfigRenderer:
    """The process-wide renderer with the default number of rounds, built on first use."""
    return ConfigRenderer()


def render(values: Mapping[str, Any], *, max_rounds: int | None = None) -> dict[str, Any]:
    """Render a merged config map (spec §6.5); see `ConfigRenderer.render`.

    Args:
        values: A merged config map; it is not changed.
        max_rounds: Overrides the default of 16 rounds.

    Returns:
        A new, rendered map.

    Raises:
        ConfigRenderError: A template fails, or the map does not settle in time.
    """
    renderer = default_renderer()
    if max_rounds is not None and max_rounds != renderer.max_rounds:
        renderer = ConfigRenderer(max_rounds=max_rounds, environment=renderer.environment)
    return renderer.render(values)
