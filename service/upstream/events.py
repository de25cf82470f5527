"""The persisted event log behind the live stream (``GET /api/v1/stream``).

Any feature publishes an event inside the transaction of the change it reports::

    from service.upstream.events import publish_event
    publish_event(conn, "state_change", {"item": ..., "from": ..., "to": ...})

The event commits with the change or not at all, and its id (the SSE ``id:``) is assigned
under the upstream lock, so ids become visible in increasing order: a reader that has seen id
N will never later find a committed id below N. That is what makes ``Last-Event-ID`` replay
complete.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from noodcore.db import fast_insert, table_of
from schemas import utcnow
from service.upstream.models import StreamEvent, UpstreamNode
from service.upstream.node import take_lock

_events = table_of(StreamEvent)
_node = table_of(UpstreamNode)

# Event types this feature emits; other features may add their own names.
SUMMARY = "summary"
P1 = "p1"
NSP_ONLINE = "nsp_online"
NSP_OFFLINE = "nsp_offline"
NSP_SILENT = "nsp_silent"
NSP_STATE = "nsp_state"
NSP_LOW_POWER = "nsp_low_power"
STATE_CHANGE = "state_change"
UPSTREAM = "upstream"  # dead letter, operator retry


@dataclass(frozen=True)
class Event:
    id: int
    at: datetime
    type: str
    data: dict[str, Any]


def publish_event(conn: Connection, type: str, data: dict[str, Any]) -> int:
    """Append an event in the caller's transaction; returns its id."""
    if not type or len(type) > 40:
        raise ValueError("event type must be 1..40 characters")
    take_lock(conn)
    result = conn.execute(
        sa.insert(_events).values(at=utcnow(), type=type, data=data).returning(_events.c.id)
    )
    return int(result.scalar_one())


def state_event(conn: Connection, data: dict[str, Any]) -> None:
    """An item changed state (the operator workflow): a ``state_change`` event, in the caller's
    transaction. A database without the identity row (no upstream part ever ran) has no
    stream to feed."""
    if conn.execute(sa.select(_node.c.id).where(_node.c.id == 1)).first() is not None:
        publish_event(conn, STATE_CHANGE, data)


def publish_events(conn: Connection, events: list[tuple[str, dict[str, Any]]]) -> None:
    """Append several events in one statement (ingest: the P1s of a batch). No ids come back:
    asking for them in order made SQLAlchemy insert one row per statement on SQLite."""
    if not events:
        return
    for type, _ in events:
        if not type or len(type) > 40:
            raise ValueError("event type must be 1..40 characters")
    take_lock(conn)
    at = utcnow()
    fast_insert(conn, _events, [{"at": at, "type": type, "data": data} for type, data in events])


def read_events(engine: Engine, after: int, limit: int = 500) -> list[Event]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(_events).where(_events.c.id > after).order_by(_events.c.id).limit(limit)
        )
        return [Event(r.id, r.at, r.type, r.data) for r in rows]


def last_event_id(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(sa.select(sa.func.coalesce(sa.func.max(_events.c.id), 0))).scalar_one()
        )


class EventNotifier:
    """Wakes stream readers after a commit, so most events arrive sooner than the next poll.

    Writers in threads call ``notify``; readers are coroutines waiting on their loop.
    ``close`` (the server is stopping) wakes every reader for good: streams end then, instead
    of holding the stop for uvicorn's whole graceful timeout, and clients reconnect (to this
    CP once it is back, or its standby) with Last-Event-ID, missing nothing.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self.closed = False

    def close(self) -> None:
        self.closed = True
        self.notify()

    def notify(self) -> None:
        with self._lock:
            waiters = list(self._waiters)
        for loop, event in waiters:
            with contextlib.suppress(RuntimeError):  # the reader's loop has closed
                loop.call_soon_threadsafe(event.set)

    async def wait(self, timeout: float) -> None:
        if self.closed:
            return
        event = asyncio.Event()
        key = (asyncio.get_running_loop(), event)
        with self._lock:
            self._waiters.add(key)
        try:
            await asyncio.wait_for(event.wait(), timeout)
        except TimeoutError:
            pass
        finally:
            with self._lock:
                self._waiters.discard(key)
