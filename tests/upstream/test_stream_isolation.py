"""One event the stream cannot serialise does not break the live stream (service.upstream.stream):
it goes out as an ``event_unreadable`` frame with its own id, so a client's Last-Event-ID moves
past it, and the events after it go out as usual. Real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import json

import sqlalchemy as sa

from noodcore.db import table_of
from schemas import utcnow
from service.db import make_engine, migrate
from service.upstream.events import publish_event, read_events
from service.upstream.models import StreamEvent
from service.upstream.stream import sse_frame


def test_a_bad_event_becomes_an_unreadable_frame_and_the_rest_flow(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine)
        with engine.begin() as conn:
            first = publish_event(conn, "p1", {"n": 1})
            # A row another version wrote wrongly: its data is not an object.
            bad = conn.execute(
                sa.insert(table_of(StreamEvent))
                .values(at=utcnow(), type="p1", data=[1, 2])
                .returning(table_of(StreamEvent).c.id)
            ).scalar_one()
            last = publish_event(conn, "p1", {"n": 3})
        frames = [sse_frame(e) for e in read_events(engine, 0)]
        ids = [int(f.split("\n")[0].removeprefix("id: ")) for f in frames]
        assert ids[-3:] == [first, bad, last]
        payloads = [json.loads(f.split("\n")[1].removeprefix("data: ")) for f in frames[-3:]]
        assert payloads[0]["data"] == {"n": 1} and payloads[2]["data"] == {"n": 3}
        assert payloads[1]["type"] == "event_unreadable" and payloads[1]["id"] == bad
        assert "data" in payloads[1]["data"]["error"]
    finally:
        engine.dispose()
