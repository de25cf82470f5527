"""Exercise data at the CP, through the real app (lifespan, migrations, ingest with grouping)
on SQLite or PostgreSQL: the contract stays compatible, exercise and real reports never group,
filters, the summary keeps real counts real, a broken exercise message becomes a marked dead
letter, and purge removes exactly the exercise's rows (counted before and after)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from schemas import make_up, parse_up, utcnow
from schemas.common import EXERCISE_MARK
from service.app import create_app
from service.settings import ServiceSettings
from service.store import Rejected, write_dead_letters
from tests.support import CpAuth

EX = "oef-1"
TABLES = ("message", "deadletter", "triage_item", "triage_report", "bulletin", "nsp_task")


@asynccontextmanager
async def running(database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(ServiceSettings(database_url=database_url, mqtt_enabled=False, cp_id="cp-t"))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app),
            base_url="http://cp",
            auth=CpAuth(app.state.ctx.engine),
        ) as client,
    ):
        yield app, client


class Gateway:
    def __init__(self, nsp_id: str) -> None:
        self.nsp_id, self.seq = nsp_id, 0

    def msg(self, kind: str, body: dict[str, Any], exercise: str | None = None) -> dict[str, Any]:
        self.seq += 1
        m = make_up(kind, self.nsp_id, self.seq, body, exercise=exercise)
        return dict(json.loads(m.model_dump_json()))


def p1(text: str) -> dict[str, Any]:
    return {
        "category": "medical",
        "urgency": "P1",
        "location": {"address": "Kerkstraat 12, Oss", "lat": 51.7642, "lon": 5.5201},
        "description": text,
    }


def fire(text: str) -> dict[str, Any]:
    return {
        "category": "fire",
        "severity": "high",
        "location": {"address": "Molenstraat 8, Ravenstein"},
        "description": text,
    }


def counts(app: FastAPI) -> dict[str, tuple[int, int]]:
    with app.state.ctx.engine.connect() as conn:
        return {
            t: tuple(  # type: ignore[misc]
                conn.execute(
                    sa.text(f"SELECT count(*) FROM {t} WHERE exercise_id {w}")
                ).scalar_one()
                for w in ("IS NULL", "IS NOT NULL")
            )
            for t in TABLES
        }


def test_a_real_message_is_what_older_releases_sent_and_older_cps_accept() -> None:
    real = make_up("status", "nsp-a", 1, {"state": "open", "power_source": "grid"})
    assert "exercise" not in json.loads(real.model_dump_json()), "absent, not null"
    old = json.loads(real.model_dump_json())  # what an older gateway sends
    assert parse_up(json.dumps(old)).exercise is None
    marked = make_up("status", "nsp-a", 2, {"state": "open", "power_source": "grid"}, exercise=EX)
    assert json.loads(marked.model_dump_json())["exercise"] == EX
    with pytest.raises(ValueError, match="exercise"):
        parse_up(json.dumps({**old, "exercise": "Geen Geldig Id"}))


async def test_exercise_and_real_data_apart_then_purged(database_url: str) -> None:
    a, b = Gateway("nsp-a"), Gateway("nsp-b")
    async with running(database_url) as (app, c):
        r = await c.post("/api/v1/exercises", json={"exercise_id": EX, "name": "Oefening"})
        assert r.status_code == 201 and r.json()["state"] == "open"
        assert (
            await c.post("/api/v1/exercises", json={"exercise_id": EX, "name": "x"})
        ).status_code == 409

        # Same place, same words: the exercise's reports group together, never with real ones.
        real_fire = [a.msg("situation_report", fire("Rook uit bovenwoning")) for _ in range(2)]
        ex_fire = [b.msg("situation_report", fire("Rook uit bovenwoning"), EX) for _ in range(2)]
        real_p1 = a.msg("help_request", p1("ECHT: vrouw gevallen"))
        ex_p1 = b.msg("help_request", p1("OEFENING: man onwel"), EX)
        ex_status = b.msg("status", {"state": "closed", "power_source": "none"}, EX)
        for m in [*real_fire, *ex_fire, real_p1, ex_p1, ex_status]:
            assert (await c.post("/api/v1/messages", json=m)).status_code == 201
        # A broken exercise message off MQTT: a marked dead letter, purged with its exercise.
        broken = {**b.msg("help_request", p1("x"), EX), "body": {"urgency": "P9"}}
        assert (await c.post("/api/v1/messages", json=broken)).status_code == 422
        with app.state.ctx.engine.begin() as conn:
            write_dead_letters(
                conn,
                [
                    Rejected(
                        reason="body.urgency: Input should be 'P1', 'P2', 'P3' or 'P4'",
                        received_at=utcnow(),
                        transport="mqtt",
                        payload=json.dumps(broken).encode(),
                        nsp_id="nsp-b",
                    )
                ],
            )
        (dead,) = (await c.get("/api/v1/dead-letters?exercise=exercise")).json()
        assert dead["exercise_mark"] == EXERCISE_MARK

        queue = (await c.get("/api/v1/queue")).json()
        items = [e["item"] for e in queue]
        assert items[0]["representative_message_id"] == real_p1["message_id"]
        fires = [i for i in items if i["category"] == "fire"]
        assert sorted((i["exercise_id"] or "", i["report_count"]) for i in fires) == [
            ("", 2),
            (EX, 2),
        ]
        for i in items:
            assert (i["exercise_mark"] == EXERCISE_MARK) == (i["exercise_id"] == EX)
            assert i["display_text"].startswith(EXERCISE_MARK) == (i["exercise_id"] == EX)
        real_only = (await c.get("/api/v1/queue?exercise=real")).json()
        assert {e["item"]["exercise_id"] for e in real_only} == {None}
        msgs = (await c.get("/api/v1/messages?exercise=exercise")).json()
        assert {m["exercise_id"] for m in msgs} == {EX} and len(msgs) == 4
        # The exercise's status is stored and marked but is not the NSP's real state.
        nsp_b = next(n for n in (await c.get("/api/v1/nsps")).json() if n["nsp_id"] == "nsp-b")
        assert nsp_b["last_status"] is None

        summary = (await c.post("/api/v1/upstream/summaries")).json()
        assert summary["help_requests"]["open_total"] == 1, "real counts count real data only"
        assert summary["messages"]["by_kind"] == {"help_request": 1, "situation_report": 2}
        (section,) = summary["exercises"]
        assert section["help_requests"]["open_total"] == 1
        assert all(i["text"].startswith(EXERCISE_MARK) for i in section["open_items"])

        before = counts(app)
        assert before["deadletter"] == (0, 1)
        purge_open = await c.post(f"/api/v1/exercises/{EX}/purge")
        assert purge_open.status_code == 409 and "close it first" in purge_open.text
        assert (await c.post(f"/api/v1/exercises/{EX}/close")).json()["state"] == "closed"
        exported = (await c.get(f"/api/v1/exercises/{EX}/export")).json()
        assert len(exported["messages"]) == 4 and len(exported["dead_letters"]) == 1
        purged = (await c.post(f"/api/v1/exercises/{EX}/purge")).json()["deleted"]
        assert purged["messages"] == 4 and purged["dead_letters"] == 1
        after = counts(app)
        assert {t: r for t, (r, _) in after.items()} == {t: r for t, (r, _) in before.items()}
        assert all(e == 0 for _, e in after.values())
        assert (await c.post("/api/v1/exercises/oef-nooit/purge")).status_code == 404
        bad = await c.get("/api/v1/messages?exercise=ALLES")
        assert bad.status_code == 422 and "exercise" in bad.text
