"""The citizen-aid and goods screens in Debian's Chromium, against a real CP and gateway
process on a real Mosquitto: the staff screens at 1024×600 (the NSP's touchscreen), the
console pages at 1366×768. Screenshots go to test-artifacts/screenshots/ (issue 13, must
show 4)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.support import Mosquitto, Proc, issue_cp_token, running_system, wait_until

SHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
CP = "cp-aid"


@pytest.fixture
def system(tmp_path: Path, broker: Mosquitto, database_url: str) -> Iterator[tuple[Proc, Proc]]:
    with running_system(tmp_path, broker, database_url, nsps=("nsp-a",), cp_id=CP) as (cp, gws):
        gw = gws["nsp-a"]
        wait_until(lambda: gw.get("/api/v1/link")["connected"], 20, what="gateway connected")
        yield cp, gw


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _fits(page: Page, width: int) -> None:
    scroll = page.evaluate("document.documentElement.scrollWidth")
    assert scroll <= width, f"{page.url} is {scroll}px wide on a {width}px screen"


def test_staff_and_console_screens(
    browser: Any, system: tuple[Proc, Proc], database_url: str
) -> None:
    cp, gw = system
    foreign: list[str] = []
    errors: list[str] = []

    staff = browser.new_context(viewport={"width": 1024, "height": 600}, locale="nl-NL").new_page()
    staff.on("request", lambda r: None if r.url.startswith(gw.url) else foreign.append(r.url))
    staff.on("pageerror", lambda exc: errors.append(str(exc)))
    staff.goto(gw.url + "/staff")
    staff.fill("#token", gw.token or "")
    staff.click("button[type=submit]")
    staff.wait_for_url(gw.url + "/staff")

    # A volunteer signs up at the NSP.
    staff.get_by_role("link", name="Burgerhulp").first.click()
    form = staff.locator("#volunteer-form")
    form.get_by_label("Voornaam").fill("Fatima")
    form.get_by_label("Sjouwen", exact=True).check()
    form.get_by_label("EHBO / BHV", exact=True).check()
    form.get_by_label("Middag (12-18)").check()
    form.get_by_label("Bereikbaar via (telefoon, adres)").fill("06-12345678")
    form.get_by_label("toestemming", exact=False).check()
    form.get_by_role("button", name="Vrijwilliger inschrijven").click()
    expect(staff.locator("#volunteers")).to_contain_text("Fatima")
    expect(staff.locator(".notice")).to_contain_text("Ingeschreven")
    _fits(staff, 1024)
    _shot(staff, "staff-aid-volunteer")

    # A help request comes in at the NSP; the CP asks for volunteers from the console.
    r = gw.post(
        "/api/v1/reports",
        {
            "kind": "help_request",
            "body": {
                "category": "vulnerable_person",
                "urgency": "P3",
                "location": {"address": "Kerkstraat 12, Oss"},
                "description": "Oudere bewoner moet naar de opvang, zware spullen",
            },
        },
    )
    assert r.status_code == 201
    mid = r.json()["message_id"]
    wait_until(lambda: cp.get(f"/api/v1/messages/{mid}"), 30, what="help request at CP")

    console = browser.new_context(
        viewport={"width": 1366, "height": 768}, locale="nl-NL"
    ).new_page()
    console.on("request", lambda r: None if r.url.startswith(cp.url) else foreign.append(r.url))
    console.on("pageerror", lambda exc: errors.append(str(exc)))
    console.goto(cp.url + "/console/aid")
    console.get_by_label("Toegangscode").fill(issue_cp_token(database_url, "operator"))
    console.get_by_role("button", name="Inloggen").click()
    console.wait_for_url(cp.url + "/console/aid")
    expect(console.locator("#rosters")).to_contain_text("nsp-a")
    request = console.locator(f"#hr-{mid}")
    request.get_by_label("Vaardigheid").select_option("carrying")
    request.get_by_label("Aantal").fill("1")
    request.get_by_label("Wat en waar").fill("Sjouwer naar Kerkstraat 12, 14:00")
    request.get_by_role("button", name="Vrijwilligers vragen").click()
    expect(console.locator("#form-notice")).to_contain_text("Hulpklus verstuurd naar nsp-a")
    expect(console.locator("#assignments")).to_contain_text("Sjouwer naar Kerkstraat 12")
    _shot(console, "console-aid")

    # The job is on the staff screen; staff ask Fatima and send her off.
    def job_shown() -> bool:
        staff.goto(gw.url + "/staff/aid")
        return staff.locator("#assignments").count() == 1

    wait_until(job_shown, 30, what="assignment on the staff screen")
    job = staff.locator("#assignments li").first
    job.get_by_label("Fatima").check()
    job.get_by_role("button", name="Vrijwilligers vragen").click()
    staff.locator("#assignments li").first.get_by_role("button", name="Onderweg").click()
    expect(staff.locator("#assignments li").first.locator(".assignment-state")).to_have_text(
        "Onderweg"
    )
    _fits(staff, 1024)
    _shot(staff, "staff-aid-assignment")
    staff.goto(gw.url + "/staff/aid?lang=en")
    expect(staff.locator("h1")).to_have_text("Citizen aid")
    _shot(staff, "staff-aid-en")

    def on_the_way() -> bool:
        console.goto(cp.url + "/console/aid")
        state = console.locator("#assignments .a-state").first.inner_text()
        return "Onderweg" in state and "Fatima" not in console.content()

    wait_until(on_the_way, 30, what="onderweg on the console, without a name")

    # Goods: stock in, hand-outs, the CP warns and plans a delivery, the NSP confirms it.
    staff.goto(gw.url + "/staff/goods?lang=nl")
    entry = staff.locator("#entry-form")
    entry.get_by_label("Soort").select_option("received")
    entry.get_by_label("Artikel").select_option("drinkwater")
    entry.get_by_label("Hoeveelheid").fill("30")
    entry.get_by_label("Van of aan wie").fill("Gemeente")
    entry.get_by_role("button", name="Boeken").click()
    expect(staff.locator("#goods-notice")).to_contain_text("Op voorraad: 30 liter")
    for _ in range(4):
        handout = staff.locator("#handout-form")
        handout.get_by_label("Hoeveelheid").fill("6")
        handout.get_by_label("Personen in het huishouden").fill("2")
        handout.get_by_role("button", name="Uitgifte boeken").click()
        expect(staff.locator("#goods-notice")).to_contain_text("Geboekt")
    handout = staff.locator("#handout-form")
    handout.get_by_label("Hoeveelheid").fill("20")
    handout.get_by_role("button", name="Uitgifte boeken").click()
    expect(staff.locator("#goods-error")).to_contain_text("er is maar 6 liter")
    _fits(staff, 1024)
    _shot(staff, "staff-goods")

    def warned() -> bool:
        console.goto(cp.url + "/console/goods")
        return console.locator("#warnings .warning").count() == 1

    wait_until(warned, 30, what="low-stock warning on the console")
    expect(console.locator("#warnings")).to_contain_text("nsp-a: drinkwater nog 6 liter")
    delivery = console.locator("#delivery-form")
    delivery.locator("select[name=item]").first.select_option("drinkwater")
    delivery.locator("input[name=unit]").first.fill("liter")
    delivery.locator("input[name=quantity]").first.fill("100")
    delivery.get_by_role("button", name="Levering plannen").click()
    expect(console.locator("#form-notice")).to_contain_text("Levering gepland voor nsp-a")
    _shot(console, "console-goods")

    def delivery_shown() -> bool:
        staff.goto(gw.url + "/staff/goods")
        return staff.locator("#deliveries li").count() == 1

    wait_until(delivery_shown, 30, what="delivery on the staff screen")
    staff.locator("#deliveries li").first.get_by_role("button", name="Ontvangst bevestigen").click()
    expect(staff.locator("#goods-notice")).to_contain_text("Levering ontvangen")
    expect(staff.locator("#stock tr[data-item=drinkwater] .on-hand")).to_contain_text("106 liter")
    _shot(staff, "staff-goods-delivery")

    def restocked() -> bool:
        console.goto(cp.url + "/console/goods")
        return "106 liter" in console.locator("#stock").inner_text()

    wait_until(restocked, 30, what="the CP sees the receipt")
    _shot(console, "console-goods-delivered")
    assert foreign == [], f"requests to other hosts: {foreign}"
    assert errors == [], errors
