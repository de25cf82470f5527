"""Issue 12, storage side (SQLite and PostgreSQL): what the dashboard and the case view read.

- The picture gives each P1 its triage state and since when; a resolved P1 leaves the open
  list but stays a few minutes in ``p1_done``; every state change is a ``state_change`` event
  on the stream, committed with the change.
- An item's reports carry what the stored message says: landmark, reporter, callback, channel,
  and the whole body.
"""

from __future__ import annotations

from typing import Any

from service.upstream.events import STATE_CHANGE, read_events
from tests.upstream.support import help_request
from tests.web.support import running_cp, token


async def test_p1_state_in_the_picture_and_on_the_stream(database_url: str) -> None:
    async with running_cp(database_url, "cp-oss") as (app, c):
        gw = {"Authorization": f"Bearer {token(app, 'gateway', 'oss-centrum')}"}
        op = {"Authorization": f"Bearer {token(app, 'operator')}"}
        m = help_request(
            "oss-centrum",
            1,
            location={"address": "Kerkstraat 12, Oss", "description": "achter de kerk"},
            reporter_name="Ans de Vries",
            callback="blijft bij het NSP",
        )
        r = await c.post("/api/v1/messages", json=m, headers=gw)
        assert r.status_code == 201, r.text

        async def picture() -> dict[str, Any]:
            r = await c.get("/api/v1/picture", headers=op)
            assert r.status_code == 200, r.text
            return dict(r.json())

        [p1] = (await picture())["p1_items"]
        assert p1["message_id"] == m["message_id"] and p1["state"] == "new"
        item_id = p1["item_id"]
        assert item_id is not None

        detail = (await c.get(f"/api/v1/items/{item_id}", headers=op)).json()
        [report] = detail["reports"]
        assert report["landmark"] == "achter de kerk"
        assert report["reporter_name"] == "Ans de Vries"
        assert report["callback"] == "blijft bij het NSP"
        assert report["channel"] == "http"
        assert report["body"]["location"]["address"] == "Kerkstraat 12, Oss"

        engine = app.state.ctx.engine
        before = max((e.id for e in read_events(engine, 0)), default=0)
        for state in ("dispatched", "resolved"):
            r = await c.post(
                f"/api/v1/items/{item_id}/state", json={"state": state, "note": "n"}, headers=op
            )
            assert r.status_code == 200, r.text
            if state == "dispatched":
                [p1] = (await picture())["p1_items"]
                assert p1["state"] == "dispatched" and p1["state_since"] is not None
        pic = await picture()
        assert pic["p1_items"] == []
        [done] = pic["p1_done"]
        assert (done["message_id"], done["state"]) == (m["message_id"], "resolved")
        changes = [e.data for e in read_events(engine, before) if e.type == STATE_CHANGE]
        assert [(d["item_id"], d["from"], d["to"]) for d in changes] == [
            (item_id, "new", "dispatched"),
            (item_id, "dispatched", "resolved"),
        ]
