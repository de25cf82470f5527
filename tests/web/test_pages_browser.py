"""The staff screen and the info board in a real headless Chromium (Debian's), against a real
CP service and gateway process talking through a real Mosquitto.

Screenshots land in test-artifacts/screenshots/ for people to review.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, expect

from schemas import new_message_id, topics
from tests.support import Mosquitto, MqttPeer, Proc, cp_process, gateway_process, wait_until

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CP, NSP = "cp-test", "nsp-bieb"


@pytest.fixture
def system(tmp_path: Path, broker: Mosquitto, database_url: str) -> Iterator[tuple[Proc, Proc]]:
    cp = cp_process(tmp_path, broker, database_url, cp_id=CP).start()
    gw = gateway_process(
        tmp_path,
        broker,
        NSP,
        cp_id=CP,
        NOODNET_DISPLAY_NAME="Bibliotheek Oss",
        NOODNET_MQTT_KEEPALIVE="5",
        NOODNET_RECONNECT_MAX_SECONDS="2",
    ).start()
    try:
        wait_until(lambda: gw.get("/api/v1/link")["connected"], 20, what="gateway connected")
        yield cp, gw
    finally:
        gw.stop()
        cp.stop()


def _page(browser: Browser, gw: Proc, foreign: list[str], width: int = 1280) -> Page:
    page = browser.new_page(viewport={"width": width, "height": 900}, locale="nl-NL")

    def record(request: Request) -> None:
        if not request.url.startswith(gw.url + "/"):
            foreign.append(request.url)

    page.on("request", record)
    # Sign in as a volunteer would: the staff screen asks for the access code first.
    page.goto(gw.url + "/staff")
    page.fill("#token", gw.token or "")
    page.click("button[type=submit]")
    page.wait_for_url(gw.url + "/staff")
    return page


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def test_help_request_reaches_the_cp_and_the_staff_screen_says_so(
    browser: Browser, system: tuple[Proc, Proc], broker: Mosquitto
) -> None:
    cp, gw = system
    foreign: list[str] = []
    page = _page(browser, gw, foreign, width=412)  # a small tablet or phone
    page.goto(gw.url + "/staff")
    expect(page.locator(".link-up")).to_contain_text("Verbonden met het CP")
    page.get_by_role("link", name="Noodhulp", exact=True).first.click()

    # A volunteer's first try: more vulnerable people than people involved.
    page.get_by_label("Wat is er aan de hand?").select_option("medical")
    page.get_by_label("Levensbedreigend: direct hulp nodig").check()
    page.get_by_label("Adres (straat, huisnummer, plaats)").fill("Kerkstraat 12, Oss")
    page.get_by_label("Herkenningspunt").fill("achter de kerk, blauwe deur")
    page.get_by_label("Aantal personen dat hulp nodig heeft").fill("1")
    page.get_by_label("Waarvan kwetsbaar").fill("3")
    page.get_by_label("Beschrijving").fill("Man (80) gevallen, reageert nauwelijks")
    page.get_by_label("Naam van de melder").fill("Fatima")
    page.get_by_role("button", name="Versturen").click()
    summary = page.locator("#error-summary")
    expect(summary).to_contain_text("Dit kan niet meer zijn dan het aantal betrokken personen")
    # A medical P1 asks the two first questions; unanswered, they are listed in the same go.
    expect(summary).to_contain_text("Is de persoon bij bewustzijn?")
    expect(summary).to_contain_text("Ademt de persoon normaal?")
    expect(summary).to_be_focused()
    page.locator("#field-conscious").get_by_text("Nee", exact=True).click()
    page.locator("#field-breathing").get_by_text("Ja", exact=True).click()
    # What the volunteer typed is still there.
    expect(page.get_by_label("Beschrijving")).to_have_value(
        "Man (80) gevallen, reageert nauwelijks"
    )
    _shot(page, "staff-form-error")

    page.get_by_label("Waarvan kwetsbaar").fill("1")
    # Sent with the keyboard, as a volunteer without a mouse would.
    page.get_by_label("Beschrijving").focus()
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Versturen")).to_be_focused()
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"/staff/sent\?new=[0-9A-Z]{26}$"))
    new = page.locator(".sent-item.is-new")
    expect(new).to_contain_text("Kerkstraat 12, Oss")
    expect(new.locator(".state")).to_contain_text("Ontvangen door CP om", timeout=20_000)

    [stored] = wait_until(
        lambda: cp.get("/api/v1/messages", params={"kind": "help_request"}), 10, what="at CP"
    )
    assert stored["nsp_id"] == NSP and stored["urgency"] == "P1"
    assert stored["body"]["description"].startswith("Bij bewustzijn: nee · Ademt normaal: ja\n")
    assert stored["body"]["location"] == {
        "address": "Kerkstraat 12, Oss",
        "lat": None,
        "lon": None,
        "description": "achter de kerk, blauwe deur",
    }

    # Later the CP dispatches help: the staff screen shows it without a reload.
    peer = MqttPeer(broker.port, "test-cp-operator")
    try:
        now = datetime.now(UTC)
        ack = {
            "message_id": new_message_id(),
            "sent_at": now.isoformat(),
            "cp_id": CP,
            "nsp_id": NSP,
            "kind": "ack",
            "body": {
                "ref_message_id": stored["message_id"],
                "state": "dispatched",
                "stored_at": stored["received_at"],
                "note": "ambulance onderweg",
            },
        }
        peer.publish(topics.down(CP, NSP, "ack"), json.dumps(ack))
    finally:
        peer.close()
    expect(new.locator(".cp-state")).to_contain_text(
        "Hulp is onderweg: ambulance onderweg", timeout=20_000
    )
    _shot(page, "staff-sent")

    # English is one click away.
    page.get_by_role("link", name="English").click()
    expect(page.locator(".sent-item.is-new .state")).to_contain_text("Received by CP at")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    assert foreign == [], f"pages loaded things from other hosts: {foreign}"


def test_bulletin_appears_on_the_board_and_cutting_the_link_shows_the_warning(
    browser: Browser, system: tuple[Proc, Proc], broker: Mosquitto
) -> None:
    cp, gw = system
    foreign: list[str] = []
    page = _page(browser, gw, foreign)
    page.goto(gw.url + "/board?refresh=2")
    expect(page.locator("#bulletins-empty")).to_be_visible()
    expect(page.locator(".offline-warning")).to_have_count(0)

    until = datetime.now(UTC) + timedelta(days=2)
    created = httpx.post(
        headers=cp.headers,
        url=cp.url + "/api/v1/bulletins",
        json={
            "urgency": "P2",
            "valid_until": until.isoformat(),
            "texts": [
                {
                    "language": "nl",
                    "headline": "Kookadvies voor Oss-Noord",
                    "text": "Door de stroomstoring kan het leidingwater vervuild zijn.",
                    "instruction": "Kook water 3 minuten voordat u het drinkt.",
                    "area": "Oss-Noord en Berghem",
                    "sender_name": "Brabant Water",
                },
                {
                    "language": "en",
                    "headline": "Boil water advice for Oss-Noord",
                    "text": "Because of the power cut, tap water may be contaminated.",
                    "instruction": "Boil water for 3 minutes before drinking it.",
                    "area": "Oss-Noord and Berghem",
                    "sender_name": "Brabant Water",
                },
            ],
        },
        timeout=10,
    )
    assert created.status_code == 201, created.text
    httpx.post(
        headers=cp.headers,
        url=cp.url + "/api/v1/bulletins",
        json={
            "urgency": "P4",
            "texts": [
                {
                    "language": "nl",
                    "headline": "Noodsteunpunt open van 8 tot 22 uur",
                    "text": "Hier kunt u water halen, informatie krijgen en hulp vragen.",
                }
            ],
        },
        timeout=10,
    ).raise_for_status()
    headline = page.locator(".bulletin .headline").first
    expect(headline).to_have_text("Kookadvies voor Oss-Noord", timeout=20_000)
    expect(page.locator(".bulletin")).to_have_count(2)
    expect(page.locator(".instruction").first).to_contain_text("Kook water 3 minuten")
    expect(page.locator(".board-meta")).to_contain_text("Laatste bericht van het coördinatiepunt")
    _shot(page, "board")

    page.get_by_role("link", name="English").click()
    expect(headline).to_have_text("Boil water advice for Oss-Noord")
    expect(page.locator(".fallback-note")).to_contain_text("only available in Dutch")
    page.get_by_role("link", name="Nederlands").click()
    expect(headline).to_have_text("Kookadvies voor Oss-Noord")

    # The CP's reach view shows the NSP has the current version.
    bulletin_id = created.json()["bulletin_id"]
    reach = wait_until(
        lambda: (
            (r := cp.get(f"/api/v1/bulletins/{bulletin_id}/reach"))["summary"]["all_current"] and r
        ),
        20,
        what="receipt at CP",
    )
    assert [(n["nsp_id"], n["state"]) for n in reach["nsps"]] == [(NSP, "current")]

    # Cut the link: the board says so, with the time, by itself.
    broker.stop()
    warning = page.locator(".offline-warning")
    expect(warning).to_contain_text("Geen verbinding met het coördinatiepunt", timeout=30_000)
    expect(warning.locator(".offline-since")).to_contain_text("Sinds ")
    expect(headline).to_have_text(
        "Kookadvies voor Oss-Noord"
    )  # still shown, flagged as possibly old
    _shot(page, "board-offline")

    page.emulate_media(media="print")
    _shot(page, "board-print")
    SHOTS.mkdir(parents=True, exist_ok=True)
    pdf = page.pdf(path=str(SHOTS / "board-print.pdf"), format="A4", print_background=True)
    assert (
        pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") + pdf.count(b"/Type /Page/") >= 1
    )
    expect(page.locator(".board-tools")).to_be_hidden()

    # The screen itself loses the gateway (its power, the NSP Wi-Fi): it says since when.
    page.emulate_media(media="screen")
    gw.stop()
    expect(page.locator("#screen-stale")).to_contain_text(
        "kan de computer van het noodsteunpunt niet bereiken", timeout=20_000
    )
    expect(headline).to_have_text("Kookadvies voor Oss-Noord")
    assert foreign == [], f"pages loaded things from other hosts: {foreign}"


def test_task_from_the_cp_is_marked_done_on_the_staff_screen(
    browser: Browser, system: tuple[Proc, Proc]
) -> None:
    cp, gw = system
    foreign: list[str] = []
    page = _page(browser, gw, foreign)
    r = httpx.post(
        headers=cp.headers,
        url=cp.url + "/api/v1/tasks",
        json={
            "title": "Watertruck om 15:00 bij de kerk",
            "details": "Zorg voor twee vrijwilligers bij de uitgifte.",
            "due_at": (datetime.now(UTC) + timedelta(hours=2)).isoformat(),
            "nsp_ids": [NSP],
        },
        timeout=10,
    )
    assert r.status_code == 201, r.text
    task_id = r.json()["task_id"]
    wait_until(
        lambda: cp.get(f"/api/v1/tasks/{task_id}")["targets"][0]["state"] == "received",
        20,
        what="gateway confirmed the task",
    )
    page.goto(gw.url + "/staff/tasks")
    card = page.locator(f"#task-{task_id}")
    expect(card).to_contain_text("Watertruck om 15:00 bij de kerk")
    card.get_by_label("Gedaan door").fill("JdV")
    _shot(page, "staff-tasks")
    card.get_by_role("button", name="Gedaan").click()
    expect(page.locator(f"#task-{task_id}.task-done")).to_contain_text("door JdV")

    target: dict[str, Any] = wait_until(
        lambda: (t := cp.get(f"/api/v1/tasks/{task_id}")["targets"][0])["state"] == "done" and t,
        20,
        what="CP sees the task done",
    )
    assert target["done_by"] == "JdV" and target["nsp_id"] == NSP
    assert foreign == []
