"""Must show 1 of issue 16: an exercise and a real P1 at the same time, on real processes.

Mosquitto, a CP (``noodnet cp``), two gateways (``noodnet gateway``) and a region
(``noodnet region``, the real upstream receiver) each run in their own process. The exercise
is opened with ``noodnet exercise open``; gateway nsp-a's staff screen is put in exercise
mode; ``noodnet exercise play`` plays a scenario file through the gateways' own HTTP APIs,
including a link cut at nsp-b; at the same time staff at nsp-a enter a REAL P1 through the
staff form (choosing "ECHT noodgeval") for the same address as an exercise P1; the CP
publishes an exercise bulletin and task and a real bulletin.

Then every surface is read: the CP API (queue, incidents, messages, filters), the live
stream, the console and the crisis-room dashboard in Chromium, the gateway's board (also as
printed), staff screen and tasks, the after-action printout, and what the region received
(P1 items and summary). Every exercise item carries OEFENING OEFENING OEFENING; the real P1
does not, is never grouped with the exercise P1 and is first in the queue. Finally
``noodnet exercise close``, ``export`` and ``purge``: the exercise's rows are gone, and every
real row is still there, unchanged (read per table before and after; only the running
system's own writes, an owed summary or a status, may add real rows meanwhile).
"""

from __future__ import annotations

import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from noodcore.httpguard import TOKEN_COOKIE
from noodnet.cli import app
from schemas.common import EXERCISE_MARK
from tests.support import (
    Mosquitto,
    Proc,
    cp_process,
    gateway_process,
    issue_cp_token,
    wait_placed,
    wait_until,
)
from tests.upstream.support import SCREENSHOTS, service_process

CP = "cp-oef"
EX = "oef-test"
REAL_P1_TEXT = "ECHT: vrouw (70) gevallen, bloedt, reageert slecht"


def noodnet(*args: str, token: str) -> str:
    r = CliRunner().invoke(app, list(args), env={"NOODNET_TOKEN": token})
    assert r.exit_code == 0, r.output
    return r.output


def scenario_file(path: Path) -> Path:
    """A scenario in the demo's format (docs/exercise.md): reports at two NSPs and a cut."""
    loc = {"address": "Kerkstraat 12, Oss", "lat": 51.7642, "lon": 5.5201}
    steps = [
        {"at": 0, "nsp": "nsp-a", "kind": "situation_report",
         "body": {"category": "rumour", "severity": "moderate",
                  "description": "OEFENSCENARIO: gerucht dat de stroom een week wegblijft"}},
        {"at": 0, "nsp": "nsp-a", "kind": "help_request",
         "body": {"category": "medical", "urgency": "P1", "location": loc,
                  "description": "OEFENSCENARIO: man (82) aan zuurstof, accu bijna leeg"}},
        {"at": 0, "nsp": "nsp-b", "link": "cut", "note": "verbinding valt weg"},
        {"at": 0.1, "nsp": "nsp-b", "kind": "resource_request",
         "body": {"resource": "medicine", "item": "insuline (oefening)", "quantity": 12,
                  "unit": "pennen", "urgency": "P1"}},
        {"at": 0.2, "nsp": "nsp-b", "kind": "help_request",
         "body": {"category": "vulnerable_person", "urgency": "P2",
                  "location": {"address": "Wilgenlaan 4, Berghem"},
                  "people_involved": 2, "vulnerable_people": 2,
                  "description": "OEFENSCENARIO: echtpaar op 4e verdieping, lift werkt niet"}},
        {"at": 0.6, "nsp": "nsp-b", "link": "restore", "note": "verbinding terug"},
    ]  # fmt: skip
    path.write_text(json.dumps({"name": "Oefening test", "steps": steps}), encoding="utf-8")
    return path


# Every table an exercise can write at a CP, with what counts as real there.
TABLES = (
    "message",
    "deadletter",
    "triage_item",
    "triage_report",
    "bulletin",
    "nsp_task",
    "upstream_outbox",
)


def counts(database_url: str, tables: tuple[str, ...] = TABLES) -> dict[str, tuple[int, int]]:
    """(real, exercise) rows per table."""
    engine = sa.create_engine(database_url)

    def n(conn: sa.Connection, t: str, where: str) -> int:
        return int(conn.execute(sa.text(f"SELECT count(*) FROM {t} WHERE {where}")).scalar_one())

    try:
        with engine.connect() as conn:
            return {
                t: (n(conn, t, "exercise_id IS NULL"), n(conn, t, "exercise_id IS NOT NULL"))
                for t in tables
            }
    finally:
        engine.dispose()


def real_rows(database_url: str) -> dict[str, list[Any]]:
    """Every real row's key, to prove the purge left them all exactly as they were."""
    engine = sa.create_engine(database_url)
    keys = {
        "message": "message_id, body",
        "triage_item": "id, state, description",
        "triage_report": "message_id, item_id",
        "bulletin": "bulletin_id, current_version",
        "upstream_outbox": "id, idempotency_key",
    }
    try:
        with engine.connect() as conn:
            return {
                t: sorted(
                    map(
                        str,
                        conn.execute(
                            sa.text(f"SELECT {k} FROM {t} WHERE exercise_id IS NULL")
                        ).all(),
                    )
                )
                for t, k in keys.items()
            }
    finally:
        engine.dispose()


def stream_events(cp: Proc, want: set[str]) -> list[dict[str, Any]]:
    """Read the live stream (SSE) from the start until the P1 events of ``want`` came."""
    seen: list[dict[str, Any]] = []
    with httpx.stream(
        "GET", cp.url + "/api/v1/stream", params={"after": 0}, headers=cp.headers, timeout=20
    ) as r:
        for line in r.iter_lines():
            if line.startswith("data:"):
                ev = json.loads(line[5:])
                seen.append(ev)
                got = {e["data"].get("message_id") for e in seen if e["type"] == "p1"}
                if want <= got:
                    break
    return seen


@pytest.mark.skipif(
    os.environ.get("NOODNET_TEST_DB") == "postgres" and not os.environ.get("NOODNET_EXERCISE_PG"),
    reason="browser test: the SQLite pass covers it (storage: test_exercise_data.py)",
)
def test_exercise_and_a_real_p1_at_the_same_time_on_every_surface(
    tmp_path: Path, broker: Mosquitto, make_database_url: Any, browser: Any
) -> None:
    cp_db, region_db = make_database_url("cp"), make_database_url("region")
    region = service_process(tmp_path, "region", "vr-test", region_db)
    region.start()  # binds port 0 and reports it: the CP is then pointed at it
    cp = cp_process(
        tmp_path,
        broker,
        cp_db,
        cp_id=CP,
        NOODNET_UPSTREAM_URLS=region.url,
        NOODNET_UPSTREAM_TOKEN=issue_cp_token(region_db, "cp"),
        NOODNET_UPSTREAM_RETRY_BASE_SECONDS="0.2",
        NOODNET_UPSTREAM_RETRY_MAX_SECONDS="1",
        NOODNET_UPSTREAM_POLL_SECONDS="0.2",
        NOODNET_SUMMARY_INTERVAL_SECONDS="0",
    )
    # No heartbeat during the test: the purge check compares the real rows before and after,
    # and on a slow machine the default 300 s heartbeat fell between the two (+2 statuses).
    gws = {
        n: gateway_process(tmp_path, broker, n, cp_id=CP, NOODNET_HEARTBEAT_SECONDS="86400")
        for n in ("nsp-a", "nsp-b")
    }
    admin = cp.token
    assert admin is not None
    try:
        with ThreadPoolExecutor(3) as pool:
            cp_up = pool.submit(cp.start, "/readyz")
            for done in [pool.submit(g.start) for g in gws.values()]:
                done.result()
            cp_up.result()
        a, b = gws["nsp-a"], gws["nsp-b"]

        # -- the exercise opens; nsp-a's staff screen goes into exercise mode --------------
        out = noodnet(
            "exercise",
            "open",
            EX,
            "--name",
            "Oefening stroomuitval",
            "--cp-url",
            cp.url,
            token=admin,
        )
        assert EX in out and "open" in out
        r = httpx.put(
            a.url + "/api/v1/exercise",
            json={"exercise_id": EX, "name": "Oefening"},
            headers=a.headers,
        )
        assert r.status_code == 200 and r.json()["mark"] == EXERCISE_MARK

        # -- a real bulletin, an exercise bulletin and an exercise task from the CP --------
        def bulletin(headline: str, **extra: Any) -> httpx.Response:
            body = {
                "texts": [{"language": "nl", "headline": headline, "text": f"{headline}."}],
                **extra,
            }
            return httpx.post(
                cp.url + "/api/v1/bulletins", json=body, headers=cp.headers, timeout=10
            )

        assert bulletin("Drinkwater bij de kerk").status_code == 201
        ex_bulletin = bulletin("Oefenbericht: noodwater", exercise=EX)
        assert ex_bulletin.status_code == 201, ex_bulletin.text
        assert ex_bulletin.json()["exercise_mark"] == EXERCISE_MARK
        assert bulletin("Onbekende oefening", exercise="oef-bestaat-niet").status_code == 422
        task = cp.post(
            "/api/v1/tasks",
            {"title": "Oefening: tel de bezoekers", "nsp_ids": ["nsp-a"], "exercise": EX},
        )
        assert task.status_code == 201, task.text

        # -- the scenario plays through the gateways' own APIs, with a link cut at nsp-b ---
        gateways_file = tmp_path / "gateways.json"
        gateways_file.write_text(
            json.dumps({n: {"url": g.url, "token": g.token} for n, g in gws.items()})
        )
        played = noodnet(
            "exercise", "play", str(scenario_file(tmp_path / "scenario.json")),
            "--exercise", EX, "--gateways", str(gateways_file), token=admin,
        )  # fmt: skip
        assert "6 ok, 0 refused" in played, played
        assert "link cut" in played and "link restore" in played

        # -- meanwhile a REAL emergency at nsp-a, entered on the staff screen in exercise mode
        form = {
            "category": "medical", "urgency": "P1", "address": "Kerkstraat 12, Oss",
            "people_involved": "1", "vulnerable_people": "1", "description": REAL_P1_TEXT,
            "conscious": "yes", "breathing": "no",  # the medical P1 prompts
        }  # fmt: skip
        unsure = httpx.post(a.url + "/staff/new/help", data=form, headers=a.headers)
        assert unsure.status_code == 422, "in exercise mode the choice is never assumed"
        assert "Kies OEFENING of ECHT noodgeval" in unsure.text
        assert REAL_P1_TEXT in unsure.text  # what was typed is kept
        sent = httpx.post(
            a.url + "/staff/new/help", data={**form, "exercise_choice": "real"}, headers=a.headers
        )
        assert sent.status_code == 303, sent.text
        real_p1 = re.search(r"new=([0-9A-Z]{26})", sent.headers["location"])
        assert real_p1 is not None
        real_p1_id = real_p1.group(1)
        water = {"category": "water", "severity": "moderate", "description": "Druk valt weg"}
        real_sit = b.post("/api/v1/reports", {"kind": "situation_report", "body": water})
        assert real_sit.status_code == 201

        # -- everything arrives (nsp-b's reports after its link came back) ----------------
        def stored() -> list[dict[str, Any]] | None:
            msgs = cp.get("/api/v1/messages", params={"limit": 1000})
            reports = [m for m in msgs if m["kind"] != "status" and m["kind"] != "receipt"]
            return msgs if len(reports) >= 7 else None

        msgs = wait_until(
            stored, 60, interval=0.3, what="the exercise's and the real reports at the CP"
        )
        exercise_msgs = [m for m in msgs if m["exercise_id"] == EX]
        assert {m["kind"] for m in exercise_msgs} >= {
            "help_request",
            "resource_request",
            "situation_report",
        }
        assert all(m["exercise_mark"] == EXERCISE_MARK for m in exercise_msgs)
        real = next(m for m in msgs if m["message_id"] == real_p1_id)
        assert real["exercise_id"] is None and real["exercise_mark"] is None
        own = [m for m in msgs if m["kind"] in ("status", "receipt")]
        assert own and all(m["exercise_id"] is None for m in own), "the gateway's own: real"

        # -- API: the queue — real first, every exercise item marked ----------------------
        wait_placed(cp)  # stored is acked; the grouping process places them just after
        queue = cp.get("/api/v1/queue")
        assert queue[0]["item"]["representative_message_id"] == real_p1_id, "the real P1 on top"
        assert queue[0]["item"]["exercise_mark"] is None
        assert not queue[0]["item"]["display_text"].startswith("OEFENING")
        ex_items = [e["item"] for e in queue if e["item"]["exercise_id"]]
        assert len(ex_items) >= 3
        for it in ex_items:
            assert it["exercise_mark"] == EXERCISE_MARK
            assert it["display_text"].startswith(EXERCISE_MARK)
        firsts = [e["item"]["exercise_id"] is not None for e in queue]
        assert firsts == sorted(firsts), "real and exercise work never interleave"
        real_item = queue[0]["item"]
        assert real_item["report_count"] == 1, "the real P1 never joined the exercise P1"
        assert all(
            e["item"]["exercise_id"] is None
            for e in cp.get("/api/v1/queue", params={"exercise": "real"})
        )
        assert all(
            e["item"]["exercise_id"] == EX
            for e in cp.get("/api/v1/queue", params={"exercise": "exercise"})
        )
        assert len(cp.get("/api/v1/queue", params={"exercise": EX})) == len(ex_items)
        bad = httpx.get(cp.url + "/api/v1/queue", params={"exercise": "Beide!"}, headers=cp.headers)
        assert bad.status_code == 422 and "exercise must be" in bad.text
        incident = (
            cp.get(f"/api/v1/incidents/{ex_items[0]['id']}")
            if ex_items[0]["item_type"] == "incident"
            else None
        )
        if incident:
            assert all(r["exercise_mark"] == EXERCISE_MARK for r in incident["reports"])
        merge = httpx.post(
            f"{cp.url}/api/v1/incidents/{real_item['id']}/merge",
            json={"into": next(i["id"] for i in ex_items if i["item_type"] == "incident")},
            headers=cp.headers,
        )
        assert merge.status_code == 409 and "never merge" in merge.text

        # -- the live stream: the exercise P1 event marked, the real one not ---------------
        ex_p1 = next(
            m for m in exercise_msgs if m["kind"] == "help_request" and m["urgency"] == "P1"
        )
        events = stream_events(cp, {ex_p1["message_id"], real_p1_id})
        p1_events = {e["data"]["message_id"]: e["data"] for e in events if e["type"] == "p1"}
        assert p1_events[ex_p1["message_id"]]["mark"] == EXERCISE_MARK
        assert p1_events[ex_p1["message_id"]]["text"].startswith(EXERCISE_MARK)
        assert p1_events[real_p1_id]["mark"] is None
        assert not p1_events[real_p1_id]["text"].startswith("OEFENING")

        # -- the picture behind the dashboard ---------------------------------------------
        pic = cp.get("/api/v1/picture")
        p1s = pic["p1_items"]
        assert p1s[0]["message_id"] == real_p1_id and p1s[0]["mark"] is None
        assert all(
            p["mark"] == EXERCISE_MARK and p["text"].startswith(EXERCISE_MARK)
            for p in p1s
            if p["exercise"]
        )
        content = pic["cps"][0]["content"]
        assert all(
            i["exercise"] is None if "exercise" in i else True for i in content["open_items"]
        )
        assert {i["message_id"] for i in content["open_items"]} & {
            m["message_id"] for m in exercise_msgs
        } == set()
        (section,) = content["exercises"]
        assert section["exercise_id"] == EX and section["mark"] == EXERCISE_MARK
        assert all(i["text"].startswith(EXERCISE_MARK) for i in section["open_items"])

        # -- forwarded to the region: P1 items and the summary ----------------------------
        assert cp.post("/api/v1/upstream/summaries", json=None).status_code == 201

        def region_has_all() -> dict[str, Any] | None:
            rp = region.get("/api/v1/picture")
            ids = {p["message_id"] for p in rp["p1_items"]}
            ready = rp["cps"] and rp["cps"][0]["content"].get("exercises")
            return rp if ready and {real_p1_id, ex_p1["message_id"]} <= ids else None

        rpic = wait_until(
            region_has_all, 90, interval=0.3, what="the region to receive P1s and a summary"
        )
        rp1 = {p["message_id"]: p for p in rpic["p1_items"]}
        assert rp1[real_p1_id]["mark"] is None and not rp1[real_p1_id]["text"].startswith(
            "OEFENING"
        )
        assert rp1[ex_p1["message_id"]]["mark"] == EXERCISE_MARK
        assert rp1[ex_p1["message_id"]]["text"].startswith(EXERCISE_MARK)
        assert rpic["p1_items"][0]["message_id"] == real_p1_id, "real P1 on top at the region too"
        rsection = rpic["cps"][0]["content"]["exercises"][0]
        assert rsection["mark"] == EXERCISE_MARK
        assert all(i["text"].startswith(EXERCISE_MARK) for i in rsection["open_items"])
        real_open = rpic["cps"][0]["content"]["open_items"]
        assert real_p1_id in {i["message_id"] for i in real_open}
        assert not any(i["text"].startswith("OEFENING") for i in real_open)

        # -- the gateway: board (screen and printout), staff screen, tasks ----------------
        def gw_has(path: str, n: int) -> list[dict[str, Any]] | None:
            rows: list[dict[str, Any]] = a.get(path)
            return rows if len(rows) >= n else None

        boards = wait_until(
            lambda: gw_has("/api/v1/bulletins", 2), 90, what="both bulletins at nsp-a"
        )
        assert {x["exercise_mark"] for x in boards} == {EXERCISE_MARK, None}
        (ex_task,) = wait_until(lambda: gw_has("/api/v1/tasks", 1), 90, what="the task at nsp-a")
        assert ex_task["exercise_mark"] == EXERCISE_MARK
        sent_list = a.get("/api/v1/reports", params={"limit": 100})
        assert next(x for x in sent_list if x["message_id"] == real_p1_id)["exercise_mark"] is None

        staff = {"Authorization": f"Bearer {a.token}"}
        ctx = browser.new_context(
            viewport={"width": 1280, "height": 1000}, locale="nl-NL", extra_http_headers=staff
        )
        page = ctx.new_page()
        page.goto(a.url + "/board")
        ex_card = page.locator("li.bulletin.exercise")
        assert ex_card.count() == 1
        assert "OEFENING OEFENING OEFENING" in ex_card.inner_text()
        real_card = page.locator("li.bulletin:not(.exercise)")
        assert real_card.count() == 1 and "OEFENING" not in real_card.inner_text()
        page.emulate_media(media="print")  # the board as printed for the door
        assert "OEFENING OEFENING OEFENING" in page.locator("li.bulletin.exercise").inner_text()
        page.screenshot(path=str(SCREENSHOTS / "exercise-board-print.png"), full_page=True)
        page.emulate_media(media="screen")
        page.goto(a.url + "/staff/sent")
        assert "OEFENING OEFENING OEFENING" in page.locator("#exercise-banner").inner_text()
        real_li = page.locator(f"#report-{real_p1_id}")
        assert "ECHT" in real_li.inner_text() and EXERCISE_MARK not in real_li.inner_text()
        for li in page.locator("li.sent-item.exercise").all():
            assert "OEFENING OEFENING OEFENING" in li.inner_text()
        page.screenshot(path=str(SCREENSHOTS / "exercise-staff-sent.png"), full_page=True)
        page.goto(a.url + "/staff/tasks")
        assert "OEFENING OEFENING OEFENING" in page.locator("li.task.exercise").inner_text()
        ctx.close()

        # -- the console and the crisis-room dashboard in Chromium -------------------------
        ctx = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="nl-NL")
        ctx.add_cookies(
            [{"name": TOKEN_COOKIE, "value": issue_cp_token(cp_db, "operator"), "url": cp.url}]
        )
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(cp.url + "/console")
        page.wait_for_selector("#queue li.q-item.exercise")
        page.wait_for_selector(".ex-banner")
        items = page.locator("#queue li.q-item")
        assert items.count() == len(queue)
        first = items.nth(0)
        assert EXERCISE_MARK not in first.inner_text() and "ECHT" in first.inner_text()
        assert REAL_P1_TEXT in first.inner_text()
        for li in page.locator("#queue li.q-item.exercise").all():
            assert li.inner_text().startswith(EXERCISE_MARK)
        assert page.locator("#queue li.ex-section").count() == 1
        assert "1 levensbedreigende" in page.locator("#p1-alert").inner_text(), (
            "only the real P1 alarms"
        )
        assert "OEFENING" in page.locator("#exercise-p1").inner_text()
        page.screenshot(path=str(SCREENSHOTS / "exercise-console.png"), full_page=True)
        page.goto(cp.url + "/dashboard")
        page.wait_for_selector("#p1 li.exercise")
        page.wait_for_selector("#exercise-panel:not([hidden])")
        p1_list = page.locator("#p1 li")
        assert (
            "OEFENING" not in p1_list.nth(0).inner_text()
            and "vrouw (70)" in p1_list.nth(0).inner_text()
        )
        for li in page.locator("#p1 li.exercise").all():
            assert "OEFENING OEFENING OEFENING" in li.inner_text()
        for li in page.locator("#queue li").all():
            assert "OEFENING" not in li.inner_text(), "the real queue panel holds real items only"
        assert "OEFENING OEFENING OEFENING" in page.locator("#exercise-panel").inner_text()
        page.screenshot(path=str(SCREENSHOTS / "exercise-dashboard.png"), full_page=True)
        page.goto(cp.url + "/aar")  # the after-action printout
        page.emulate_media(media="print")
        for sec in page.locator("section.item.exercise").all():
            assert "OEFENING OEFENING OEFENING" in sec.inner_text()
        assert page.locator("section.item.exercise").count() >= 3
        assert (
            "OEFENING"
            not in page.locator(f"section.item[id='item-{real_item['id']}']").inner_text()
        )
        assert not errors, errors
        ctx.close()

        # -- close, export, purge: the real data stays, untouched -------------------------
        # Receipts and task updates go out on their own time: count once the gateways have
        # nothing left that the CP has not acked.
        wait_until(
            lambda: all(g.get("/api/v1/link")["pending_count"] == 0 for g in gws.values()),
            60,
            interval=0.3,
            what="every gateway's outbox acked by the CP",
        )
        before = counts(cp_db)
        real_before = real_rows(cp_db)
        assert all(ex > 0 for t, (_, ex) in before.items() if t not in ("deadletter",)), before
        out = noodnet("exercise", "close", EX, "--cp-url", cp.url, token=admin)
        assert "closed" in out
        export = tmp_path / "oefening.json"
        noodnet("exercise", "export", EX, "--out", str(export), "--cp-url", cp.url, token=admin)
        exported = json.loads(export.read_text())
        assert exported["mark"] == EXERCISE_MARK
        assert len(exported["messages"]) == before["message"][1]
        assert {m["exercise_id"] for m in exported["messages"]} == {EX}
        csv_out = tmp_path / "oefening.csv"
        noodnet(
            "exercise",
            "export",
            EX,
            "--format",
            "csv",
            "--out",
            str(csv_out),
            "--cp-url",
            cp.url,
            token=admin,
        )
        lines = csv_out.read_text().splitlines()
        assert all(line.startswith(EXERCISE_MARK) for line in lines[1:]) and len(lines) > 3
        refused = CliRunner().invoke(
            app, ["exercise", "purge", EX, "--cp-url", cp.url], env={"NOODNET_TOKEN": admin}
        )
        assert refused.exit_code == 2 and "--yes" in refused.output
        out = noodnet("exercise", "purge", EX, "--yes", "--cp-url", cp.url, token=admin)
        assert "purged" in out
        after = counts(cp_db)
        assert all(ex == 0 for _, ex in after.values()), after
        # The CP keeps living meanwhile: a summary it owed (deferred by its CPU budget on a
        # busy machine) or a gateway's status may add real rows. So: every real row that was
        # there is still there, unchanged; new real rows only where the running system writes
        # them by itself, and none of them is a former exercise row.
        real_after = real_rows(cp_db)
        for t, rows in real_before.items():
            missing = set(rows) - set(real_after[t])
            assert not missing, f"{t}: real rows lost or changed by the purge: {missing}"
        live_tables = {"message", "upstream_outbox"}
        assert {t: r for t, (r, _) in after.items() if t not in live_tables} == {
            t: r for t, (r, _) in before.items() if t not in live_tables
        }, "the purge removed or added real rows"
        new_msgs = "".join(sorted(set(real_after["message"]) - set(real_before["message"])))
        assert not any(m["message_id"] in new_msgs for m in exported["messages"]), new_msgs
        assert cp.get(f"/api/v1/exercises/{EX}")["state"] == "purged"
        assert cp.get("/api/v1/queue")[0]["item"]["representative_message_id"] == real_p1_id
        # The region keeps what it received until it purges too (the same command there).
        r = httpx.post(f"{region.url}/api/v1/exercises/{EX}/purge", headers=region.headers)
        assert r.status_code == 200 and r.json()["deleted"]["region_p1_items"] >= 1
        left = {p["message_id"] for p in region.get("/api/v1/picture")["p1_items"]}
        assert real_p1_id in left and ex_p1["message_id"] not in left
        print(
            "exercise e2e:", {t: f"real {r} / exercise {e}" for t, (r, e) in before.items()},
            "after purge:", {t: f"real {r} / exercise {e}" for t, (r, e) in after.items()},
        )  # fmt: skip
    finally:
        for g in gws.values():
            g.stop()
        cp.stop()
        region.stop()
