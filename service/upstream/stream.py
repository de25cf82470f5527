"""The live stream for dashboards: ``GET /api/v1/stream`` (Server-Sent Events).

Every event comes from the persisted event log, with its log id as the SSE ``id:``. A client
that reconnects sends ``Last-Event-ID`` (browsers do so by themselves) and gets everything
after it, so a dropped connection loses nothing. Each ``data:`` line is one JSON object
``{"id", "type", "at", "data"}``; there is no SSE ``event:`` name, so one ``onmessage``
handler sees every type, including types other features add later.

One event that cannot be serialised does not break the stream: it is logged and sent as an
``event_unreadable`` frame with its id (so the client's cursor moves past it), and the events
after it flow as usual.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from noodcore.httpguard import MAX_ID, require, unprocessable
from service.auth.roles import READERS
from service.upstream.events import Event, last_event_id, read_events
from service.upstream.runtime import UpstreamDep

log = logging.getLogger(__name__)

router = APIRouter(prefix="/api/v1", tags=["stream"])

BATCH = 500
KEEPALIVE_SECONDS = 15.0
RETRY_MS = 2000


class EventOut(BaseModel):
    id: int
    type: str
    at: datetime
    data: dict[str, Any]


def _out(e: Event) -> EventOut:
    return EventOut(id=e.id, type=e.type, at=e.at, data=e.data)


def sse_frame(e: Event) -> str:
    """The SSE frame of one event; an event that cannot be serialised becomes an
    ``event_unreadable`` frame with the same id, so one bad row never ends the stream."""
    try:
        payload = json.dumps(_out(e).model_dump(mode="json"), ensure_ascii=False)
    except Exception as exc:
        log.error("event %s (type %r) cannot be sent on the stream: %s", e.id, e.type, exc)
        payload = json.dumps(
            {
                "id": e.id,
                "type": "event_unreadable",
                "at": None,
                "data": {"error": f"{type(exc).__name__}: {exc}"[:500]},
            }
        )
    return f"id: {e.id}\ndata: {payload}\n\n"


@router.get(
    "/events",
    summary="The event log, oldest first after an id (for polling clients)",
    dependencies=[require(*READERS)],
)
def list_events(
    up: UpstreamDep,
    after: Annotated[int, Query(ge=0, le=MAX_ID, description="Events with a larger id")] = 0,
    limit: Annotated[int, Query(ge=1, le=BATCH)] = 100,
) -> list[EventOut]:
    return [_out(e) for e in read_events(up.engine, after, limit)]


def parse_last_event_id(value: str) -> int:
    """The event id a reconnecting client resumes after. Anything but an id this server can
    have sent (ASCII digits, at most ``MAX_ID``) is a 422 naming the header, answered before
    the stream starts: the server only ever sends such ids, so anything else is a broken or
    hostile client, and guessing (e.g. resuming from now) would silently skip events. Checked
    here, not deep in the stream, because a 20-digit id used to pass and then break the
    stream after its 200 (OverflowError in the database driver)."""
    text = value.strip()
    if not re.fullmatch(r"[0-9]{1,19}", text) or int(text) > MAX_ID:
        shown = text if len(text) <= 40 else text[:40] + "..."
        raise unprocessable(
            ("header", "Last-Event-ID"),
            f"Last-Event-ID must be an event id from 0 to {MAX_ID}, got {shown!r}",
            shown,
        )
    return int(text)


@router.get(
    "/stream",
    summary="Live events as Server-Sent Events; reconnect with Last-Event-ID to catch up",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}}, 422: {"description": "Bad id"}},
    dependencies=[require(*READERS)],
)
async def stream(
    request: Request,
    up: UpstreamDep,
    last_event_id_header: Annotated[
        str | None, Header(alias="Last-Event-ID", description="Resume after this event id")
    ] = None,
    after: Annotated[
        int | None,
        Query(ge=0, le=MAX_ID, description="Resume after this id (when no header is sent)"),
    ] = None,
) -> StreamingResponse:
    if last_event_id_header is not None and last_event_id_header.strip():
        cursor = parse_last_event_id(last_event_id_header)
    elif after is not None:
        cursor = after
    else:
        cursor = await run_in_threadpool(last_event_id, up.engine)
    poll = up.upstream.upstream_poll_seconds

    async def frames() -> AsyncIterator[str]:
        nonlocal cursor
        yield f"retry: {RETRY_MS}\n: stream from event {cursor}\n\n"
        last_sent = time.monotonic()
        while not up.notifier.closed and not await request.is_disconnected():
            batch = await run_in_threadpool(read_events, up.engine, cursor, BATCH)
            for e in batch:
                yield sse_frame(e)
                cursor = e.id
            if batch:
                last_sent = time.monotonic()
                if len(batch) == BATCH:
                    continue
            elif time.monotonic() - last_sent > KEEPALIVE_SECONDS:
                yield ": keepalive\n\n"
                last_sent = time.monotonic()
            await up.notifier.wait(poll)

    return StreamingResponse(
        frames(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
