"""Issue 12, the NSP's own screens in Debian's Chromium on a 1024×600 Pi touchscreen, against
a real CP and gateway process and a real Mosquitto: the help form's essentials and
"Versturen" on the first screen, medical prompts for a medical P1, every error at once, the
NSP's name, address and residents' block on the board and staff screens.

Screenshots at 1024×600 go to test-artifacts/screenshots/ (must show 3, the NSP side).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from gateway import auth as gw_auth
from gateway import screens
from tests.support import Mosquitto, Proc, cp_process, gateway_process, wait_until

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CP, NSP = "cp-test", "nsp-lieve"
PI = {"width": 1024, "height": 600}
NAME, ADDRESS = "Wijkcentrum De Lievekamp", "Kerkstraat 12, 5341 AB Oss"


@pytest.fixture
def system(tmp_path: Path, broker: Mosquitto, database_url: str) -> Iterator[tuple[Proc, Proc]]:
    cp = cp_process(tmp_path, broker, database_url, cp_id=CP).start()
    gw = gateway_process(
        tmp_path,
        broker,
        NSP,
        cp_id=CP,
        NOODNET_DISPLAY_NAME=NAME,
        NOODNET_ADDRESS=ADDRESS,
        NOODNET_OPENING_HOURS="elke dag 08:00–22:00",
        NOODNET_OFFERS="information,help_requests,goods_distribution",
    ).start()
    try:
        wait_until(lambda: gw.get("/api/v1/link")["connected"], 20, what="gateway connected")
        yield cp, gw
    finally:
        gw.stop()
        cp.stop()


def _signed_in(browser: Browser, gw: Proc) -> Page:
    page = browser.new_page(viewport=PI, locale="nl-NL", has_touch=True)
    page.goto(gw.url + "/staff")
    page.fill("#token", gw.token or "")
    page.click("button[type=submit]")
    page.wait_for_url(gw.url + "/staff")
    return page


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"))  # the first screen, as the Pi shows it


def _within_first_screen(page: Page, selector: str) -> None:
    assert page.evaluate("window.scrollY") == 0
    box = page.locator(selector).bounding_box()
    assert box is not None, f"{selector} not rendered"
    assert box["y"] >= 0 and box["y"] + box["height"] <= PI["height"], (
        f"{selector} at y={box['y']:.0f}..{box['y'] + box['height']:.0f}, "
        f"below the {PI['height']} px screen"
    )
    assert box["x"] + box["width"] <= PI["width"]


def test_help_form_fits_a_1024x600_touchscreen(browser: Browser, system: tuple[Proc, Proc]) -> None:
    cp, gw = system
    page = _signed_in(browser, gw)
    page.goto(gw.url + "/staff/new/help")
    send = "form.report-form button[type=submit]"
    _within_first_screen(page, send)
    for essential in (
        "#field-category",
        "#field-urgency",
        "#field-address",
        "#field-description",
        "#field-people_involved",
        "#field-callback",
    ):
        _within_first_screen(page, essential)
    # Touch targets: at least 44 px high.
    for target in ("#field-category", "#field-address", ".choices-radio .choice", send):
        box = page.locator(target).first.bounding_box()
        assert box is not None and box["height"] >= 44, f"{target}: {box}"
    expect(page.locator(".field-conscious")).to_be_hidden()

    # A medical P1: the two first questions appear, and Versturen is still on the screen.
    page.get_by_label("Wat is er aan de hand?").select_option("medical")
    page.get_by_text("Levensbedreigend: direct hulp nodig").click()
    expect(page.locator(".field-conscious")).to_be_visible()
    expect(page.locator(".field-breathing")).to_be_visible()
    _within_first_screen(page, send)
    _within_first_screen(page, ".field-breathing")
    _shot(page, "pi-1024x600-help-form-medical-p1")

    # Everything wrong at once: the missing fields, the prompts and the rule across fields.
    page.get_by_label("Aantal personen dat hulp nodig heeft").fill("1")
    page.get_by_label("Waarvan kwetsbaar").fill("2")
    page.locator(send).click()
    summary = page.locator("#error-summary")
    expect(summary).to_be_visible()
    for text in (
        "Adres (straat, huisnummer, plaats): Vul dit veld in.",
        "Beschrijving: Vul dit veld in.",
        "Is de persoon bij bewustzijn?: Kies een van de mogelijkheden.",
        "Ademt de persoon normaal?: Kies een van de mogelijkheden.",
        "Waarvan kwetsbaar (ouderen, zieken, kinderen): Dit kan niet meer zijn",
    ):
        expect(summary).to_contain_text(text)
    expect(page.locator(".field-conscious")).to_be_visible()  # kept after the round trip

    page.get_by_label("Adres (straat, huisnummer, plaats)").fill("Kerkstraat 3, Oss")
    page.get_by_label("Beschrijving").fill("Vrouw gevallen")
    page.get_by_label("Waarvan kwetsbaar").fill("1")
    page.locator("#field-conscious").get_by_text("Ja", exact=True).click()
    page.locator("#field-breathing").get_by_text("Onbekend", exact=True).click()
    page.locator(send).click()
    page.wait_for_url("**/staff/sent?new=*")
    [stored] = wait_until(
        lambda: cp.get("/api/v1/messages", params={"kind": "help_request"}), 20, what="at CP"
    )
    assert stored["body"]["description"] == (
        "Bij bewustzijn: ja · Ademt normaal: onbekend\nVrouw gevallen"
    )


def test_board_and_staff_screen_name_the_nsp(browser: Browser, system: tuple[Proc, Proc]) -> None:
    _, gw = system
    page = _signed_in(browser, gw)
    expect(page.locator(".staff-nsp")).to_contain_text(NAME)
    expect(page.locator(".staff-nsp")).to_contain_text(ADDRESS)
    assert NAME in page.title()
    _shot(page, "pi-1024x600-staff")

    page.goto(gw.url + "/board")
    header = page.locator(".board-header")
    expect(header).to_contain_text(NAME)
    expect(header).to_contain_text(ADDRESS)
    residents = page.locator(".residents")
    expect(residents).to_contain_text("Noodgeval? Meld het hier bij de balie.")
    expect(residents).to_contain_text("Uitdelen van water, medicijnen")
    expect(residents).to_contain_text("elke dag 08:00–22:00")
    _within_first_screen(page, ".residents-emergency")
    _shot(page, "pi-1024x600-board")

    # A volunteer's tablet: paired once with the code the coordinator shows, then the PIN.
    engine = gw_auth.open_engine(Path(gw.env["NOODNET_DB_PATH"]))
    try:
        pairing = screens.create(engine, "Balie 1", "4821", timedelta(hours=12))
    finally:
        engine.dispose()
    tablet = browser.new_page(viewport=PI, locale="nl-NL", has_touch=True)
    try:
        tablet.goto(f"{gw.url}/staff/pair?code={pairing.code}")
        expect(tablet.locator("#code")).to_have_value(pairing.code)
        tablet.get_by_role("button", name="Koppelen").click()
        tablet.wait_for_url(gw.url + "/staff/login")
        expect(tablet.locator("#pin")).to_be_visible()
        expect(tablet.locator(".login")).to_contain_text("Dit is scherm Balie 1")
        _within_first_screen(tablet, ".pin-form button[type=submit]")
        _shot(tablet, "pi-1024x600-staff-pin-sign-in")
        tablet.fill("#pin", "4821")
        tablet.get_by_role("button", name="Inloggen").click()
        tablet.wait_for_url(gw.url + "/staff")
        expect(tablet.locator(".staff-nsp")).to_contain_text(NAME)
    finally:
        tablet.close()

    # The A4 printout carries the name and the address too.
    page.emulate_media(media="print")
    expect(header).to_be_visible()
    expect(header).to_contain_text(ADDRESS)
    assert "Noodsteunpunt – Noodsteunpunt" not in page.content()
