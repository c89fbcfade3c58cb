"""Inventory's one Settings class (environment prefix ``INVENTORY_``)."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from contractor.servicekit.settings import ServiceSettings
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings):
    """Inventory settings, read from ``INVENTORY_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="INVENTORY_")
    default_secrets: ClassVar[dict[str, str]] = {"secret_keys": ""}

    database_url: str = Field(
        "sqlite+aiosqlite:///./var/inventory.sqlite3",
        description="SQLAlchemy URL: sqlite+aiosqlite:///… or postgresql+asyncpg://….",
    )
    secret_keys: SecretStr = Field(
        SecretStr(""),
        description="Comma-separated Fernet keys; the first encrypts, all decrypt.",
    )
    var_dir: Path = Field(
        Path("./var"), description="Where dev mode keeps its generated secret key."
    )
    event_retention_days: int = Field(14, ge=1, description="Days events are kept.")
    event_purge_interval_s: float = Field(
        3600, gt=0, description="How often events older than the retention are deleted."
    )
    feed_poll_interval_s: float = Field(
        0.5, gt=0, le=5, description="How often a waiting feed reader re-checks the database."
    )
    contractor_host: str = Field(
        "http://127.0.0.1:8001", description="Base URL of contractor, as __contractor_host."
    )
    pxe_location: str = Field("", description="Where PXE files are served, as __pxe_location.")
    render_max_rounds: int = Field(
        16, ge=1, le=100, description="Rounds a config map may take to settle when rendered."
    )
    token_cache_s: float = Field(
        1.0,
        ge=0,
        le=30,
        description="How long a replica trusts a token it checked (a revocation made on another"
        " replica takes effect within it; 0 turns the cache off).",
    )
    sql_echo: bool = Field(False, description="Log SQL (debug only; parameters may be secret).")
