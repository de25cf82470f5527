"""Triage through the real app (lifespan, migrations, ingest worker with the grouping hook)
on SQLite or PostgreSQL: incidents, the P1 rule, merge/split across a restart, the workflow
with its 409s and audit trail, and a queue order that does not vary."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from schemas import make_up
from service.app import create_app
from service.settings import ServiceSettings
from service.store import Accepted, store_batch
from tests.support import CpAuth

T0 = datetime(2026, 11, 23, 14, 0, tzinfo=UTC)


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


class Nsp:
    """Numbers messages per NSP, like a gateway."""

    def __init__(self, nsp_id: str) -> None:
        self.nsp_id = nsp_id
        self.seq = 0

    def msg(self, kind: str, body: dict[str, Any], at: datetime | None = None) -> dict[str, Any]:
        self.seq += 1
        return json.loads(make_up(kind, self.nsp_id, self.seq, body, sent_at=at).model_dump_json())


def fire(address: str, text: str = "Rook uit het dak van een woning", **kw: Any) -> dict[str, Any]:
    return {
        "category": "fire",
        "severity": kw.pop("severity", "high"),
        "location": {"address": address},
        "description": text,
        **kw,
    }


def help_p1(address: str, text: str, category: str = "fire", **kw: Any) -> dict[str, Any]:
    return {
        "category": category,
        "urgency": "P1",
        "location": {"address": address},
        "description": text,
        **kw,
    }


async def post(client: httpx.AsyncClient, message: dict[str, Any]) -> None:
    r = await client.post("/api/v1/messages", json=message)
    assert r.status_code == 201, r.text


async def item_of(client: httpx.AsyncClient, message_id: str) -> dict[str, Any]:
    """The open or closed item that holds a report (searching the incident list)."""
    for state in ("open", "closed_duplicate", "resolved", "closed_not_needed"):
        for inc in (await client.get("/api/v1/incidents", params={"state": state})).json():
            detail = (await client.get(f"/api/v1/incidents/{inc['id']}")).json()
            if message_id in {r["message_id"] for r in detail["reports"]}:
                return detail  # type: ignore[no-any-return]
    raise AssertionError(f"no incident holds {message_id}")


# --------------------------------------------------------------------------- incidents


async def test_near_duplicates_become_one_incident_with_its_facts(database_url: str) -> None:
    a, b = Nsp("oss-centrum"), Nsp("oss-schadewijk")
    async with running(database_url) as (_, c):
        m1 = a.msg("situation_report", fire("Kerkstraat 12, Oss"))
        m2 = b.msg("situation_report", fire("kerkstr. 12 oss", "rookontwikkeling dak woning"))
        m3 = a.msg("situation_report", fire("Kerkstraat 12", "Woning in brand, veel rook"))
        other = b.msg("situation_report", fire("Kerkstraat 80, Oss", "Boom op de weg"))
        for m in (m1, m2, m3, other):
            await post(c, m)
        inc = await item_of(c, m1["message_id"])
        assert {r["message_id"] for r in inc["reports"]} == {
            m1["message_id"],
            m2["message_id"],
            m3["message_id"],
        }
        assert inc["report_count"] == 3 and inc["nsp_ids"] == ["oss-centrum", "oss-schadewijk"]
        assert inc["top_class"] == "P2" and inc["first_seen"] <= inc["last_seen"]
        assert inc["description"] and inc["priority"]["line"].startswith("P2 fire")
        assert "3 reports from 2 NSPs" in inc["priority"]["line"]
        assert "3 meldingen van 2 NSP's" in inc["priority"]["line_nl"]
        assert (await item_of(c, other["message_id"]))["id"] != inc["id"]


async def test_life_threatening_help_request_is_never_hidden(database_url: str) -> None:
    a, b = Nsp("oss-centrum"), Nsp("oss-schadewijk")
    async with running(database_url) as (_, c):
        sit = a.msg("situation_report", fire("Kerkstraat 12, Oss"))
        await post(c, sit)
        p1s = [
            b.msg("help_request", help_p1("Kerkstraat 12", "Brand, mensen nog binnen")),
            a.msg("help_request", help_p1("kerkstr. 12 oss", "Brand in woning, man binnen")),
        ]
        for m in p1s:
            await post(c, m)
        incident = await item_of(c, sit["message_id"])
        queue = (await c.get("/api/v1/queue")).json()
        queued = {e["item"]["id"]: e for e in queue}
        for m in p1s:
            own = await item_of(c, m["message_id"])
            # Its own place in the queue, linked to the incident it probably duplicates.
            assert own["id"] != incident["id"] and own["report_count"] == 1
            assert own["life_threatening"] is True and own["duplicate_status"] == "pending"
            assert own["possible_duplicate_of"] is not None
            assert own["id"] in queued
            assert "operator decides" in queued[own["id"]]["priority"]["line"]
            assert queued[own["id"]]["priority"]["score"] >= 3000
        # P1 items rank above the non-P1 incident.
        ranks = {e["item"]["id"]: e["rank"] for e in queue}
        for m in p1s:
            assert ranks[(await item_of(c, m["message_id"]))["id"]] < ranks[incident["id"]]
        # Deciding "separate" keeps it in the queue; the question is closed.
        first = await item_of(c, p1s[0]["message_id"])
        r = await c.post(
            f"/api/v1/incidents/{first['id']}/keep-separate", json={"note": "ander huis"}
        )
        assert r.status_code == 200 and r.json()["duplicate_status"] == "separate"
        assert first["id"] in {e["item"]["id"] for e in (await c.get("/api/v1/queue")).json()}
        again = await c.post(f"/api/v1/incidents/{first['id']}/keep-separate", json={})
        assert again.status_code == 409


async def test_merge_and_split_survive_a_restart_and_guide_later_reports(
    database_url: str,
) -> None:
    a, b = Nsp("oss-centrum"), Nsp("oss-schadewijk")
    async with running(database_url) as (_, c):
        # Two incidents the grouping keeps apart (other numbers), one with a stray report.
        x1 = a.msg("situation_report", fire("Molenstraat 3, Oss", "Schuur in brand achter huis"))
        y1 = b.msg("situation_report", fire("Molenstraat 40, Oss", "Rook uit schuur, aggregaat"))
        x2 = a.msg("situation_report", fire("Molenstraat 3", "Brand in tuinhuisje, slaat over"))
        stray = b.msg(
            "situation_report",
            fire("Molenstraat 4, Oss", "Schuur brandt, buren blussen met tuinslang"),
        )
        for m in (x1, y1, x2, stray):
            await post(c, m)
        x = await item_of(c, x1["message_id"])
        y = await item_of(c, y1["message_id"])
        assert x["id"] != y["id"]
        assert stray["message_id"] in {r["message_id"] for r in x["reports"]}

        merged = await c.post(
            f"/api/v1/incidents/{y['id']}/merge", json={"into": x["id"], "note": "zelfde schuur"}
        )
        assert merged.status_code == 200, merged.text
        split = await c.post(
            f"/api/v1/incidents/{x['id']}/split",
            json={"message_ids": [stray["message_id"]], "note": "ander adres"},
        )
        assert split.status_code == 201, split.text
        z_id = split.json()["id"]
        assert split.json()["split_from"] == x["id"]
        # Respected at once, before any restart.
        now_like_stray = b.msg(
            "situation_report", fire("Molenstraat 4, Oss", "Schuur brandt, buren blussen")
        )
        await post(c, now_like_stray)
        assert (await item_of(c, now_like_stray["message_id"]))["id"] == z_id

    # Restart: a new app on the same database.
    async with running(database_url) as (_, c):
        x_now = (await c.get(f"/api/v1/incidents/{x['id']}")).json()
        y_now = (await c.get(f"/api/v1/incidents/{y['id']}")).json()
        z_now = (await c.get(f"/api/v1/incidents/{z_id}")).json()
        assert {r["message_id"] for r in x_now["reports"]} == {
            x1["message_id"],
            x2["message_id"],
            y1["message_id"],
        }
        assert y_now["state"] == "closed_duplicate" and y_now["merged_into"] == x["id"]
        assert y_now["reports"] == []  # moved, not deleted: see the audit trail
        assert [r["message_id"] for r in z_now["reports"]] == [
            stray["message_id"],
            now_like_stray["message_id"],
        ]

        # Later reports follow the operator's decisions.
        like_y = b.msg("situation_report", fire("Molenstraat 40", "Rook uit schuur, aggregaat"))
        like_stray = a.msg(
            "situation_report", fire("Molenstraat 4, Oss", "Schuur brandt, buren blussen")
        )
        await post(c, like_y)
        await post(c, like_stray)
        assert (await item_of(c, like_y["message_id"]))["id"] == x["id"]
        assert (await item_of(c, like_stray["message_id"]))["id"] == z_id

        audit_y = (await c.get(f"/api/v1/items/{y['id']}/audit")).json()
        merged_into = [e for e in audit_y if e["action"] == "merged_into"]
        assert merged_into and merged_into[0]["details"]["message_ids"] == [y1["message_id"]]
        assert merged_into[0]["note"] == "zelfde schuur" and merged_into[0]["actor"]
        audit_x = (await c.get(f"/api/v1/items/{x['id']}/audit")).json()
        assert [e["action"] for e in audit_x] == ["created", "merge", "split"]
        # A merged item cannot be acted on any more; merging it again is a conflict.
        r = await c.post(f"/api/v1/items/{y['id']}/state", json={"state": "acknowledged"})
        assert r.status_code == 409 and "merged into" in r.json()["detail"]
        r = await c.post(f"/api/v1/incidents/{y['id']}/merge", json={"into": x["id"]})
        assert r.status_code == 409


async def test_split_and_merge_reject_bad_requests(database_url: str) -> None:
    a = Nsp("oss-centrum")
    async with running(database_url) as (_, c):
        m1 = a.msg("situation_report", fire("Kerkstraat 12, Oss"))
        await post(c, m1)
        inc = await item_of(c, m1["message_id"])
        r = await c.post(f"/api/v1/incidents/{inc['id']}/split", json={"message_ids": []})
        assert r.status_code == 422 and "message_ids" in r.text
        r = await c.post(
            f"/api/v1/incidents/{inc['id']}/split", json={"message_ids": [m1["message_id"]]}
        )
        assert r.status_code == 422 and "at least one report must stay" in r.text
        r = await c.post(
            f"/api/v1/incidents/{inc['id']}/split",
            json={"message_ids": ["01ARZ3NDEKTSV4RRFFQ69G5FAV"]},
        )
        assert r.status_code == 422 and "not reports of" in r.text
        r = await c.post(f"/api/v1/incidents/{inc['id']}/merge", json={"into": inc["id"]})
        assert r.status_code == 422 and "into" in r.text
        r = await c.post(f"/api/v1/incidents/{inc['id']}/merge", json={"into": 99999})
        assert r.status_code == 404
        r = await c.post(f"/api/v1/incidents/{inc['id']}/merge", json={"into": "x"})
        assert r.status_code == 422 and "into" in r.text
        r = await c.post(f"/api/v1/items/{inc['id']}/state", json={"state": "gone"})
        assert r.status_code == 422 and "state" in r.text
        r = await c.post(f"/api/v1/items/{inc['id']}/state", json={"state": "resolved", "x": 1})
        assert r.status_code == 422
        assert (await c.get("/api/v1/items/99999")).status_code == 404
        assert (await c.get("/api/v1/items/99999/audit")).status_code == 404
        assert (await c.get("/api/v1/incidents", params={"state": "nope"})).status_code == 422


# --------------------------------------------------------------------------- workflow


async def test_workflow_transitions_409_and_audit_trail(database_url: str) -> None:
    a = Nsp("oss-centrum")
    async with running(database_url) as (_, c):
        m = a.msg("situation_report", fire("Kerkstraat 12, Oss"))
        await post(c, m)
        item = await item_of(c, m["message_id"])
        url = f"/api/v1/items/{item['id']}/state"
        bad = await c.post(url, json={"state": "resolved"})
        assert bad.status_code == 409
        assert "'new'" in bad.json()["detail"] and "acknowledged" in bad.json()["detail"]
        steps = [
            ("acknowledged", "brandweer gebeld"),
            ("dispatched", "brandweer onderweg"),
            ("in_progress", None),
            ("resolved", "geblust"),
        ]
        for state, note in steps:
            r = await c.post(url, json={"state": state, "note": note})
            assert r.status_code == 200, r.text
            assert r.json()["state"] == state and r.headers["x-acks-queued"] == "1"
        assert (await c.post(url, json={"state": "dispatched"})).status_code == 409
        assert (await c.post(url, json={"state": "resolved"})).status_code == 409
        assert item["id"] not in {e["item"]["id"] for e in (await c.get("/api/v1/queue")).json()}
        # Reopen is explicit and audited.
        assert (await c.post(url, json={"state": "acknowledged", "note": "rook weer"})).is_success
        trail = (await c.get(f"/api/v1/items/{item['id']}/audit")).json()
        changes = [
            (e["from_state"], e["to_state"], e["note"]) for e in trail if e["action"] == "state"
        ]
        assert changes == [
            ("new", "acknowledged", "brandweer gebeld"),
            ("acknowledged", "dispatched", "brandweer onderweg"),
            ("dispatched", "in_progress", None),
            ("in_progress", "resolved", "geblust"),
            ("resolved", "acknowledged", "rook weer"),
        ]
        assert trail[0]["action"] == "created" and trail[0]["actor"] == "grouping"
        # The audit trail names the authenticated identity (the test token "test-admin").
        assert all(e["actor"] == "test-admin" and e["at"] for e in trail if e["action"] == "state")
        assert (
            await c.post(url, json={"state": "closed_not_needed", "note": "x" * 1001})
        ).status_code == 422


async def test_resource_request_is_a_queue_item_raised_by_low_fuel(database_url: str) -> None:
    low, fine = Nsp("nsp-low"), Nsp("nsp-fine")
    fuel = {"resource": "fuel", "item": "diesel voor aggregaat", "quantity": 200, "unit": "liter"}
    async with running(database_url) as (_, c):
        await post(
            c,
            low.msg(
                "status", {"state": "open", "power_source": "generator", "power_hours_left": 1.5}
            ),
        )
        await post(
            c,
            fine.msg(
                "status", {"state": "open", "power_source": "generator", "power_hours_left": 30}
            ),
        )
        await post(c, fine.msg("resource_request", fuel))
        await post(c, low.msg("resource_request", fuel))
        queue = (await c.get("/api/v1/queue")).json()
        resources = [e for e in queue if e["item"]["item_type"] == "resource_request"]
        assert [e["item"]["nsp_ids"] for e in resources] == [["nsp-low"], ["nsp-fine"]]
        top = resources[0]["priority"]
        assert "1.5 h of power left" in top["line"] and "nog 1.5 uur stroom" in top["line_nl"]
        assert any(r["code"] == "nsp_power" and r["points"] > 0 for r in top["reasons"])


# --------------------------------------------------------------------------- determinism


def _fixed_input() -> list[Accepted]:
    nsps = {n: Nsp(n) for n in ("oss-centrum", "oss-schadewijk", "berghem", "lith")}
    plan: list[tuple[int, str, str, dict[str, Any]]] = [
        (0, "oss-centrum", "situation_report", fire("Kerkstraat 12, Oss")),
        (2, "oss-schadewijk", "situation_report", fire("kerkstr. 12 oss", "Rook uit dak")),
        (
            3,
            "berghem",
            "help_request",
            help_p1(
                "Hoogstraat 5, Berghem", "Man onwel, reageert niet", "medical", people_involved=1
            ),
        ),
        (
            5,
            "lith",
            "situation_report",
            {
                "category": "water",
                "severity": "moderate",
                "location": {"address": "Dorpsstraat 8, Lith"},
                "description": "Geen drinkwater in de flat",
            },
        ),
        (
            5,
            "oss-centrum",
            "situation_report",
            {
                "category": "water",
                "severity": "moderate",
                "location": {"address": "Molenstraat 2, Oss"},
                "description": "Geen drinkwater in de flat",
            },
        ),
        (
            9,
            "oss-centrum",
            "resource_request",
            {"resource": "water", "item": "flessen water", "quantity": 40, "unit": "dozen"},
        ),
        (11, "oss-schadewijk", "help_request", help_p1("Kerkstraat 12", "Brand, iemand binnen")),
        (
            14,
            "berghem",
            "situation_report",
            {
                "category": "rumour",
                "severity": "moderate",
                "description": "Gerucht dat water vergiftigd is",
            },
        ),
        (
            15,
            "lith",
            "situation_report",
            {
                "category": "rumour",
                "severity": "moderate",
                "description": "Gerucht: kraanwater is vergiftigd",
            },
        ),
    ]
    out = []
    for minute, nsp, kind, body in plan:
        at = T0 + timedelta(minutes=minute)
        msg = make_up(kind, nsp, nsps[nsp].seq + 1, body, sent_at=at)
        nsps[nsp].seq += 1
        out.append(Accepted(msg, at, "mqtt"))
    return out


async def test_queue_order_is_identical_across_two_runs_on_the_same_input(
    make_database_url: Callable[[], str],
) -> None:
    messages = _fixed_input()
    runs = []
    for _ in range(2):
        async with running(make_database_url()) as (app, c):
            ctx = app.state.ctx
            for start in range(0, len(messages), 3):
                store_batch(
                    ctx.engine, messages[start : start + 3], [], [], "cp-t", [app.state.triage.hook]
                )
            at = (T0 + timedelta(minutes=45)).isoformat()
            queue = (await c.get("/api/v1/queue", params={"at": at})).json()
            runs.append(
                [
                    (
                        e["rank"],
                        e["item"]["item_type"],
                        e["item"]["representative_message_id"],
                        e["item"]["report_count"],
                        e["priority"]["score"],
                        e["priority"]["line"],
                    )
                    for e in queue
                ]
            )
            assert (await c.get("/api/v1/queue", params={"at": at})).json() == queue
    assert runs[0] == runs[1]
    assert len(runs[0]) >= 6
    scores = [r[4] for r in runs[0]]
    assert scores == sorted(scores, reverse=True)
    # Both P1 help requests lead; the two identical water reports tie on score and are
    # ordered by first seen, then id.
    assert [r[5].split(" ")[0] for r in runs[0][:2]] == ["P1", "P1"]


async def test_open_incidents_as_geojson_for_the_gis_teams(database_url: str) -> None:
    a, b = Nsp("oss-centrum"), Nsp("berghem")
    async with running(database_url) as (_, c):
        located = fire("Molenstraat 8, Oss")
        located["location"].update(lat=51.765, lon=5.52)
        await post(c, a.msg("situation_report", located))
        await post(c, b.msg("situation_report", fire("Kerkstraat 30, Berghem")))
        r = await c.get("/api/v1/geo/incidents.geojson")
        assert r.status_code == 200 and r.headers["content-type"] == "application/geo+json"
        doc = r.json()
        assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 2
        by_address = {f["properties"]["address"]: f for f in doc["features"]}
        point = by_address["Molenstraat 8, Oss"]["geometry"]
        assert point["type"] == "Point" and point["coordinates"] == [5.52, 51.765]
        assert by_address["Kerkstraat 30, Berghem"]["geometry"] is None
        # Resolved incidents leave the export.
        item = doc["features"][0]["id"]
        for state in ("acknowledged", "resolved"):
            r = await c.post(f"/api/v1/items/{item}/state", json={"state": state, "note": "x"})
            assert r.is_success, r.text
        left = (await c.get("/api/v1/geo/incidents.geojson")).json()["features"]
        assert [f["id"] for f in left] == [doc["features"][1]["id"]]
