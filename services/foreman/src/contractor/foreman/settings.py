"""Foreman's one Settings class (environment prefix ``FOREMAN_``); foreman spec §3.1 numbers."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar, Literal

from contractor.servicekit.settings import ServiceSettings
from pydantic import Field, SecretStr
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings):
    """Foreman settings, read from ``FOREMAN_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="FOREMAN_")
    default_secrets: ClassVar[dict[str, str]] = {"service_token": "change-me", "secret_keys": ""}

    database_url: str = Field(
        "sqlite+aiosqlite:///./var/foreman.sqlite3",
        description="SQLAlchemy URL: sqlite+aiosqlite:///… or postgresql+asyncpg://….",
    )
    inventory_url: str = Field(
        "http://127.0.0.1:8001", description="Base URL of inventory (its /api/v1 lives below)."
    )
    service_token: SecretStr = Field(
        SecretStr("change-me"), description="Service token foreman presents to inventory."
    )
    secret_keys: SecretStr = Field(
        SecretStr(""),
        description="Comma-separated Fernet keys for secrets at rest; the first encrypts.",
    )
    var_dir: Path = Field(
        Path("./var"), description="Where dev mode keeps its generated secret key."
    )
    inventory_timeout_s: float = Field(10.0, gt=0, description="Timeout of one inventory call.")
    token_cache_s: float = Field(
        30.0, ge=0, le=30, description="How long an introspected token is trusted."
    )
    steppers: int = Field(4, ge=1, le=64, description="Stepper loops per replica.")
    step_batch: int = Field(16, ge=1, le=1000, description="Jobs claimed per stepper claim.")
    slice_steps: int = Field(1000, ge=1, description="Interpreter steps per slice.")
    step_limit: int = Field(10_000_000, ge=1, description="Total interpreter steps per job.")
    sweep_s: float = Field(
        1.0, gt=0, le=10, description="Longest sleep of a loop between database checks."
    )
    lease_s: float = Field(60.0, gt=0, description="Task lease length.")
    heartbeat_s: float = Field(20.0, gt=0, description="Heartbeat interval told to agents.")
    start_ack_s: float = Field(30.0, gt=0, description="Start-ack window of non-idempotent tasks.")
    poll_wait_max_s: float = Field(30.0, gt=0, le=30, description="Longest poll wait.")
    poll_recheck_s: float = Field(
        0.5, gt=0, le=5, description="Re-check interval of a waiting poll (other replicas' tasks)."
    )
    reaper_interval_s: float = Field(5.0, gt=0, description="How often expired leases are handled.")
    reaper_grace_s: float | None = Field(
        None, ge=0, description="Delay before the reaper acts after start; default: lease_s."
    )
    prerequisite_sweep_s: float = Field(
        60.0, gt=0, description="How often jobs waiting for prerequisites re-reserve."
    )
    retention_done_days: float = Field(7, gt=0, description="Days a done job is kept.")
    retention_failed_days: float = Field(
        30, gt=0, description="Days aborted/canceled jobs and every log row are kept."
    )
    retention_interval_s: float = Field(3600, gt=0, description="How often retention runs.")
    vacuum_interval_s: float = Field(
        10.0, gt=0, description="How often busy queue tables are vacuumed (PostgreSQL)."
    )
    vacuum_min_transitions: int = Field(
        1000, ge=0, description="Job transitions since the last vacuum that make it due."
    )
    max_attempts: int = Field(3, ge=1, description="Attempts for retryable task errors.")
    max_reoffers: int = Field(5, ge=1, description="Re-offers of a lost idempotent task.")
    retry_cap_s: float = Field(60.0, gt=0, description="Longest backoff between attempts.")
    agent_online_s: float = Field(60.0, gt=0, description="Seen this recently: online.")
    agent_status_interval_s: float = Field(
        5.0, gt=0, description="How often agent statuses are refreshed."
    )
    agent_stale_s: float = Field(300.0, gt=0, description="Seen this recently: stale.")
    state_limit_bytes: int = Field(1 << 20, ge=1024, description="interp+call+overlay limit.")
    feed_poll_interval_s: float = Field(
        0.5, gt=0, le=5, description="How often a waiting feed reader re-checks the database."
    )
    run_loops: bool = Field(True, description="Run the background loops (off in some tests).")
    sql_echo: bool = Field(False, description="Log SQL (debug only; parameters may be secret).")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO",
        description="JSON log level (spec §12.2): state changes, lost tasks and refused agent "
        "requests at INFO; every step at DEBUG.",
    )

    @property
    def reaper_grace(self) -> float:
        """Seconds the reaper waits after start-up (restart grace, spec §4.3)."""
        return self.lease_s if self.reaper_grace_s is None else self.reaper_grace_s
