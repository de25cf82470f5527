"""Issue 12, must show 1: the information desk in Debian's headless Chromium, against a real CP
process, four real gateway processes and a real Mosquitto.

An operator goes from the console to the desk, writes a bulletin from the boil-water template
(the desk refuses to publish while a [fill-in] is left), previews it as the board and the A4
printout show it (Dutch and English), publishes it to two of the four NSPs, and watches reach
fill in to 2/2; the two boards show it and the other two do not. A new version replaces it on
both boards; withdrawing takes it off. A task goes to a third NSP and its receipt shows up; a
CAP alert is imported from the same screen and its export is one link away. Nothing is loaded
from another host.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from playwright.sync_api import Page, expect

from noodcore.httpguard import TOKEN_COOKIE
from tests.bulletins.cap_samples import BOIL_WATER, render
from tests.support import (
    Mosquitto,
    Proc,
    cp_process,
    gateway_process,
    issue_cp_token,
    wait_until,
)
from tests.upstream.support import SCREENSHOTS

CP = "cp-desk"
NSPS = {
    "nsp-noord": "Bibliotheek Oss-Noord",
    "nsp-berghem": "Sporthal Berghem",
    "nsp-lith": "Dorpshuis Lith",
    "nsp-ravenstein": "Dorpshuis Ravenstein",
}
HEADLINE = "Kookadvies: kook uw kraanwater"


def board(gw: Proc) -> str:
    r = httpx.get(gw.url + "/board", headers=gw.headers, timeout=10)
    r.raise_for_status()
    return r.text


def fill_brackets(page: Page, field: str, values: dict[str, str]) -> None:
    box = page.locator(f"#{field}")
    text = box.input_value()
    for k, v in values.items():
        text = text.replace(f"[{k}]", v)
    box.fill(text)


@contextmanager
def system(
    tmp: Path, broker: Mosquitto, database_url: str
) -> Iterator[tuple[Proc, dict[str, Proc]]]:
    """A CP and four gateways (as tests.support.running_system), given longer to come up: five
    processes starting at once on a shared two-core machine can take more than 30 s."""
    cp = cp_process(tmp, broker, database_url, cp_id=CP).launch()
    gws = {nsp: gateway_process(tmp, broker, nsp, cp_id=CP).launch() for nsp in NSPS}
    try:
        cp.wait_up("/readyz", timeout=120)
        for gw in gws.values():
            gw.wait_up(timeout=120)
        yield cp, gws
    finally:
        for p in [*gws.values(), cp]:
            p.stop()


def test_operator_publishes_a_bulletin_to_two_of_four_nsps(
    tmp_path: Path, broker: Mosquitto, database_url: str, browser: Any
) -> None:
    with system(tmp_path, broker, database_url) as (cp, gws):
        for nsp_id, name in NSPS.items():
            r = httpx.put(f"{cp.url}/api/v1/nsps/{nsp_id}", json={"name": name}, headers=cp.headers)
            assert r.status_code == 200, r.text
        for gw in gws.values():
            wait_until(lambda gw=gw: gw.get("/api/v1/link")["connected"], 30, what="gateway up")

        context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="nl-NL")
        context.add_cookies(
            [{"name": TOKEN_COOKIE, "value": issue_cp_token(database_url, "operator"),
              "url": cp.url}]
        )  # fmt: skip
        page = context.new_page()
        requested: list[str] = []
        page.on("request", lambda req: requested.append(req.url))
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("dialog", lambda d: d.accept())

        page.goto(cp.url + "/console")
        page.get_by_role("link", name="Informatiebalie").click()
        page.wait_for_url(cp.url + "/console/desk")
        expect(page.locator("#targets input[name=target]")).to_have_count(4)

        # From the template: Dutch and English filled in, fill-ins marked.
        page.get_by_label("Sjabloon").select_option("water")
        expect(page.locator("#nl-headline")).to_have_value(HEADLINE)
        expect(page.locator("#en-headline")).to_have_value("Boil water advice: boil your tap water")
        expect(page.locator("#b-urgency")).to_have_value("P2")
        page.locator("#b-id").fill("water-oss")
        page.locator("#publish").click()
        expect(page.locator("#desk-flash")).to_contain_text("Nog niet gepubliceerd")
        expect(page.locator("#desk-flash")).to_contain_text("[gebied]")
        assert httpx.get(f"{cp.url}/api/v1/bulletins", headers=cp.headers).json() == []

        nl = {"gebied": "Oss-Noord en Berghem", "adres": "de Bibliotheek, Raadhuislaan 10"}
        en = {"area": "Oss-Noord and Berghem", "address": "the library, Raadhuislaan 10"}
        for f in ("text", "instruction", "area"):
            fill_brackets(page, f"nl-{f}", nl)
            fill_brackets(page, f"en-{f}", en)
        page.locator("#nl-sender_name").fill("Gemeente Oss")
        page.locator("input[name=target][value=nsp-noord]").check()
        page.locator("input[name=target][value=nsp-berghem]").check()

        # The preview: the board's words and layout, and the A4 sheet.
        page.get_by_role("button", name="Voorbeeld").click()
        preview = page.locator("#preview-board")
        expect(preview.locator(".headline")).to_have_text(HEADLINE)
        expect(preview.locator(".urgency-tag")).to_have_text("Dringend")
        expect(preview.locator(".instruction h3")).to_have_text("Wat moet u doen?")
        expect(preview.locator(".facts")).to_contain_text("Oss-Noord en Berghem")
        expect(preview.locator(".board-nsp")).to_contain_text("Bibliotheek Oss-Noord (+1)")
        expect(preview.locator(".version")).to_have_text("(versie 1)")
        expect(page.locator("#preview-print .headline")).to_have_text(HEADLINE)
        expect(page.locator("#preview-print .board-footer")).to_contain_text("Afgedrukt op")
        expect(page.locator("#preview-problems")).to_be_hidden()
        page.locator("#preview-lang").select_option("en")
        expect(preview.locator(".headline")).to_have_text("Boil water advice: boil your tap water")
        expect(preview.locator(".urgency-tag")).to_have_text("Urgent")
        page.locator("#preview-lang").select_option("nl")
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "desk-preview-1366x768.png"), full_page=True)

        page.locator("#publish").click()
        expect(page.locator("#desk-flash")).to_contain_text(
            "water-oss versie 1 is gepubliceerd naar 2 NSP('s)"
        )
        summary = page.locator("#reach-summary")
        expect(summary).to_have_text("2/2 NSP's tonen de actuele versie", timeout=30000)
        expect(page.locator("#reach-rows tr[data-state=current]")).to_have_count(2)
        expect(page.locator("tr[data-bulletin-id=water-oss] .reach-count")).to_have_text("2/2")
        page.screenshot(path=str(SCREENSHOTS / "desk-reach.png"), full_page=True)

        shown, other = ("nsp-noord", "nsp-berghem"), ("nsp-lith", "nsp-ravenstein")
        for nsp in shown:
            wait_until(lambda nsp=nsp: HEADLINE in board(gws[nsp]), 20, what=f"{nsp} board")
        for nsp in other:
            assert HEADLINE not in board(gws[nsp]), nsp
        # The same four boards in Chromium, as residents see them.
        for nsp, gw in gws.items():
            bctx = browser.new_context(viewport={"width": 1024, "height": 600}, locale="nl-NL")
            bctx.add_cookies([{"name": TOKEN_COOKIE, "value": gw.token, "url": gw.url}])
            bpage = bctx.new_page()
            bpage.goto(gw.url + "/board")
            item = bpage.locator("#bulletin-water-oss")
            if nsp in shown:
                expect(item.locator(".headline")).to_have_text(HEADLINE)
                bpage.screenshot(path=str(SCREENSHOTS / f"desk-board-{nsp}.png"))
            else:
                expect(bpage.get_by_text("Er zijn op dit moment geen berichten")).to_be_visible()
                assert item.count() == 0
            bctx.close()

        # A new version replaces it on both boards.
        page.locator("tr[data-bulletin-id=water-oss] button.edit").click()
        expect(page.locator("#editor-title")).to_contain_text("wordt versie 2")
        page.locator("#nl-headline").fill("Kookadvies verlengd tot zondag")
        page.get_by_role("button", name="Nieuwe versie publiceren").click()
        expect(page.locator("#desk-flash")).to_contain_text("water-oss versie 2")
        expect(page.locator("#reach-title")).to_have_text("Bereik van water-oss versie 2")
        expect(summary).to_have_text("2/2 NSP's tonen de actuele versie", timeout=30000)
        for nsp in shown:
            wait_until(
                lambda nsp=nsp: (
                    "Kookadvies verlengd tot zondag" in (b := board(gws[nsp]))
                    and HEADLINE not in b
                    and 'data-version="2"' in b
                ),
                20,
                what=f"{nsp} shows version 2 only",
            )
        for nsp in other:
            assert "Kookadvies" not in board(gws[nsp]), nsp

        # A task for the staff of a third NSP; the gateway's receipt shows up.
        page.locator("#t-title").fill("Watertank ophalen bij de brandweerkazerne")
        page.locator("input[name=ttarget][value=nsp-lith]").check()
        page.get_by_role("button", name="Taak versturen").click()
        expect(page.locator("#task-flash")).to_contain_text("verstuurd naar 1 NSP")
        expect(page.locator("#tasks .task-progress").first).to_contain_text(
            "1 ontvangen, 0 klaar van 1", timeout=30000
        )

        # CAP from the same screen: import an alert, export is a link per bulletin.
        page.locator("#cap-text").fill(render(BOIL_WATER).decode())
        page.get_by_role("button", name="CAP importeren").click()
        expect(page.locator("#cap-result")).to_contain_text("CAP: aangemaakt")
        cap_row = page.locator("#bulletins tr", has_text="Kookadvies voor Oss-Noord en Berghem")
        expect(cap_row).to_have_count(1)
        href = page.locator("tr[data-bulletin-id=water-oss] a.cap").get_attribute("href")
        assert href == "/api/v1/bulletins/water-oss/cap"
        xml = context.request.get(cp.url + href)
        assert xml.ok and "<alert" in xml.text() and "water-oss" in xml.text()

        # Withdrawn: off both boards, and the desk sees both confirm it.
        page.locator("tr[data-bulletin-id=water-oss] button.withdraw").click()
        expect(page.locator("#desk-flash")).to_contain_text("water-oss is ingetrokken")
        expect(summary).to_have_text("2/2 NSP's hebben het ingetrokken", timeout=30000)
        for nsp in shown:
            wait_until(
                lambda nsp=nsp: "Kookadvies verlengd" not in board(gws[nsp]), 20, what="gone"
            )
        page.screenshot(path=str(SCREENSHOTS / "desk-withdrawn.png"), full_page=True)

        # A viewer sees the desk, but no way to publish.
        viewer = browser.new_context(viewport={"width": 1366, "height": 768})
        viewer.add_cookies(
            [{"name": TOKEN_COOKIE, "value": issue_cp_token(database_url, "viewer"),
              "url": cp.url}]
        )  # fmt: skip
        vpage = viewer.new_page()
        vpage.goto(cp.url + "/console/desk?lang=en")
        expect(vpage.locator("#readonly")).to_contain_text("Read only")
        expect(vpage.locator("tr[data-bulletin-id=water-oss]")).to_contain_text("withdrawn")
        assert vpage.locator("button.edit, button.withdraw, #publish:visible").count() == 0

        assert not errors, errors
        own = urlsplit(cp.url).netloc
        foreign = [u for u in requested if re.match(r"https?:", u) and urlsplit(u).netloc != own]
        assert not foreign, foreign
