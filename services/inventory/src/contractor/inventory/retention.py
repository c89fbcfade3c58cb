"""Event retention: delete outbox events older than ``INVENTORY_EVENT_RETENTION_DAYS``."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from contractor.inventory import orm
from contractor.servicekit import outbox
from contractor.servicekit.db import utcnow
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

logger = logging.getLogger(__name__)


async def purge_once(sessions: async_sessionmaker[AsyncSession], retention_days: int) -> int:
    """Delete expired events in one transaction; return how many went."""
    async with sessions() as session, session.begin():
        return await outbox.purge(session, orm.events, utcnow() - timedelta(days=retention_days))


async def purge_forever(
    sessions: async_sessionmaker[AsyncSession], retention_days: int, interval_s: float
) -> None:
    """Purge now and then every ``interval_s`` seconds until cancelled."""
    while True:
        try:
            removed = await purge_once(sessions, retention_days)
            if removed:
                logger.info("purged %d expired events", removed)
        except Exception:  # a failed purge must not stop the service; the next one retries
            logger.exception("purging expired events failed")
        await asyncio.sleep(interval_s)
