"""Foreman's tables (foreman spec §1). Only foreman reads or writes them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from contractor.servicekit.db import UTCDateTime
from contractor.servicekit.outbox import events_table
from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

BigId = BigInteger().with_variant(Integer(), "sqlite")
ACTIVE_JOB = "state NOT IN ('done', 'aborted', 'canceled')"


class Base(DeclarativeBase):
    """Declarative base of foreman's tables."""

    type_annotation_map: ClassVar[dict[Any, Any]] = {
        dict[str, Any]: JSON,
        list[Any]: JSON,
        datetime: UTCDateTime,
    }


class Program(Base):
    """One script source, stored once by content hash."""

    __tablename__ = "programs"
    id: Mapped[str] = mapped_column(String(80), primary_key=True)  # sha256:<hex>
    source: Mapped[str] = mapped_column(Text())


class Job(Base):
    """One job: a TScript program run against one target."""

    __tablename__ = "jobs"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    target_kind: Mapped[str] = mapped_column(String(16))
    target_key: Mapped[str] = mapped_column(String(100))
    site: Mapped[str | None] = mapped_column(String(100))
    script_name: Mapped[str] = mapped_column(String(50))
    kind: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    program_id: Mapped[str | None] = mapped_column(ForeignKey("programs.id"))
    interp: Mapped[str | None] = mapped_column(Text())
    call: Mapped[dict[str, Any] | None] = mapped_column(JSON())
    snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON())
    overlay: Mapped[list[Any] | None] = mapped_column(JSON())
    wait: Mapped[dict[str, Any] | None] = mapped_column(JSON())
    origin: Mapped[str | None] = mapped_column(String(16))
    message: Mapped[str | None] = mapped_column(String(1024))
    progress: Mapped[dict[str, Any] | None] = mapped_column(JSON())
    runnable_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    wait_for_prerequisites: Mapped[bool] = mapped_column(Boolean(), default=False)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    evaluations_since_wait: Mapped[int] = mapped_column(Integer(), default=0)
    internal_failures: Mapped[int] = mapped_column(Integer(), default=0)
    row_version: Mapped[int] = mapped_column(Integer(), default=1)
    log_seq: Mapped[int] = mapped_column(Integer(), default=0, server_default="0")
    """The ``seq`` of the job's newest ``job_log`` row (no ``max()`` query per append)."""

    __table_args__ = (
        Index(
            "jobs_one_active_per_target",
            "target_kind",
            "target_key",
            unique=True,
            postgresql_where=text(ACTIVE_JOB),
            sqlite_where=text(ACTIVE_JOB),
        ),
        Index(
            "jobs_runnable",
            "runnable_at",
            postgresql_where=text("runnable_at IS NOT NULL"),
            sqlite_where=text("runnable_at IS NOT NULL"),
        ),
    )


class JobLog(Base):
    """Append-only history of a job; survives ``clear`` (no foreign key on purpose)."""

    __tablename__ = "job_log"
    job_id: Mapped[int] = mapped_column(BigId, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer(), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str | None] = mapped_column(String(16))
    message: Mapped[str | None] = mapped_column(String(1024))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON())


class Task(Base):
    """One remote request (agent task) or server task; the id is the TScript request id."""

    __tablename__ = "tasks"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    site: Mapped[str] = mapped_column(String(100))
    module: Mapped[str] = mapped_column(String(64))
    function: Mapped[str] = mapped_column(String(64))
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON())
    idempotent: Mapped[bool] = mapped_column(Boolean())
    purpose: Mapped[str] = mapped_column(String(16))
    state: Mapped[str] = mapped_column(String(16))
    attempt: Mapped[int] = mapped_column(Integer(), default=1)
    reoffers: Mapped[int] = mapped_column(Integer(), default=0)
    available_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    agent_id: Mapped[str | None] = mapped_column(String(36))
    incarnation: Mapped[str | None] = mapped_column(String(36))
    leased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    timeout_s: Mapped[float | None] = mapped_column()
    cancel_requested: Mapped[bool] = mapped_column(Boolean(), default=False)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON())
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON())
    consumed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    history: Mapped[list[Any]] = mapped_column(JSON(), default=list)

    __table_args__ = (
        Index(
            "tasks_pending",
            "site",
            "module",
            "available_at",
            postgresql_where=text("state = 'pending'"),
            sqlite_where=text("state = 'pending'"),
        ),
        Index(
            "tasks_by_agent",
            "agent_id",
            postgresql_where=text("state IN ('leased', 'started')"),
            sqlite_where=text("state IN ('leased', 'started')"),
        ),
        Index(
            "tasks_leases",
            "lease_until",
            postgresql_where=text("state IN ('leased', 'started')"),
            sqlite_where=text("state IN ('leased', 'started')"),
        ),
    )


class Agent(Base):
    """A registered subcontractor; the id is stable for (token, name)."""

    __tablename__ = "agents"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    token_id: Mapped[int] = mapped_column(BigId)
    token_name: Mapped[str | None] = mapped_column(String(100))
    sites: Mapped[list[Any]] = mapped_column(JSON())
    modules: Mapped[dict[str, Any]] = mapped_column(JSON())
    incarnation: Mapped[str] = mapped_column(String(36))
    version: Mapped[str | None] = mapped_column(String(50))
    hostname: Mapped[str | None] = mapped_column(String(255))
    boot_base: Mapped[str | None] = mapped_column(String(255))
    disabled: Mapped[bool] = mapped_column(Boolean(), default=False)
    offline: Mapped[bool] = mapped_column(Boolean(), default=False)
    status: Mapped[str] = mapped_column(String(16), default="online", server_default="online")
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("agents_token_name", "token_id", "name", unique=True),)


class Signal(Base):
    """A completion signal a booted image posts (spec §6.7, §5.10)."""

    __tablename__ = "signals"
    token: Mapped[str] = mapped_column(String(40), primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    pxe_name: Mapped[str | None] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(16))
    status: Mapped[str | None] = mapped_column(String(16))
    message: Mapped[str | None] = mapped_column(String(1024))
    armed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class TimelineMark(Base):
    """One mark of a job's timeline (spec §12.3)."""

    __tablename__ = "timeline"
    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime())
    mark: Mapped[str] = mapped_column(String(32))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON())


events = events_table(Base.metadata)
"""The outbox (``GET /api/v1/events``)."""
