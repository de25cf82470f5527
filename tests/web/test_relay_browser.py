"""Must show 1: the link is gone, a P1 still gets through by radio, and is counted once.

Real Mosquitto, a real CP process and gateway process, Debian's Chromium through Playwright:
the broker is stopped; a volunteer submits a P1 help request at the staff screen; after the
(test-shortened) threshold the "Doorgeven via portofoon" card appears; the test reads the
short form off that screen and a CP operator types it into "Melding invoeren namens NSP"
(checked as they type); the item is in ``GET /api/v1/queue`` as P1 right after; the volunteer
records "doorgegeven via portofoon"; the broker comes back and the original arrives over
MQTT. Counts: one stored report, one incident, the gateway row acknowledged, the channel
history radio then MQTT, and the staff screen says "ontvangen via portofoon om …, later ook
digitaal". Nothing is loaded from another host. Screenshots in test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, expect

from noodcore.httpguard import TOKEN_COOKIE
from schemas import shortform as sf
from tests.support import (
    Mosquitto,
    Proc,
    cp_process,
    gateway_process,
    issue_cp_token,
    wait_placed,
    wait_until,
)

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CP, NSP, CODE = "cp-relay", "nsp-bieb-oss", "BIB"
THRESHOLD = 4  # seconds instead of 120: NOODNET_RELAY_AFTER_SECONDS


@pytest.fixture
def system(tmp_path: Path, broker: Mosquitto, database_url: str) -> Iterator[tuple[Proc, Proc]]:
    cp = cp_process(tmp_path, broker, database_url, cp_id=CP).start("/readyz")
    gw = gateway_process(
        tmp_path,
        broker,
        NSP,
        cp_id=CP,
        NOODNET_DISPLAY_NAME="Bibliotheek Oss",
        NOODNET_SHORT_CODE=CODE,
        NOODNET_RELAY_AFTER_SECONDS=str(THRESHOLD),
        NOODNET_MQTT_KEEPALIVE="5",
        NOODNET_RECONNECT_MAX_SECONDS="2",
    ).start()
    try:
        wait_until(lambda: gw.get("/api/v1/link")["connected"], 20, what="gateway connected")
        r = httpx.put(
            f"{cp.url}/api/v1/fallback/nsps/{NSP}",
            json={"short_code": CODE},
            headers=cp.headers,
            timeout=10,
        )
        assert r.status_code == 200, r.text
        yield cp, gw
    finally:
        gw.stop()
        cp.stop()


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _watch(page: Page, own: list[str], foreign: list[str]) -> None:
    def record(request: Request) -> None:
        if not any(request.url.startswith(o + "/") for o in own):
            foreign.append(request.url)

    page.on("request", record)


def _help_requests(cp: Proc) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = cp.get("/api/v1/messages", params={"kind": "help_request"})
    return rows


def test_p1_by_radio_while_the_link_is_down(
    browser: Browser, system: tuple[Proc, Proc], broker: Mosquitto, database_url: str
) -> None:
    cp, gw = system
    foreign: list[str] = []

    # ---------------------------------------------------------------- the link goes
    broker.stop()
    wait_until(lambda: not gw.get("/api/v1/link")["connected"], 20, what="gateway sees it")

    staff = browser.new_page(
        viewport={"width": 1024, "height": 900}, locale="nl-NL", timezone_id="Europe/Amsterdam"
    )
    _watch(staff, [gw.url], foreign)
    staff.goto(gw.url + "/staff")
    staff.fill("#token", gw.token or "")
    staff.click("button[type=submit]")
    staff.wait_for_url(gw.url + "/staff")
    staff.get_by_role("link", name="Noodhulp", exact=True).first.click()
    staff.get_by_label("Wat is er aan de hand?").select_option("medical")
    staff.get_by_label("Levensbedreigend: direct hulp nodig").check()
    staff.get_by_label("Adres (straat, huisnummer, plaats)").fill("Kerkstraat 12, Oss")
    staff.get_by_label("Aantal personen dat hulp nodig heeft").fill("1")
    staff.get_by_label("Waarvan kwetsbaar").fill("1")
    description = (
        "Man van ongeveer 70 onwel in de hal, ademt slecht en reageert traag. 112 werkt "
        "niet. Gebruikt bloedverdunners, achterdeur is open, buurvrouw blijft bij hem."
    )
    staff.get_by_label("Beschrijving").fill(description)
    # The two first questions a medical P1 asks (gateway/web/forms.py MEDICAL_PROMPTS).
    staff.locator("#field-conscious").get_by_text("Ja", exact=True).click()
    staff.locator("#field-breathing").get_by_text("Nee", exact=True).click()
    staff.get_by_role("button", name="Versturen").click()
    expect(staff).to_have_url(re.compile(r"/staff/sent\?new=[0-9A-Z]{26}$"))
    message_id = staff.url.rsplit("=", 1)[1]

    # ---------------------------------------------------------------- the radio card
    card = staff.locator(f"#relay-{message_id}")
    expect(card).to_be_visible(timeout=(THRESHOLD + 15) * 1000)
    expect(card).to_contain_text("Doorgeven via portofoon")
    expect(card.locator(".readout li").first).to_have_text("Melding van Bernard Izaak Bernard")
    short = card.locator("[data-short-form]").inner_text().strip()
    check = card.locator(".check-big").inner_text().strip()
    assert short.endswith(f" *{check}") and sf.decode(short).urgency == "P1"
    _shot(staff, "relay-staff-card")
    with staff.context.expect_page() as slip_info:
        card.get_by_role("link", name="Print loperbriefje (A6)").click()
    slip = slip_info.value
    _watch(slip, [gw.url], foreign)
    slip.wait_for_load_state()
    expect(slip.locator(".slip-qr svg")).to_be_visible()
    expect(slip.locator("[data-short-form]")).to_have_text(short)
    _shot(slip, "relay-runner-slip")
    slip.close()

    # ---------------------------------------------------------------- the CP operator
    context = browser.new_context(
        viewport={"width": 1200, "height": 900}, locale="nl-NL", timezone_id="Europe/Amsterdam"
    )
    operator_token = issue_cp_token(database_url, "operator")
    host = cp.url.split("//")[1].split(":")[0]
    context.add_cookies(
        [{"name": TOKEN_COOKIE, "value": operator_token, "domain": host, "path": "/"}]
    )
    console = context.new_page()
    _watch(console, [cp.url], foreign)
    console.goto(cp.url + "/console")
    console.get_by_role("link", name="Melding invoeren namens NSP").click()
    console.wait_for_url(cp.url + "/console/relay")
    field = console.get_by_label("Kort bericht")
    # a typing error first: one character wrong is refused while typing
    wrong = short[:8] + ("X" if short[8] != "X" else "Y") + short[9:]
    field.fill(wrong)
    expect(console.locator("#relay-check")).to_contain_text("controlecode klopt niet")
    expect(console.locator("#relay-save")).to_be_disabled()
    field.fill("")
    field.press_sequentially(short.lower(), delay=5)  # as the operator types it
    expect(console.locator("#relay-check")).to_have_text("Controlecode klopt.")
    expect(console.locator("#relay-fields")).to_contain_text(NSP)
    console.get_by_role("radio", name="portofoon").check()
    _shot(console, "relay-console-form")
    console.locator("#relay-save").click()
    expect(console.locator("#relay-result")).to_contain_text("staat in de wachtrij")

    # in the queue as P1, first, once the grouping process placed it (P1s first, right after
    # the store): no waiting on the link or the gateway
    wait_placed(cp)
    queue = cp.get("/api/v1/queue")
    (entry,) = [q for q in queue if NSP in q["item"]["nsp_ids"]]
    assert entry["item"]["top_class"] == "P1" and entry["rank"] == 1
    _shot(console, "relay-console-saved")

    # the volunteer records the hand-over (the row stays in the outbox)
    staff.goto(gw.url + f"/staff/relay/{message_id}")
    staff.get_by_role("radio", name="portofoon").check()
    staff.get_by_label("Bevestigd door (naam bij het CP)").fill("test-operator")
    staff.get_by_label("Bevestigd door CP om (UU:MM)").fill("14:05")
    staff.get_by_role("button", name="Vastleggen").click()
    staff.wait_for_url(re.compile(r"/staff/sent"))
    assert gw.get(f"/api/v1/reports/{message_id}")["state"] != "stored"

    # ---------------------------------------------------------------- the link returns
    broker.start()
    row = wait_until(
        lambda: (r := gw.get(f"/api/v1/reports/{message_id}"))["state"] == "stored" and r,
        60,
        what="the gateway row acknowledged",
    )
    assert row["cp_state"] in ("stored", None) or row["cp_state"]
    stored = _help_requests(cp)
    assert len(stored) == 1, stored
    # The full text, not the cut one (after the answers to the medical prompts).
    assert stored[0]["body"]["description"] == (
        f"Bij bewustzijn: ja · Ademt normaal: nee\n{description}"
    )
    assert stored[0]["transport"] == "radio"
    incidents = cp.get("/api/v1/incidents")
    assert len([i for i in incidents if NSP in i["nsp_ids"]]) == 1
    (relayed,) = cp.get("/api/v1/fallback/relay")
    assert [e["channel"] for e in relayed["history"]] == ["radio", "mqtt"]
    assert relayed["original_message_id"] == message_id
    nsp = cp.get(f"/api/v1/nsps/{NSP}")
    assert nsp.get("seq_conflicts", 0) == 0
    dead = cp.get("/api/v1/dead-letters")
    assert dead == [] or not [d for d in dead if d.get("nsp_id") == NSP]

    staff.goto(gw.url + "/staff/sent")
    label = staff.locator(f"#report-{message_id} .channel-label")
    expect(label).to_contain_text("Ontvangen via portofoon om 14:05, later ook digitaal")
    _shot(staff, "relay-staff-after-link")
    # the operator console shows how the report came in
    console.goto(cp.url + f"/console#item-{entry['item']['id']}")
    expect(console.locator("#item-reports")).to_contain_text("via portofoon → digitaal (MQTT)")
    expect(console.locator("#item-reports")).to_contain_text("bloedverdunners")  # full text
    _shot(console, "relay-console-item")
    console.goto(cp.url + "/console/relay")
    expect(console.locator("#relays")).to_contain_text("portofoon")
    expect(console.locator("#relays")).to_contain_text("digitaal")
    _shot(console, "relay-console-history")
    context.close()
    assert foreign == []
