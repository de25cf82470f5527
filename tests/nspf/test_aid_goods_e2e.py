"""Citizen aid and scarce goods end to end: real Mosquitto, a CP process and two gateway
processes (issue 13, must show 1 and 2).

1. A volunteer registered at NSP A is asked for a help request from the CP console; the
   assignment reaches NSP A's staff screen (not NSP B's); its states go back up; the CP never
   receives a volunteer's name or phone number — checked on every row of every table of the
   CP database and on every GET answer of the CP's API and pages.
2. Hand-outs at NSP A run its water low; the CP warns with days left; a delivery planned on
   the console is confirmed at the NSP while the link is cut, the gateway is SIGKILLed and
   restarted; afterwards both ledgers hold the same entries and balance
   (received − handed out − transferred − written off = on hand).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from tests.support import Mosquitto, Proc, running_system, wait_until

CP = "cp-aid"
VOLUNTEERS = [
    {"first_name": "Fatima", "contact": "06-12345678", "skills": ["carrying", "first_aid"]},
    {"first_name": "Joost", "contact": "0687654321", "skills": ["carrying"]},
]
SECRETS = ("Fatima", "Joost", "12345678", "0687654321", "87654321")


def _keys_and_strings(value: Any) -> tuple[set[str], set[str]]:
    """Every key and every string value anywhere in a JSON document."""
    keys: set[str] = set()
    strings: set[str] = set()
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            keys.update(v)
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, str):
            strings.add(v)
    return keys, strings


@pytest.fixture
def system(
    tmp_path: Path, broker: Mosquitto, database_url: str
) -> Iterator[tuple[Proc, dict[str, Proc]]]:
    with running_system(tmp_path, broker, database_url, cp_id=CP) as (cp, gws):
        yield cp, gws


def form(proc: Proc, path: str, data: dict[str, Any]) -> httpx.Response:
    """A form post as the page sends it (same origin)."""
    return httpx.post(
        proc.url + path,
        data=data,
        headers={**proc.headers, "Origin": proc.url},
        timeout=10,
        follow_redirects=False,
    )


def page(proc: Proc, path: str) -> str:
    r = httpx.get(proc.url + path, headers=proc.headers, timeout=10)
    assert r.status_code == 200, r.text[:300]
    return r.text


def test_volunteer_assignment_round_trip_without_personal_data_at_cp(
    system: tuple[Proc, dict[str, Proc]], database_url: str
) -> None:
    cp, gws = system
    a, b = gws["nsp-a"], gws["nsp-b"]
    for v in VOLUNTEERS:
        r = a.post(
            "/api/v1/aid/volunteers",
            {**v, "windows": ["afternoon", "evening"], "languages": ["nl", "ar"], "consent": True},
        )
        assert r.status_code == 201, r.text
    ids = [v["id"] for v in a.get("/api/v1/aid/volunteers")]

    # The CP learns counts only.
    roster = wait_until(
        lambda: [
            r
            for r in cp.get("/api/v1/aid/volunteers")
            if r["nsp_id"] == "nsp-a" and r["total"] == 2
        ],
        30,
        what="volunteer counts of nsp-a at the CP",
    )[0]
    assert roster["by_skill"] == {"carrying": 2, "first_aid": 1}
    assert roster["by_window"] == {"afternoon": 2, "evening": 2}

    # A help request from NSP A reaches the CP ...
    r = a.post(
        "/api/v1/reports",
        {
            "kind": "help_request",
            "body": {
                "category": "vulnerable_person",
                "urgency": "P3",
                "location": {"address": "Kerkstraat 12, Oss"},
                "description": "Oudere bewoner moet verhuizen naar opvang, zware spullen",
            },
        },
    )
    assert r.status_code == 201, r.text
    hr_id = r.json()["message_id"]
    wait_until(lambda: cp.get(f"/api/v1/messages/{hr_id}"), 30, what="help request at CP")
    assert hr_id in page(cp, "/console/aid")

    # ... and the operator asks NSP A for two volunteers from the console.
    r = form(
        cp,
        "/console/aid/assign",
        {
            "nsp_id": "nsp-a",
            "title": "2 sjouwers naar Kerkstraat 12, 14:00",
            "skill": "carrying",
            "count": "2",
            "address": "Kerkstraat 12, Oss",
            "ref_message_id": hr_id,
        },
    )
    assert r.status_code == 303, r.text
    (assignment,) = cp.get("/api/v1/aid/assignments")
    aid = assignment["assignment_id"]
    assert assignment["ref_message_id"] == hr_id

    # It reaches NSP A's staff screen, and only NSP A.
    wait_until(
        lambda: "2 sjouwers naar Kerkstraat 12, 14:00" in page(a, "/staff/aid"),
        30,
        what="assignment on NSP A's staff screen",
    )
    wait_until(
        lambda: cp.get(f"/api/v1/aid/assignments/{aid}")["state"] == "requested",
        30,
        what="CP sees the NSP confirm the assignment",
    )
    assert b.get("/api/v1/aid/assignments") == []

    # Staff pick the volunteers and follow the job through: gevraagd → onderweg → klaar.
    assert (
        form(a, f"/staff/aid/assignments/{aid}/volunteers", {"volunteer_ids": ids}).status_code
        == 303
    )
    assert form(a, f"/staff/aid/assignments/{aid}/state", {"state": "en_route"}).status_code == 303
    cp_side = wait_until(
        lambda: (x := cp.get(f"/api/v1/aid/assignments/{aid}"))["state"] == "en_route" and x,
        30,
        what="onderweg at the CP",
    )
    refs = cp_side["volunteer_refs"]
    assert len(refs) == 2 and all(re.fullmatch(r"v-[0-9a-f]{16}", x) for x in refs)
    assert sorted(refs) == sorted(v["ref"] for v in a.get("/api/v1/aid/volunteers"))
    assert form(a, f"/staff/aid/assignments/{aid}/state", {"state": "done"}).status_code == 303
    done = wait_until(
        lambda: (x := cp.get(f"/api/v1/aid/assignments/{aid}"))["state"] == "done" and x,
        30,
        what="klaar at the CP",
    )
    assert [h["state"] for h in done["history"]][-3:] == ["requested", "en_route", "done"]
    # A step that does not fit is refused at the NSP with the reason.
    r = form(a, f"/staff/aid/assignments/{aid}/state", {"state": "en_route"})
    assert r.status_code == 409 and "stand" in r.text

    # Staff at NSP A also turn a request into a job themselves: it goes up the same way.
    r = a.post(
        "/api/v1/aid/assignments",
        {"title": "Tolk voor gezin in sporthal", "skill": "interpreter", "count": 1},
    )
    assert r.status_code == 201, r.text
    own = r.json()["assignment"]["assignment_id"]
    assert (
        a.post(f"/api/v1/aid/assignments/{own}/volunteers", {"volunteer_ids": ids[:1]}).status_code
        == 200
    )
    assert (
        a.post(
            f"/api/v1/aid/assignments/{own}/state",
            {"state": "failed", "note": "geen tolk Arabisch beschikbaar"},
        ).status_code
        == 200
    )
    wait_until(
        lambda: cp.get(f"/api/v1/aid/assignments/{own}")["state"] == "failed",
        30,
        what="NSP-made assignment at the CP",
    )

    # The summary for the region carries the counts and the jobs by state.
    aid_sum = cp.get("/api/v1/picture")["cps"][0]["content"]["citizen_aid"]
    assert aid_sum["volunteers"] == 2 and aid_sum["by_skill"]["carrying"] == 2
    assert aid_sum["assignments_by_state"] == {"done": 1, "failed": 1}
    # Staff turn the help request they sent into a job on the staff screen: linked to it.
    r = form(a, "/staff/aid/assignments", {"title": "Nog 1 sjouwer", "count": "1",
                                           "ref_message_id": hr_id})  # fmt: skip
    assert r.status_code == 303, r.text
    linked = wait_until(
        lambda: [x for x in cp.get("/api/v1/aid/assignments") if x["title"] == "Nog 1 sjouwer"],
        30,
        what="staff-made job at the CP",
    )[0]
    assert linked["origin"] == "nsp" and linked["ref_message_id"] == hr_id
    assert linked["location"]["address"] == "Kerkstraat 12, Oss"
    # Every upward message is acked: nothing waits in NSP A's outbox.
    wait_until(lambda: a.get("/api/v1/link")["pending_count"] == 0, 30, what="outbox drained")

    # The CP never received a name or phone number: not in any stored row ...
    engine = sa.create_engine(database_url)
    try:
        meta = sa.MetaData()
        meta.reflect(engine)
        with engine.connect() as conn:
            rows = 0
            for table in meta.sorted_tables:
                for row in conn.execute(sa.select(table)):
                    rows += 1
                    text = repr(tuple(row))
                    for secret in SECRETS:
                        assert secret not in text, f"{secret!r} in {table.name}: {text[:300]}"
            stored = conn.execute(sa.text("SELECT count(*) FROM message")).scalar_one()
    finally:
        engine.dispose()
    assert rows > 0 and stored >= 6
    # ... nor in any answer of the CP's API and pages.
    answers = _every_get(cp, aid, own, hr_id)
    assert len(answers) > 20
    for path, text in answers.items():
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} in GET {path}"
    # The NSP's own staff do see them (they stay where they are needed).
    assert "Fatima" in page(a, "/staff/aid") and "06-12345678" in page(a, "/staff/aid")

    # Removal takes every trace at the NSP; the counts at the CP follow.
    fatima = ids[0]
    r = httpx.delete(f"{a.url}/api/v1/aid/volunteers/{fatima}", headers=a.headers, timeout=10)
    assert r.status_code == 204
    assert "Fatima" not in page(a, "/staff/aid")
    wait_until(
        lambda: (
            next(r for r in cp.get("/api/v1/aid/volunteers") if r["nsp_id"] == "nsp-a")["total"]
            == 1
        ),
        30,
        what="counts after removal",
    )


def _every_get(cp: Proc, *ids: str) -> dict[str, str]:
    """Every GET route of the CP (from its OpenAPI), path parameters filled with what exists."""
    spec = httpx.get(f"{cp.url}/openapi.json", timeout=10).json()
    messages = cp.get("/api/v1/messages", params={"limit": 1000})
    fill = {
        "assignment_id": ids[0],
        "message_id": messages[0]["message_id"],
        "nsp_id": "nsp-a",
    }
    out: dict[str, str] = {}
    paths = [p for p, ops in spec["paths"].items() if "get" in ops]
    paths += ["/console", "/console/aid", "/console/goods", "/dashboard"]
    for path in paths:
        if path in ("/api/v1/stream",):
            continue
        names = re.findall(r"{(\w+)}", path)
        if any(n not in fill for n in names):
            continue
        concrete = path.format(**fill)
        r = httpx.get(cp.url + concrete, headers=cp.headers, timeout=20)
        if r.status_code < 500:
            out[concrete] = r.text
        else:
            raise AssertionError(f"GET {concrete}: {r.status_code} {r.text[:300]}")
    for aid in ids[:2]:
        out[f"/api/v1/aid/assignments/{aid}"] = httpx.get(
            f"{cp.url}/api/v1/aid/assignments/{aid}", headers=cp.headers, timeout=10
        ).text
    for m in messages:
        out[f"/api/v1/messages/{m['message_id']}"] = httpx.get(
            f"{cp.url}/api/v1/messages/{m['message_id']}", headers=cp.headers, timeout=10
        ).text
    return out


# --------------------------------------------------------------------------- goods


def _ledger(lines: list[dict[str, Any]], item: str) -> dict[str, float]:
    (line,) = [x for x in lines if x["item"] == item]
    return {k: line[k] for k in ("received", "handed_out", "transferred", "written_off", "on_hand")}


def _balances(x: dict[str, float]) -> bool:
    return (
        abs(x["received"] - x["handed_out"] - x["transferred"] - x["written_off"] - x["on_hand"])
        < 1e-6
    )


@pytest.mark.slow
def test_low_stock_warning_and_delivery_across_link_cut_and_gateway_kill(
    system: tuple[Proc, dict[str, Proc]], broker: Mosquitto
) -> None:
    cp, gws = system
    a = gws["nsp-a"]

    # The CP sets a ration; it reaches NSP A.
    r = httpx.put(
        f"{cp.url}/api/v1/goods/rules",
        json={"rules": [{"item": "drinkwater", "unit": "liter", "max_per_person_per_day": 6}]},
        headers=cp.headers,
        timeout=10,
    )
    assert r.status_code == 200, r.text
    wait_until(lambda: a.get("/api/v1/goods/rules"), 30, what="ration rules at NSP A")

    # Stock comes in, and hand-outs run it low (counts per household, no names).
    r = a.post(
        "/api/v1/goods/entries",
        {
            "type": "received",
            "item": "drinkwater",
            "unit": "liter",
            "quantity": 60,
            "by": "JS",
            "counterpart": "Gemeente",
        },
    )
    assert r.status_code == 201, r.text
    for i in range(8):
        r = form(
            a,
            "/staff/goods/handout",
            {
                "item": "drinkwater",
                "quantity": "6",
                "household_size": "1",
                "household_code": f"H{i}",
            },
        )
        assert r.status_code == 200 and "goods-notice" in r.text, r.text[:500]
    # The ration holds: the same household cannot collect twice on one day.
    r = a.post(
        "/api/v1/goods/handouts",
        {
            "item": "drinkwater",
            "unit": "liter",
            "quantity": 6,
            "household_size": 1,
            "household_code": "H0",
        },
    )
    assert r.status_code == 409 and "already collected" in r.text
    r = a.post(
        "/api/v1/goods/handouts",
        {"item": "drinkwater", "unit": "liter", "quantity": 13, "household_size": 2},
    )
    assert r.status_code == 409 and "at most 12" in r.text

    warning = wait_until(
        lambda: [
            w
            for w in cp.get("/api/v1/goods/warnings")
            if w["nsp_id"] == "nsp-a" and w["on_hand"] == 12
        ],
        30,
        what="low-stock warning at the CP",
    )[0]
    assert warning["item"] == "drinkwater" and warning["low"]
    assert warning["days_left"] is not None and warning["days_left"] < 2
    assert warning["persons_24h"] == 8
    html = page(cp, "/console/goods")
    assert 'class="warning" data-nsp="nsp-a" data-item="drinkwater"' in html

    # The operator plans a delivery on the console; it reaches NSP A.
    r = form(
        cp,
        "/console/goods/deliver",
        {
            "nsp_id": "nsp-a",
            "item": ["drinkwater", "dekens"],
            "unit": ["liter", "stuks"],
            "quantity": ["120", "20"],
        },
    )
    assert r.status_code == 303, r.text
    (task,) = [t for t in cp.get("/api/v1/tasks") if t["goods"]]
    tid = task["task_id"]
    wait_until(
        lambda: any(d["task"]["task_id"] == tid for d in a.get("/api/v1/goods/deliveries")),
        30,
        what="delivery at NSP A",
    )
    assert f"delivery-{tid}" in page(a, "/staff/goods")

    # The link goes down; the NSP works on: the delivery arrives and is confirmed, more is
    # handed out, some passed on, some written off.
    broker.stop()
    wait_until(lambda: not a.get("/api/v1/link")["connected"], 20, what="link down at NSP A")
    r = form(a, f"/staff/goods/deliveries/{tid}/receive", {"quantity": ["118", "20"], "by": "JS"})
    assert r.status_code == 200 and "goods-notice" in r.text, r.text[:500]
    assert a.post(f"/api/v1/goods/deliveries/{tid}/receive", {}).status_code == 409  # once
    for _ in range(5):
        assert (
            a.post(
                "/api/v1/goods/handouts",
                {
                    "item": "drinkwater",
                    "unit": "liter",
                    "quantity": 12,
                    "household_size": 2,
                    "households": 1,
                },
            ).status_code
            == 201
        )
    assert (
        a.post(
            "/api/v1/goods/entries",
            {
                "type": "transferred",
                "item": "drinkwater",
                "unit": "liter",
                "quantity": 30,
                "counterpart": "nsp-b",
            },
        ).status_code
        == 201
    )
    assert (
        a.post(
            "/api/v1/goods/entries",
            {
                "type": "written_off",
                "item": "dekens",
                "unit": "stuks",
                "quantity": 2,
                "note": "nat",
            },
        ).status_code
        == 201
    )
    pending = a.get("/api/v1/link")["pending_count"]
    assert pending >= 9
    # ... and then the gateway loses power.
    a.kill()
    broker.start()
    a.start()

    gw_lines = a.get("/api/v1/goods/stock")
    water = _ledger(gw_lines, "drinkwater")
    assert water == {
        "received": 178,
        "handed_out": 108,
        "transferred": 30,
        "written_off": 0,
        "on_hand": 40,
    }
    assert _ledger(gw_lines, "dekens")["on_hand"] == 18

    def same_at_cp() -> bool:
        cp_view = cp.get("/api/v1/goods/stock", params={"nsp_id": "nsp-a"})
        (ledger,) = cp_view["ledgers"]
        return (
            ledger["missing_entries"] == 0
            and ledger["entries"] == len(a.get("/api/v1/goods/entries"))
            and all(
                _ledger(cp_view["lines"], i) == _ledger(gw_lines, i)
                for i in ("drinkwater", "dekens")
            )
        )

    wait_until(same_at_cp, 60, what="the CP's ledger equal to NSP A's")
    cp_view = cp.get("/api/v1/goods/stock", params={"nsp_id": "nsp-a"})
    for item in ("drinkwater", "dekens"):
        assert _balances(_ledger(cp_view["lines"], item))
        assert _balances(_ledger(gw_lines, item))
    # The last entry's balance as the NSP wrote it equals the sum at the CP.
    entries = cp.get("/api/v1/goods/entries", params={"nsp_id": "nsp-a", "item": "drinkwater"})
    last = max(entries, key=lambda e: e["entry_no"])
    assert last["on_hand_after"] == water["on_hand"]
    assert len(
        {e["entry_no"] for e in cp.get("/api/v1/goods/entries", params={"nsp_id": "nsp-a"})}
    ) == len(a.get("/api/v1/goods/entries"))
    # The delivery is done at the CP, and its receipts name it.
    wait_until(
        lambda: cp.get(f"/api/v1/tasks/{tid}")["targets"][0]["state"] == "done",
        30,
        what="delivery done at the CP",
    )
    assert sorted(
        e["quantity"]
        for e in cp.get("/api/v1/goods/entries", params={"nsp_id": "nsp-a"})
        if e["task_id"] == tid
    ) == [20, 118]
    # The summary for the region carries stock, need and days left per item.
    pic = cp.get("/api/v1/picture")
    goods = {g["item"]: g for c in pic["cps"] for g in c["content"]["goods"]}
    assert goods["drinkwater"]["on_hand"] == 40 and goods["drinkwater"]["rate_per_day"] > 0
    assert goods["drinkwater"]["days_left"] is not None and goods["drinkwater"]["need"] > 0
    # Hand-outs carry no household code upward.
    # (Walk the values: a repr would also match "H0" inside a ULID.)
    keys, values = _keys_and_strings(
        cp.get("/api/v1/messages", params={"kind": "stock_entry", "limit": 1000})
    )
    assert "household_code" not in keys
    assert not values & {f"H{i}" for i in range(8)}
