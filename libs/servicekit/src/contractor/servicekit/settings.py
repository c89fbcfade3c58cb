"""Settings plumbing shared by every service: a base class that refuses default secrets."""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings


class DefaultSecretError(ValueError):
    """A secret setting still holds its shipped default outside dev mode."""


class ServiceSettings(BaseSettings):
    """Base for each service's one ``Settings`` class.

    Subclasses set ``model_config = SettingsConfigDict(env_prefix="INVENTORY_")`` and list in
    ``default_secrets`` the fields whose shipped default must never reach production: start-up
    stops unless ``dev_mode`` is set explicitly.
    """

    default_secrets: ClassVar[dict[str, str]] = {}

    dev_mode: bool = Field(False, description="Allow default secrets (one-machine runs only).")

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> Self:
        if self.dev_mode:
            return self
        prefix = str(self.model_config.get("env_prefix", ""))
        for field, default in self.default_secrets.items():
            value = getattr(self, field)
            plain = value.get_secret_value() if isinstance(value, SecretStr) else value
            if plain == default:
                raise DefaultSecretError(
                    f"{prefix}{field.upper()} still has its default value; set it, or set "
                    f"{prefix}DEV_MODE=true for a one-machine run"
                )
        return self
