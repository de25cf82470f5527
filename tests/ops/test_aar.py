"""After-action report from the demo scenario: per incident and per NSP, the timeline (received,
grouped, each state with who and the note, merges), the times to first acknowledgement and
to dispatch per P-level, CSV export and the printable page; bad filters get a specific 4xx.

In-process CP (ASGI), on SQLite and PostgreSQL: the report is SQL over the triage and upstream
tables, so both databases must give the same answer.
"""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service.ops.aar import CSV_COLUMNS
from tests.ops.scenario_run import envelopes, work_the_queue
from tests.support import CpAuth
from tests.web.support import running_cp


@pytest.fixture
async def worked(
    database_url: str,
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient, dict[str, Any]]]:
    async with running_cp(database_url, "cp-oss") as (app, client):
        client.auth = CpAuth(app.state.ctx.engine)
        for env in envelopes():
            r = await client.post("/api/v1/messages", json=env)
            assert r.status_code == 201, r.text
        plan = await work_the_queue(client)
        yield app, client, plan


async def check_times_per_p_level_and_item(
    worked: tuple[FastAPI, httpx.AsyncClient, dict[str, Any]],
) -> None:
    _app, client, plan = worked
    r = await client.get("/api/v1/aar")
    assert r.status_code == 200, r.text
    aar = r.json()
    p1 = {lv["p_level"]: lv for lv in aar["levels"]}["P1"]
    # Two P1 reports of one address, merged by the operator: one incident, acknowledged.
    assert p1["items"] == plan["p1_items"] - 1
    assert p1["acknowledged"] == 1 and p1["dispatched"] == 1
    assert p1["median_to_ack_seconds"] is not None and p1["median_to_ack_seconds"] >= 0
    assert p1["max_to_dispatch_seconds"] >= p1["max_to_ack_seconds"]
    item = next(i for i in aar["items"] if i["item_id"] == plan["p1"])
    assert item["report_count"] == 2 and item["state"] == "resolved"
    assert item["to_ack_seconds"] <= item["to_dispatch_seconds"]
    assert all(i["item_id"] != plan["merged"] for i in aar["items"]), "merged item listed twice"
    if plan["p2"] is not None:
        p2 = {lv["p_level"]: lv for lv in aar["levels"]}["P2"]
        assert p2["acknowledged"] >= 1 and p2["dispatched"] == 0


async def check_timeline_csv_per_incident(
    worked: tuple[FastAPI, httpx.AsyncClient, dict[str, Any]],
) -> None:
    _app, client, plan = worked
    r = await client.get("/api/v1/aar/timeline.csv", params={"item_id": plan["p1"]})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(r.text)))
    assert tuple(rows[0].keys()) == CSV_COLUMNS
    events = [(x["event"], x["state"]) for x in rows]
    assert events.count(("received", "")) == 2  # both reports, also the merged one's
    states = [x for x in rows if x["event"] == "state"]
    assert [s["state"] for s in states] == ["acknowledged", "dispatched", "resolved"]
    assert states[0]["note"] == "Ambulance gevraagd via portofoon"
    assert states[0]["actor"] == "test-admin"
    assert any(x["event"] == "merge" and x["note"] == "zelfde adres" for x in rows)
    assert [x["at_utc"] for x in rows] == sorted(x["at_utc"] for x in rows)
    assert {x["nsp_id"] for x in rows if x["event"] == "received"} == {
        "oss-centrum",
        "oss-schadewijk",
    }


async def check_timeline_per_nsp(worked: tuple[FastAPI, httpx.AsyncClient, dict[str, Any]]) -> None:
    _app, client, plan = worked
    r = await client.get("/api/v1/aar", params={"nsp_id": "berghem"})
    items = r.json()["items"]
    assert items and all("berghem" in i["nsp_ids"] for i in items)
    assert plan["p1"] not in {i["item_id"] for i in items}
    r = await client.get("/api/v1/aar/timeline.csv", params={"nsp_id": "oss-centrum"})
    rows = list(csv.DictReader(io.StringIO(r.text)))
    received = [x for x in rows if x["event"] == "received"]
    assert received and all(x["nsp_id"] for x in received)
    assert any(x["item_id"] == str(plan["p1"]) for x in rows)


async def check_page_in_dutch_and_english(
    worked: tuple[FastAPI, httpx.AsyncClient, dict[str, Any]],
) -> None:
    _app, client, _plan = worked
    r = await client.get("/aar")
    assert r.status_code == 200 and "Evaluatierapport" in r.text
    assert "Tot eerste bevestiging" in r.text and "Ambulance 17-104 onderweg" in r.text
    assert "default-src 'self'" in r.headers["content-security-policy"]
    r = await client.get("/aar", params={"lang": "en"})
    assert "After-action report" in r.text and "To first acknowledgement" in r.text
    r = await client.get("/aar/static/aar.css")
    assert r.status_code == 200 and "@media print" in r.text


async def test_after_action_report_of_the_demo_scenario(
    worked: tuple[FastAPI, httpx.AsyncClient, dict[str, Any]],
) -> None:
    # One scenario played and worked (~5 s), four views of it.
    await check_times_per_p_level_and_item(worked)
    await check_timeline_csv_per_incident(worked)
    await check_timeline_per_nsp(worked)
    await check_page_in_dutch_and_english(worked)


BAD_FILTERS = [
    ({"since": "2026-12-02T06:00:00"}, 422, "timezone"),
    ({"item_id": 999999}, 404, "no item 999999"),
    ({"item_id": 0}, 422, "item_id"),
    ({"nsp_id": "Not an id!"}, 422, "nsp_id"),
    ({"until": "gisteren"}, 422, "until"),
]


async def test_bad_filters_get_a_specific_answer(database_url: str) -> None:
    async with running_cp(database_url, "cp-oss") as (app, client):
        client.auth = CpAuth(app.state.ctx.engine)
        for params, status, words in BAD_FILTERS:
            for path in ("/api/v1/aar", "/api/v1/aar/timeline.csv", "/aar"):
                r = await client.get(path, params=params)
                assert r.status_code == status, f"{path} {params}: {r.text}"
                assert words in r.text, f"{path} {params}: {r.text}"
        # An empty period is a report with nothing in it, not an error.
        r = await client.get("/api/v1/aar", params={"since": "2030-01-01T00:00:00Z"})
        assert r.status_code == 200 and r.json()["items"] == []
