"""Completion signals (spec §6.7): one armed signal per job, re-armed by ``signaling.reset``."""

from __future__ import annotations

import secrets
from datetime import datetime

from contractor.foreman import orm
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession


def new_token() -> str:
    """``sig_`` + 22 base64url characters (128 random bits)."""
    return "sig_" + secrets.token_urlsafe(16)


async def current(session: AsyncSession, job_id: int) -> orm.Signal | None:
    """The job's armed (or received) signal, newest first."""
    return await session.scalar(
        select(orm.Signal)
        .where(orm.Signal.job_id == job_id, orm.Signal.state != "revoked")
        .order_by(orm.Signal.armed_at.desc())
        .limit(1)
    )


async def arm(
    session: AsyncSession, job_id: int, pxe_name: str | None, now: datetime, token: str
) -> orm.Signal:
    """Revoke the job's signals and arm a new one."""
    for old in await session.scalars(
        select(orm.Signal).where(orm.Signal.job_id == job_id, orm.Signal.state != "revoked")
    ):
        old.state = "revoked"
    signal = orm.Signal(token=token, job_id=job_id, pxe_name=pxe_name, state="armed", armed_at=now)
    session.add(signal)
    await session.flush()
    return signal


async def by_token(session: AsyncSession, token: str) -> orm.Signal | None:
    """A signal by its token."""
    return await session.get(orm.Signal, token, populate_existing=True)
