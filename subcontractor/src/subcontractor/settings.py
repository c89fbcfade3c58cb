"""The agent's configuration: a TOML file, then ``SUBCONTRACTOR_<SECTION>__<KEY>`` overrides.

Loading never starts anything. ``load_settings`` reads the file, applies the environment
(each value parsed as a TOML value, foreman.md §8.2), resolves the token reference and
validates everything; any problem becomes one ``ConfigError`` naming every bad key.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import pydantic
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from subcontractor.errors import ConfigError

ENV_PREFIX = "SUBCONTRACTOR_"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ForemanSettings(_Section):
    """The ``[foreman]`` table: where foreman is and how to reach it."""

    url: str = Field(description="Base URL of foreman (the agent API is under /agent/v1).")
    token: SecretStr = Field(description="Agent token: a literal, env:NAME or file:PATH.")
    proxy: str = Field("", description="HTTP proxy URL; empty: the usual proxy variables.")
    verify_tls: bool = Field(True, description="Verify foreman's TLS certificate.")
    ca_file: Path | None = Field(None, description="CA bundle for a private CA.")
    connect_timeout_s: float = Field(10.0, gt=0, description="Connect timeout towards foreman.")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("proxy")
    @classmethod
    def _proxy_url(cls, value: str) -> str:
        if value and not value.startswith(("http://", "https://", "socks5://")):
            raise ValueError("must be empty or an http://, https:// or socks5:// URL")
        return value

    @field_validator("token")
    @classmethod
    def _token_present(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value


class AgentSettings(_Section):
    """The ``[agent]`` table: who this agent is and how it paces itself."""

    name: str = Field(min_length=1, description="Agent name; its id is stable per token and name.")
    sites: list[str] = Field(min_length=1, description="Sites this agent serves.")
    state_dir: Path = Field(Path("var/subcontractor"), description="Spool and agent identity.")
    poll_wait_s: float = Field(30.0, ge=0, le=30, description="Long-poll wait asked of foreman.")
    shutdown_grace_s: float = Field(60.0, ge=0, description="Time running tasks get on SIGTERM.")
    backoff_base_s: float = Field(0.5, ge=0, description="Backoff base after failures.")
    backoff_cap_s: float = Field(30.0, ge=0, description="Backoff ceiling.")
    reauth_wait_s: float = Field(60.0, ge=0, description="Wait after 401/403 before registering.")
    metrics_listen: str = Field("", description="host:port for Prometheus metrics; empty: none.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", description="Lowest level logged."
    )

    @field_validator("metrics_listen")
    @classmethod
    def _host_port(cls, value: str) -> str:
        port = value.rpartition(":")[2]
        if value and not (port.isdigit() and int(port) < 65536):
            raise ValueError("must be empty or host:port")
        return value


class CredentialsSettings(_Section):
    """The ``[credentials]`` table: where ``{"ref": "vault:…"}`` references are looked up."""

    provider: Literal["vault"] = Field(description="The secret store (vault: KV version 2).")
    address: str = Field(description="Base URL of the Vault server.")
    token: SecretStr = Field(description="Vault token: a literal, env:NAME or file:PATH.")
    cache_s: float = Field(300.0, ge=0, description="How long a secret is reused.")
    verify_tls: bool = Field(True, description="Verify Vault's TLS certificate.")
    ca_file: Path | None = Field(None, description="CA bundle for a private CA.")

    @field_validator("address")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")


class Settings(BaseSettings):
    """The whole agent configuration (foreman.md §8.2)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="forbid")

    foreman: ForemanSettings
    agent: AgentSettings
    plugins: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="One table per plugin; a table enables its plugin."
    )
    credentials: CredentialsSettings | None = Field(
        None, description="Secret store for credential references; none: env/file only."
    )
    _config_dir: Path | None = PrivateAttr(None)

    @property
    def config_dir(self) -> Path | None:
        """The directory of the config file (relative paths are relative to it), if loaded."""
        return self._config_dir

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        """Only explicit values: ``load_settings`` applies the environment with TOML parsing."""
        return (init_settings,)


def load_settings(path: Path, environ: Mapping[str, str] | None = None) -> Settings:
    """Read, override, resolve and validate the configuration.

    Raises:
        ConfigError: Naming each bad key and the reason.
    """
    environ = os.environ if environ is None else environ
    data = _read_toml(path)
    apply_env_overrides(data, environ)
    base = path.resolve().parent
    _resolve_token(data, base, environ)
    try:
        settings = Settings(**data)
    except pydantic.ValidationError as exc:
        raise ConfigError(problems_of(exc)) from None
    return _anchor_paths(settings, base)


def problems_of(
    exc: pydantic.ValidationError, prefix: tuple[str, ...] = ()
) -> list[tuple[str, str]]:
    """Turn a validation error into ``(dotted key, reason)`` pairs."""
    problems = []
    for error in exc.errors():
        key = ".".join(str(part) for part in (*prefix, *error["loc"])) or "(top level)"
        problems.append((key, error["msg"]))
    return problems


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise ConfigError([("(file)", f"cannot read {path}: {exc.strerror}")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([("(file)", f"{path} is not valid TOML: {exc}")]) from None


def apply_env_overrides(data: dict[str, Any], environ: Mapping[str, str]) -> None:
    """Apply ``SUBCONTRACTOR_<SECTION>__<KEY>[__<KEY>]`` variables, values parsed as TOML."""
    for name, raw in sorted(environ.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        if len(parts) < 2 or not all(parts):
            continue
        node = data
        for part in parts[:-1]:
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ConfigError(
                    [(".".join(parts), f"{name} overrides a value that is not a table")]
                )
            node = child
        node[parts[-1]] = _toml_value(raw)


def _toml_value(raw: str) -> Any:
    try:
        return tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        return raw  # a bare word is a string, as a shell user would expect


def _resolve_token(data: dict[str, Any], base: Path, environ: Mapping[str, str]) -> None:
    for section in ("foreman", "credentials"):
        table = data.get(section)
        if isinstance(table, dict) and isinstance(table.get("token"), str):
            key = f"{section}.token"
            table["token"] = resolve_reference(table["token"], base, environ, key=key)


def resolve_reference(value: str, base: Path, environ: Mapping[str, str], *, key: str) -> str:
    """Resolve ``env:NAME`` and ``file:PATH`` (relative to ``base``); other values are literal.

    Raises:
        ConfigError: The variable is unset or the file unreadable (the value is never shown).
    """
    if value.startswith("env:"):
        name = value[4:]
        if name not in environ:
            raise ConfigError([(key, f"environment variable {name} is not set")])
        return environ[name]
    if value.startswith("file:"):
        target = base / value[5:]
        try:
            return target.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError([(key, f"cannot read {target}: {exc.strerror}")]) from None
    return value


def _anchor_paths(settings: Settings, base: Path) -> Settings:
    agent = settings.agent.model_copy(update={"state_dir": base / settings.agent.state_dir})
    foreman = settings.foreman
    if foreman.ca_file is not None:
        foreman = foreman.model_copy(update={"ca_file": base / foreman.ca_file})
    credentials = settings.credentials
    if credentials is not None and credentials.ca_file is not None:
        credentials = credentials.model_copy(update={"ca_file": base / credentials.ca_file})
    anchored = settings.model_copy(
        update={"agent": agent, "foreman": foreman, "credentials": credentials}
    )
    anchored._config_dir = base
    return anchored
