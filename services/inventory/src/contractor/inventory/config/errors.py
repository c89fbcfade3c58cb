"""Errors raised by the configuration value language (inventory spec §6).

Both carry JSON-safe fields so the API layer can map them to problems: a
`ConfigValueError` is 422 `invalid-config`; a `ConfigRenderError` is 409 (reads) or 422
(structure config writes) `config-render-error`.
"""

from __future__ import annotations


class ConfigError(ValueError):
    """Root of the configuration value errors."""


class ConfigValueError(ConfigError):
    """An invalid key or value, or an operator that cannot apply (spec §6.2).

    Attributes:
        key: The offending top-level key, as given.
        layer: The name of the layer being merged when the error happened, if known.
        problems: Every ``(key, message)`` found, when several keys were checked at once.
    """

    def __init__(
        self,
        message: str,
        *,
        key: str,
        layer: str | None = None,
        problems: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(message if layer is None else f"{message} (layer {layer})")
        self.message = message
        self.key = key
        self.layer = layer
        self.problems = problems if problems is not None else [(key, message)]

    def in_layer(self, layer: str) -> ConfigValueError:
        """Return a copy of this error that names the layer being merged."""
        return ConfigValueError(self.message, key=self.key, layer=layer, problems=self.problems)


class ConfigRenderError(ConfigError):
    """A template that fails to parse or render, or a map that never settles (spec §6.5).

    Attributes:
        path: The key path of the failing value (``"a.b[0]"``), or ``None`` when the whole
            map failed to settle.
        reason: What went wrong, without the path.
    """

    def __init__(self, reason: str, *, path: str | None = None) -> None:
        super().__init__(reason if path is None else f"{path}: {reason}")
        self.reason = reason
        self.path = path
