"""The event feed route: ``GET /events`` (long-poll) and ``GET /events/head``.

Include the router under ``/api/v1`` with the service's reader check as a dependency, and keep a
:class:`Feed` in ``app.state.feed`` (built in the lifespan).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any

from contractor.servicekit import outbox
from contractor.servicekit.errors import FieldError
from fastapi import APIRouter, Query, Request
from pydantic import BaseModel
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


@dataclass
class Feed:
    """What the feed route needs: sessions, the outbox table and the wake-up signal."""

    sessions: async_sessionmaker[AsyncSession]
    table: Table
    signal: outbox.FeedSignal = field(default_factory=outbox.FeedSignal)
    poll_interval: float = 0.5


class EventSubject(BaseModel):
    """What an event is about."""

    kind: str
    key: str


class EventRead(BaseModel):
    """One event envelope."""

    cursor: str
    id: str
    type: str
    occurred_at: str
    actor: dict[str, Any]
    site: str | None
    subject: EventSubject
    data: dict[str, Any]


class EventPage(BaseModel):
    """A feed answer."""

    events: list[EventRead]
    next_cursor: str


class EventHead(BaseModel):
    """The newest cursor."""

    cursor: str


def _feed(request: Request) -> Feed:
    feed: Feed = request.app.state.feed
    return feed


def _cursor(after: str) -> int:
    if not after.isdigit() or len(after) > 19:
        raise FieldError(["query", "after"], "after must be a cursor from this feed")
    return int(after)


def _types(types: str | None) -> list[str]:
    return [t.strip() for t in (types or "").split(",") if t.strip()]


def feed_router() -> APIRouter:
    """Build the router with ``GET /events`` and ``GET /events/head``."""
    router = APIRouter(tags=["events"])

    @router.get("/events")
    async def read_events(
        request: Request,
        after: Annotated[
            str, Query(description="Cursor of the last event seen; 0 = oldest.")
        ] = "0",
        wait: Annotated[float, Query(ge=0, le=60, description="Seconds to wait for events.")] = 0,
        types: Annotated[str | None, Query(description="Comma-separated; `x.*` = prefix.")] = None,
        site: Annotated[str | None, Query(description="Only events of this site.")] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> EventPage:
        """Read events after a cursor, waiting up to `wait` seconds for one."""
        feed = _feed(request)
        query = outbox.FeedQuery(_cursor(after), _types(types), site, limit)
        rows, scanned = await outbox.wait_for_page(
            feed.sessions,
            feed.table,
            query,
            wait=wait,
            signal=feed.signal,
            poll_interval=feed.poll_interval,
        )
        events = [EventRead.model_validate(outbox.event_json(row)) for row in rows]
        return EventPage(events=events, next_cursor=str(scanned))

    @router.get("/events/head")
    async def read_head(request: Request) -> EventHead:
        """Give the newest cursor."""
        feed = _feed(request)
        async with feed.sessions() as session:
            return EventHead(cursor=str(await outbox.head_cursor(session, feed.table)))

    return router
