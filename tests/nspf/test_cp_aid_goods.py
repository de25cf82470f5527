"""The CP side of citizen aid and goods in-process (HTTP ingest, no broker): assignments,
foreign and late updates, ledger entries counted once, warnings, the summary sections, and
the refusals of the API."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from schemas import make_up, utcnow
from service.app import create_app
from service.settings import ServiceSettings
from tests.support import bearer


@pytest.fixture
async def cp(database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    app = create_app(ServiceSettings(database_url=database_url, mqtt_enabled=False, cp_id="cp-h"))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://cp") as c,
    ):
        c.headers.update(bearer(app.state.ctx.engine, "admin"))
        yield c, app.state.ctx.engine


async def up(c: httpx.AsyncClient, engine: Any, kind: str, nsp: str, seq: int, body: Any) -> None:
    msg = json.loads(make_up(kind, nsp, seq, body).model_dump_json())
    r = await c.post("/api/v1/messages", json=msg, headers=bearer(engine, "gateway", nsp))
    assert r.status_code == 201, r.text


def entry(no: int, type_: str, qty: float, after: float, **kw: Any) -> dict[str, Any]:
    return {"entry_no": no, "item": "drinkwater", "unit": "liter", "type": type_,
            "quantity": qty, "at": (utcnow() - timedelta(minutes=30)).isoformat(),
            "on_hand_after": after, **kw}  # fmt: skip


async def test_assignments_updates_and_ledger(cp: tuple[httpx.AsyncClient, Any]) -> None:
    c, engine = cp
    now = utcnow().isoformat()
    roster = {"total": 3, "by_skill": {"carrying": 2}, "by_window": {"morning": 3}, "at": now}
    await up(c, engine, "volunteer_roster", "nsp-a", 1, roster)
    r = await c.post(
        "/api/v1/aid/assignments",
        json={"nsp_id": "nsp-a", "title": "2 sjouwers naar Kerkstraat 12", "count": 2},
    )
    assert r.status_code == 201, r.text
    aid = r.json()["assignment_id"]
    assert r.json()["state"] == "sent" and not r.json()["delivered"]
    # An unknown NSP, an out-of-range time: refused with the field.
    r = await c.post("/api/v1/aid/assignments", json={"nsp_id": "nsp-x", "title": "x"})
    assert r.status_code == 404 and "nsp-x" in r.text
    r = await c.post(
        "/api/v1/aid/assignments",
        json={"nsp_id": "nsp-a", "title": "x", "due_at": "0227-01-01T00:00:00Z"},
    )
    assert r.status_code == 422 and "due_at" in r.text

    refs = ["v-0123456789abcdef", "v-fedcba9876543210"]
    upd = {"assignment_id": aid, "revision": 1, "state": "en_route", "volunteer_refs": refs,
           "at": now}  # fmt: skip
    await up(c, engine, "assignment_update", "nsp-a", 3, upd)
    # A late 'requested' (lower seq) confirms delivery but does not undo 'en_route'.
    await up(c, engine, "assignment_update", "nsp-a", 2, {**upd, "state": "requested"})
    # Another NSP cannot move nsp-a's job.
    await up(c, engine, "assignment_update", "nsp-b", 1, {**upd, "state": "failed"})
    a = (await c.get(f"/api/v1/aid/assignments/{aid}")).json()
    assert a["state"] == "en_route" and a["delivered"] and a["volunteer_refs"] == refs
    r = await c.post(f"/api/v1/aid/assignments/{aid}/cancel")
    assert r.status_code == 200 and r.json()["cancelled"] and r.json()["revision"] == 2
    assert (await c.post(f"/api/v1/aid/assignments/{aid}/cancel")).status_code == 409
    # A bad pseudonym is refused by the contract itself.
    msg = json.loads(make_up("status", "nsp-a", 4, {"state": "open", "power_source": "grid"})
                     .model_dump_json())  # fmt: skip
    msg.update(kind="assignment_update", body={**upd, "volunteer_refs": ["Fatima"]})
    r = await c.post("/api/v1/messages", json=msg, headers=bearer(engine, "gateway", "nsp-a"))
    assert r.status_code == 422 and "volunteer_refs" in r.text

    # Ledger: entry 2 arrives twice (a restore re-sent it under a new message id); entry 3
    # is missing for now.
    await up(c, engine, "stock_entry", "nsp-a", 5, entry(1, "received", 100, 100))
    await up(
        c,
        engine,
        "stock_entry",
        "nsp-a",
        6,
        entry(2, "handed_out", 90, 10, households=15, household_size=1),
    )
    await up(
        c,
        engine,
        "stock_entry",
        "nsp-a",
        7,
        entry(2, "handed_out", 90, 10, households=15, household_size=1),
    )
    await up(c, engine, "stock_entry", "nsp-a", 8, entry(4, "written_off", 2, 8))
    stock = (await c.get("/api/v1/goods/stock", params={"nsp_id": "nsp-a"})).json()
    (line,) = stock["lines"]
    assert (line["received"], line["handed_out"], line["written_off"], line["on_hand"]) == (
        100,
        90,
        2,
        8,
    )
    assert stock["ledgers"] == [
        {"nsp_id": "nsp-a", "entries": 3, "last_entry_no": 4, "missing_entries": 1}
    ]
    (warning,) = (await c.get("/api/v1/goods/warnings")).json()
    assert warning["low"] and warning["persons_24h"] == 15 and warning["days_left"] < 1
    r = await c.post("/api/v1/goods/deliveries", json={"nsp_id": "nsp-a", "goods": []})
    assert r.status_code == 422
    r = await c.post(
        "/api/v1/goods/deliveries",
        json={"nsp_id": "nsp-a", "goods": [{"item": "drinkwater", "unit": "liter",
                                            "quantity": 200}]},
    )  # fmt: skip
    assert r.status_code == 201 and r.json()["goods"][0]["quantity"] == 200
    assert r.json()["title"] == "Levering: 200 liter drinkwater"
    r = await c.put(
        "/api/v1/goods/rules",
        json={"rules": [{"item": "drinkwater", "unit": "liter", "max_per_person_per_day": 6},
                        {"item": "drinkwater", "unit": "l", "max_per_person_per_day": 3}]},
    )  # fmt: skip
    assert r.status_code == 422 and "one rule per item" in r.text

    pic = (await c.get("/api/v1/picture")).json()
    content = pic["cps"][0]["content"]
    assert content["goods"][0]["nsps_low"] == ["nsp-a"]
    assert content["citizen_aid"]["volunteers"] == 3
    assert content["citizen_aid"]["assignments_by_state"] == {"en_route": 1}
