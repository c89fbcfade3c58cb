"""Following inventory's event feed (spec §3.1 feed consumer, §2.4).

Any change to a foundation, structure or dependency wakes the prerequisite loop, which repeats
the reservation of waiting jobs. The cursor lives in memory and starts at inventory's head:
after a restart the prerequisite sweep covers what happened meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Final

from contractor.foreman.errors import InventoryProblem
from contractor.foreman.inventory import InventoryClient
from contractor.foreman.runtime import Runtime

logger = logging.getLogger(__name__)
TYPES: Final = "foundation.*,structure.*,dependency.*"
WAIT_S: Final = 30.0


async def run(inventory: InventoryClient, rt: Runtime, stop: asyncio.Event) -> None:
    """Follow the feed until ``stop`` is set; back off after failures."""
    cursor: str | None = None
    failures = 0
    while not stop.is_set():
        try:
            if cursor is None:
                cursor = await inventory.events_head()
            page = await inventory.events(after=cursor, wait=WAIT_S, types=TYPES)
            cursor = str(page.get("next_cursor") or cursor)
            if page.get("events"):
                rt.prerequisites.notify()
            failures = 0
        except InventoryProblem as exc:
            logger.warning("inventory feed refused: %s", exc.detail)
            cursor = None  # e.g. 410 cursor-expired: start again at the head
            rt.prerequisites.notify()
            failures += 1
        except Exception:
            logger.debug("inventory feed unavailable", exc_info=True)
            failures += 1
        if failures:
            try:
                await asyncio.wait_for(stop.wait(), min(30.0, 0.5 * 2**failures))
            except TimeoutError:
                continue
