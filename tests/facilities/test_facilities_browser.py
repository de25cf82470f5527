"""The facility screens in a real headless Chromium (Debian's), against a real CP process and a
gateway process through a real Mosquitto: the board's "Waar kunt u terecht?" with full and
closed facilities marked, its printable A4 list, the staff observation form on a 1024×600
touchscreen (Dutch and English), and the console's facilities page where an operator accepts
the observation, after which the board shows the new state. Nothing loads from other hosts.

Screenshots land in test-artifacts/screenshots/ (and the A4 print in test-artifacts/).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, Request, expect

from schemas.facilities import distance_m
from tests.support import Mosquitto, Proc, cp_process, gateway_process, issue_cp_token, wait_until

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CP, NSP = "cp-test", "nsp-bieb"
HERE = (51.765, 5.518)

FACILITIES: list[dict[str, Any]] = [
    {
        "facility_id": "opvang-sporthal",
        "type": "shelter",
        "name": "Sporthal De Rusheuvel",
        "address": "Kastanjelaan 1, Oss",
        "lat": 51.768,
        "lon": 5.522,
        "opening_hours": "dag en nacht",
        "capacity": 150,
        "note": "Neem medicijnen en een ID-bewijs mee.",
    },
    {
        "facility_id": "tappunt-walplein",
        "type": "water_point",
        "name": "Tappunt Walplein",
        "address": "Walplein, Oss",
        "lat": 51.7652,
        "lon": 5.5195,
        "opening_hours": "08:00-20:00",
    },
    {
        "facility_id": "warmte-bieb",
        "type": "warming_point",
        "name": "Warmtepunt Bibliotheek",
        "address": "Raadhuislaan 10, Oss",
        "lat": 51.7649,
        "lon": 5.5178,
        "capacity": 40,
    },
    {
        "facility_id": "apotheek-centrum",
        "type": "pharmacy",
        "name": "Apotheek Centrum",
        "address": "Molenstraat 3, Oss",
        "lat": 51.7630,
        "lon": 5.5240,
        "opening_hours": "09:00-17:00",
    },
    {
        "facility_id": "laden-gemeentehuis",
        "type": "charging_point",
        "name": "Oplaadpunt Gemeentehuis",
        "address": "Raadhuislaan 1, Oss",
        "lat": 51.7661,
        "lon": 5.5170,
    },
]


@pytest.fixture
def system(tmp_path: Path, broker: Mosquitto, database_url: str) -> Iterator[tuple[Proc, Proc]]:
    cp = cp_process(tmp_path, broker, database_url, cp_id=CP).start("/readyz")
    gw = gateway_process(
        tmp_path,
        broker,
        NSP,
        cp_id=CP,
        NOODNET_DISPLAY_NAME="Bibliotheek Oss",
        NOODNET_POSITION_LAT=str(HERE[0]),
        NOODNET_POSITION_LON=str(HERE[1]),
    ).start()
    try:
        wait_until(lambda: gw.get("/api/v1/link")["connected"], 20, what="gateway connected")
        yield cp, gw
    finally:
        gw.stop()
        cp.stop()


def _record_foreign(page: Page, own: list[str], foreign: list[str]) -> None:
    def record(request: Request) -> None:
        if not any(request.url.startswith(o + "/") for o in own) and not request.url.startswith(
            "data:"
        ):
            foreign.append(request.url)

    page.on("request", record)


def _shot(page: Page, name: str, full_page: bool = True) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=full_page)


def _post(cp: Proc, path: str, body: dict[str, Any]) -> None:
    r = httpx.post(cp.url + path, headers=cp.headers, json=body, timeout=10)
    assert r.status_code in (200, 201), r.text


def test_board_staff_form_and_console_facilities_page(
    browser: Browser, system: tuple[Proc, Proc], database_url: str
) -> None:
    cp, gw = system
    for f in FACILITIES:
        _post(cp, "/api/v1/facilities", f)
    _post(cp, "/api/v1/facilities/warmte-bieb/state", {"state": "full", "note": "40 mensen"})
    _post(
        cp, "/api/v1/facilities/apotheek-centrum/state", {"state": "closed", "note": "geen stroom"}
    )
    wait_until(
        lambda: len(_board_ids(gw)) == len(FACILITIES),
        30,
        what="the gateway has the directory",
    )
    foreign: list[str] = []

    # --- the staff screen, on the NSP's 1024x600 touchscreen
    staff = browser.new_page(viewport={"width": 1024, "height": 600}, locale="nl-NL")
    _record_foreign(staff, [gw.url], foreign)
    staff.goto(gw.url + "/staff")
    staff.fill("#token", gw.token or "")
    staff.click("button[type=submit]")
    staff.wait_for_url(gw.url + "/staff")
    staff.get_by_role("link", name="Voorzieningen").click()
    expect(staff.get_by_role("heading", name="Voorzieningen: wat ziet u?")).to_be_visible()
    staff.get_by_label("Welke voorziening?").select_option("opvang-sporthal")
    staff.get_by_label("Vol", exact=True).check()
    staff.get_by_label("Toelichting").fill("opvang vol, 150 mensen")
    staff.get_by_label("Uw naam of initialen").fill("JdV")
    assert staff.evaluate("document.documentElement.scrollWidth") <= 1024, "no sideways scroll"
    staff.evaluate("window.scrollTo(0, 0)")
    _shot(staff, "facilities-staff-form-nl", full_page=False)
    staff.goto(gw.url + "/staff/facilities?lang=en")
    expect(staff.get_by_role("heading", name="Facilities: what do you see?")).to_be_visible()
    _shot(staff, "facilities-staff-form-en", full_page=False)
    staff.goto(gw.url + "/staff/facilities?lang=nl")
    # A report without a state is refused in words, and what was chosen stays.
    staff.get_by_label("Welke voorziening?").select_option("opvang-sporthal")
    staff.get_by_label("Toelichting").fill("opvang vol, 150 mensen")
    staff.evaluate("document.querySelector('.facility-form').noValidate = true")
    staff.get_by_role("button", name="Melding versturen").click()
    expect(staff.locator("#error-summary")).to_contain_text("Kies wat u ziet")
    expect(staff.get_by_label("Toelichting")).to_have_value("opvang vol, 150 mensen")
    staff.get_by_label("Vol", exact=True).check()
    staff.get_by_role("button", name="Melding versturen").click()
    expect(staff).to_have_url(re.compile(r"/staff/sent\?new=[0-9A-Z]{26}$"))
    expect(staff.locator(".sent-item.is-new")).to_contain_text("Sporthal De Rusheuvel: Vol")

    # --- the console: the observation waits for review; the operator accepts it
    obs = wait_until(
        lambda: cp.get("/api/v1/facility-observations"), 30, what="observation at the CP"
    )[0]
    console = browser.new_page(viewport={"width": 1366, "height": 768}, locale="nl-NL")
    _record_foreign(console, [cp.url], foreign)
    console.goto(cp.url + "/login?next=/console/facilities")
    console.get_by_label("Toegangscode").fill(issue_cp_token(database_url, "operator"))
    console.get_by_role("button", name="Inloggen").click()
    console.wait_for_url(cp.url + "/console/facilities")
    row = console.locator("#fac-apotheek-centrum")
    expect(row).to_have_attribute("data-state", "closed")
    expect(row).to_contain_text("geen stroom")
    expect(console.locator(f"#obs-{obs['id']}")).to_contain_text("opvang vol, 150 mensen")
    expect(console.locator("#fac-reach")).to_contain_text("1 van 1 NSP's")
    _shot(console, "facilities-console-nl")
    console.locator(f"#obs-{obs['id']}").get_by_role("button", name="Overnemen").click()
    expect(console.locator("#fac-done")).to_be_visible()
    expect(console.locator("#fac-opvang-sporthal")).to_have_attribute("data-state", "full")
    # A change from the page's own form: the charging point closes.
    laden = console.locator("#fac-laden-gemeentehuis")
    laden.get_by_label("Toestand").select_option("closed")
    laden.get_by_label("Toelichting").fill("aggregaat stuk")
    laden.get_by_role("button", name="Zet").click()
    expect(console.locator("#fac-laden-gemeentehuis")).to_have_attribute("data-state", "closed")
    # Adding one from the page: a bad id is refused in words and the form keeps its values.
    form = console.locator("form.fac-new")
    form.evaluate("f => f.noValidate = true")
    form.get_by_label("Kenmerk").fill("Sanitair Markt")
    form.get_by_label("Soort").select_option("sanitation")
    form.get_by_label("Naam", exact=True).fill("Toiletten Markt")
    form.get_by_label("Adres").fill("Markt 1, Oss")
    form.get_by_role("button", name="Toevoegen en versturen").click()
    expect(console.locator("#fac-error")).to_contain_text("facility_id")
    form = console.locator("form.fac-new")
    expect(form.get_by_label("Naam", exact=True)).to_have_value("Toiletten Markt")
    form.get_by_label("Kenmerk").fill("sanitair-markt")
    form.get_by_role("button", name="Toevoegen en versturen").click()
    expect(console.locator("#fac-sanitair-markt")).to_have_attribute("data-state", "open")
    console.goto(cp.url + "/console/facilities?lang=en")
    expect(console.get_by_role("heading", name="Directory")).to_be_visible()
    _shot(console, "facilities-console-en")

    # --- the board by the door: nearest first, full and closed ones marked
    board = browser.new_page(viewport={"width": 1280, "height": 900}, locale="nl-NL")
    _record_foreign(board, [gw.url], foreign)
    board.goto(gw.url + "/staff/login")
    board.fill("#token", gw.token or "")
    board.click("button[type=submit]")
    board.goto(gw.url + "/board")
    section = board.locator(".board-facilities")
    expect(section.get_by_role("heading", name="Waar kunt u terecht?")).to_be_visible()
    expect(board.locator("#facility-opvang-sporthal")).to_have_attribute(
        "data-state", "full", timeout=20_000
    )
    expect(board.locator("#facility-laden-gemeentehuis .facility-state")).to_contain_text(
        "DICHT — aggregaat stuk"
    )
    expect(board.locator("#facility-warmte-bieb .facility-state")).to_contain_text("VOL")
    ids = board.locator(".facility").evaluate_all("els => els.map(e => e.id)")
    by_distance = sorted(FACILITIES, key=lambda f: distance_m(HERE[0], HERE[1], f["lat"], f["lon"]))
    # Nearest first; the one added without coordinates (no gazetteer here) last, not hidden.
    expected = [f"facility-{f['facility_id']}" for f in by_distance] + ["facility-sanitair-markt"]
    assert ids == expected, ids
    _shot(board, "facilities-board-nl")
    board.goto(gw.url + "/board?lang=en")
    expect(section.get_by_role("heading", name="Where can you go?")).to_be_visible()
    _shot(board, "facilities-board-en")

    # --- the printable A4 list
    board.goto(gw.url + "/board/facilities?lang=nl")
    expect(board.locator(".facility")).to_have_count(len(FACILITIES) + 1)
    board.emulate_media(media="print")
    _shot(board, "facilities-board-print")
    pdf = board.pdf(format="A4", print_background=True)
    (SHOTS.parent / "facilities-a4.pdf").write_bytes(pdf)
    assert pdf.startswith(b"%PDF")

    assert foreign == [], f"requests to other hosts: {foreign}"


def _board_ids(gw: Proc) -> list[str]:
    html = httpx.get(f"{gw.url}/board/facilities", headers=gw.headers, timeout=10).text
    return re.findall(r'id="facility-([a-z0-9_-]+)"', html)
