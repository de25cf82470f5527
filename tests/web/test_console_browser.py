"""The operator console in a real headless Chromium (Debian's) against a real CP process: sign
in through the form, a P1 help request (posted with a gateway token, through ingest, grouping
and priority) at the top of the queue with its reasons, acknowledged with a note, the state and
the audit entry on screen; a refresh keeps what the operator typed; an action another operator
made impossible shows the 409 in words; a viewer gets no buttons; with grouping in its own
process, reports received but not yet in the queue are announced. Nothing from other hosts.

The page's timers run on Playwright's clock: the test says when the console refreshes, so
"the other operator was faster" is a fixed sequence, not a race.

Screenshots land in test-artifacts/screenshots/ for people to review.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import Page, expect

from noodcore.httpguard import TOKEN_COOKIE
from tests.support import Proc, issue_cp_token, wait_until
from tests.upstream.support import SCREENSHOTS, help_request, resource_request, situation
from tests.upstream.support import service_process as cp_service

CP = "cp-oss"


@pytest.fixture
def cp(tmp_path: Path, database_url: str) -> Iterator[Proc]:
    proc = cp_service(tmp_path, "cp", CP, database_url, NOODNET_SUMMARY_INTERVAL_SECONDS="0")
    proc.start()
    try:
        yield proc
    finally:
        proc.stop()


def _register(cp: Proc, nsp_id: str, name: str) -> None:
    r = httpx.put(f"{cp.url}/api/v1/nsps/{nsp_id}", json={"name": name}, auth=cp.auth, timeout=10)
    assert r.status_code == 200, r.text


def _queue(cp: Proc) -> list[dict[str, Any]]:
    queue: list[dict[str, Any]] = cp.get("/api/v1/queue")
    return queue


def _watch_hosts(page: Page, seen: list[str]) -> None:
    page.on("request", lambda req: seen.append(req.url))


def _foreign(cp: Proc, seen: list[str]) -> list[str]:
    own = urlsplit(cp.url).netloc
    return [u for u in seen if urlsplit(u).scheme in ("http", "https", "ws", "wss")
            and urlsplit(u).netloc != own]  # fmt: skip


def test_operator_signs_in_and_acknowledges_a_p1(cp: Proc, database_url: str, browser: Any) -> None:
    _register(cp, "oss-centrum", "Bibliotheek Oss")
    _register(cp, "berghem", "Sporthal Berghem")
    # Older, less urgent work first: the P1 must still come out on top.
    for m in (
        situation("berghem", 1, "information_need", "Wanneer komt de stroom terug?"),
        resource_request("berghem", 2, item="diesel voor aggregaat", quantity=200),
        help_request(
            "oss-centrum",
            1,
            category="medical",
            location={"address": "Kerkstraat 12, Oss"},
            people_involved=1,
            vulnerable_people=1,
            description="Man (80) gevallen, reageert nauwelijks",
        ),
    ):
        assert cp.post("/api/v1/messages", json=m).status_code == 201
    top = wait_until(
        lambda: (q := _queue(cp)) and q[0]["item"]["top_class"] == "P1" and q[0],
        what="the P1 at the top of the queue",
    )
    item_id = top["item"]["id"]

    seen: list[str] = []
    errors: list[str] = []
    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="nl-NL")
    page = context.new_page()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    _watch_hosts(page, seen)
    page.clock.install()  # the console refreshes when the test advances this clock

    # An unknown browser gets the sign-in form, and after it the page it asked for.
    page.goto(cp.url + "/console")
    expect(page.get_by_role("heading", name="Inloggen")).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "console-sign-in.png"))
    page.get_by_label("Toegangscode").fill(issue_cp_token(database_url, "operator"))
    page.get_by_role("button", name="Inloggen").click()
    page.wait_for_url(cp.url + "/console")
    cookie = next(c for c in context.cookies() if c["name"] == TOKEN_COOKIE)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == "", "scripts cannot read the token"
    expect(page.locator("#who")).to_contain_text("test-operator (operator)")

    # Nobody has acknowledged the P1 yet: a banner and the count in the tab, whatever is open.
    expect(page.locator("#p1-alert")).to_contain_text("1 levensbedreigende melding(en)")
    expect(page.locator("#p1-alert a")).to_have_attribute("href", f"#item-{item_id}")
    assert page.title().startswith("(1) P1 · ")
    # The P1 is first, with its reasons in Dutch.
    first = page.locator("#queue > li").first
    expect(first).to_have_attribute("data-item-id", str(item_id))
    expect(first.locator(".q-line")).to_contain_text("P1 medisch, levensbedreigend")
    expect(first.locator(".q-line")).to_contain_text("1 melding van 1 NSP")
    expect(first.locator(".state")).to_have_text("Nieuw")
    expect(first).to_contain_text("Bibliotheek Oss (oss-centrum)")
    assert page.locator("#queue > li").count() == 3

    first.locator("a").click()
    expect(page).to_have_url(f"{cp.url}/console#item-{item_id}")
    expect(page.locator("#item-title")).to_contain_text(f"#{item_id}")
    expect(page.locator("#item-reports tbody tr")).to_have_count(1)
    expect(page.locator("#item-reports tbody")).to_contain_text("Man (80) gevallen")
    page.screenshot(path=str(SCREENSHOTS / "console-p1.png"))

    # Without a note nothing is sent.
    ack = page.locator("#state-buttons button[data-state=acknowledged]")
    expect(ack).to_have_text("Bevestigen")
    ack.click()
    expect(page.locator("#flash")).to_contain_text("Schrijf eerst een korte notitie")
    expect(page.locator("#note")).to_be_focused()

    page.get_by_label("Notitie").fill("Ambulance gebeld, 112 werkt via satelliet")
    ack.click()
    expect(page.locator("#flash")).to_contain_text(f"#{item_id} staat nu op ‘Bevestigd’")
    expect(page.locator("#item-state")).to_have_text("Bevestigd")
    entry = page.locator("#item-audit tbody tr").first
    expect(entry).to_contain_text("test-operator")
    expect(entry).to_contain_text("Nieuw → Bevestigd")
    expect(entry).to_contain_text("Ambulance gebeld, 112 werkt via satelliet")
    expect(first.locator(".state")).to_have_text("Bevestigd")
    expect(page.locator("#p1-alert")).to_be_hidden()
    assert not page.title().startswith("(")
    expect(page.locator("#note")).to_have_value("")
    assert cp.get(f"/api/v1/items/{item_id}")["state"] == "acknowledged"
    page.screenshot(path=str(SCREENSHOTS / "console-acknowledged.png"))

    # A refresh brings new work in and leaves the half-typed note alone.
    page.get_by_label("Notitie").fill("Buurman blijft bij hem tot")
    assert (
        cp.post(
            "/api/v1/messages",
            json=help_request("berghem", 3, urgency="P2", description="Echtpaar vast in lift"),
        ).status_code
        == 201
    )
    page.clock.run_for(6000)
    expect(page.locator("#queue > li")).to_have_count(4)
    expect(page.locator("#queue")).to_contain_text("Echtpaar vast in lift")
    expect(page.locator("#note")).to_have_value("Buurman blijft bij hem tot")

    # Another operator resolves it meanwhile; this screen has not refreshed yet, so it still
    # offers "Hulp onderweg". The service refuses, and the console says so in words.
    resolve = {"state": "resolved", "note": "Ambulance ter plaatse"}
    r = cp.post(f"/api/v1/items/{item_id}/state", resolve)
    assert r.status_code == 200, r.text
    page.locator("#state-buttons button[data-state=dispatched]").click()
    flash = page.locator("#flash")
    expect(flash).to_contain_text("Dit kan niet (409)")
    expect(flash).to_contain_text(
        f"#{item_id} staat nu op ‘Opgelost’ en kan niet naar ‘Hulp onderweg’"
    )
    expect(flash).to_contain_text("Nu mogelijk: Heropenen")
    expect(flash).to_contain_text("(allowed: acknowledged)")  # the service's own sentence
    expect(page.locator("#item-state")).to_have_text("Opgelost")
    expect(page.locator("#state-buttons button")).to_have_text(["Heropenen"])
    expect(page.locator("#note")).to_have_value("Buurman blijft bij hem tot")
    page.screenshot(path=str(SCREENSHOTS / "console-409.png"))

    # A viewer (crisis-room screen) sees the same item without any way to act.
    viewer = browser.new_context(viewport={"width": 1366, "height": 768}, locale="nl-NL")
    viewer.add_cookies(
        [{"name": TOKEN_COOKIE, "value": issue_cp_token(database_url, "viewer"), "url": cp.url}]
    )
    vpage = viewer.new_page()
    _watch_hosts(vpage, seen)
    vpage.goto(f"{cp.url}/console#item-{item_id}")
    expect(vpage.locator("#readonly")).to_contain_text("Alleen lezen: uw rol (viewer)")
    expect(vpage.locator("#item-title")).to_contain_text(f"#{item_id}")
    expect(vpage.locator("#readonly-note")).to_be_visible()
    assert vpage.locator("#actions, #state-buttons button, #note").count() == 0

    # English on request.
    vpage.goto(f"{cp.url}/console?lang=en#item-{item_id}")
    expect(vpage.locator("#queue-title")).to_contain_text("Open work — most urgent first")
    expect(vpage.locator("#item-state")).to_have_text("Resolved")
    expect(vpage.locator("#item-audit")).to_contain_text("Acknowledged → Resolved")

    assert not errors, errors
    assert seen and not _foreign(cp, seen), _foreign(cp, seen)
    viewer.close()
    context.close()


def fire(nsp: str, seq: int, address: str, text: str) -> dict[str, Any]:
    return situation(nsp, seq, "fire", text, severity="high", location={"address": address})


def test_possible_duplicates_are_decided_and_reports_split_out(
    cp: Proc, database_url: str, browser: Any
) -> None:
    a, b = "oss-centrum", "oss-schadewijk"
    p1 = help_request(b, 3, category="fire", location={"address": "Kerkstraat 12"},
                      description="Brand, mensen nog binnen")  # fmt: skip
    p1_other = help_request(a, 3, category="fire", location={"address": "kerkstr. 12 oss"},
                            description="Brand in woning, man binnen")  # fmt: skip
    reports = [
        fire(a, 1, "Kerkstraat 12, Oss", "Rook uit het dak van een woning"),
        fire(b, 1, "kerkstr. 12 oss", "rookontwikkeling dak woning"),
        fire(a, 2, "Kerkstraat 12", "Woning in brand, veel rook"),
    ]
    for m in (*reports, p1, p1_other):
        assert cp.post("/api/v1/messages", json=m).status_code == 201

    def item_of(message_id: str) -> dict[str, Any]:
        for entry in _queue(cp):
            detail: dict[str, Any] = cp.get(f"/api/v1/items/{entry['item']['id']}")
            if message_id in {r["message_id"] for r in detail["reports"]}:
                return detail
        raise AssertionError(f"{message_id} is in no open item")

    incident = wait_until(lambda: item_of(reports[0]["message_id"]), what="the fire incident")
    assert incident["report_count"] == 3
    first = wait_until(lambda: item_of(p1["message_id"]), what="the P1")
    second = item_of(p1_other["message_id"])
    assert first["duplicate_status"] == "pending" and second["duplicate_status"] == "pending"

    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="nl-NL")
    context.add_cookies(
        [{"name": TOKEN_COOKIE, "value": issue_cp_token(database_url, "operator"), "url": cp.url}]
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.clock.install()
    page.goto(cp.url + "/console")

    # The P1 stands in the queue with the question on it.
    entry = page.locator(f"#queue > li[data-item-id='{first['id']}']")
    expect(entry.locator(".q-dup")).to_have_text(
        f"⚠ Mogelijk dubbel met #{first['possible_duplicate_of']} — beslissen"
    )
    target = first["possible_duplicate_of"]
    entry.locator("a").click()
    expect(page.locator("#dup-decision")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "console-duplicate.png"))
    page.get_by_label("Notitie").fill("Zelfde brand, zelfde adres")
    page.get_by_role("button", name=f"Samenvoegen met #{target}").click()
    expect(page.locator("#flash")).to_contain_text(f"#{first['id']} is samengevoegd in #{target}")
    expect(page.locator("#item-state")).to_have_text("Gesloten (dubbel)")
    expect(page.locator("#state-buttons")).to_contain_text("Geen statuswijziging mogelijk")
    expect(page.locator(f"#queue > li[data-item-id='{first['id']}']")).to_have_count(0)

    # The other P1: kept apart. Its marker goes, it stays in the queue.
    page.goto(f"{cp.url}/console#item-{second['id']}")
    expect(page.locator("#dup-decision")).to_be_visible()
    page.get_by_label("Notitie").fill("Ander huis: nummer 12a, achterom")
    page.get_by_role("button", name="Apart houden").click()
    expect(page.locator("#flash")).to_contain_text(f"#{second['id']} blijft een apart incident")
    expect(page.locator("#dup-decision")).to_be_hidden()
    kept = page.locator(f"#queue > li[data-item-id='{second['id']}']")
    expect(kept).to_have_count(1)
    expect(kept.locator(".q-dup")).to_have_count(0)

    # Split one NSP's report out of the merged incident.
    page.goto(f"{cp.url}/console#item-{target}")
    rows = page.locator("#item-reports tbody tr")
    expect(rows).to_have_count(4)
    # All of them: refused (one must stay), in words.
    for box in page.locator("#item-reports tbody input[type=checkbox]").all():
        box.check()
    page.get_by_label("Notitie").fill("Alles eruit?")
    page.get_by_role("button", name="Gekozen meldingen afsplitsen").click()
    expect(page.locator("#flash")).to_contain_text("Niet geaccepteerd (422)")
    expect(page.locator("#flash")).to_contain_text("meldingen: at least one report must stay")
    expect(page.get_by_label("Notitie")).to_have_value("Alles eruit?")
    for box in page.locator("#item-reports tbody input[type=checkbox]").all():
        box.uncheck()
    page.locator(f"tr[data-message-id='{reports[1]['message_id']}'] input").check()
    page.get_by_label("Notitie").fill("Rook aan de overkant, ander adres")
    page.get_by_role("button", name="Gekozen meldingen afsplitsen").click()
    expect(page.locator("#flash")).to_contain_text("Afgesplitst als nieuw incident #")
    expect(rows).to_have_count(3)
    expect(page.locator("#item-audit tbody tr").first).to_contain_text("meldingen afgesplitst")
    assert not errors, errors
    context.close()


def test_reports_not_yet_in_the_queue_are_announced_until_they_are(
    tmp_path: Path, database_url: str, browser: Any
) -> None:
    # Grouping in its own process, and that process stopped (SIGSTOP: as stuck as it gets):
    # the P1 is stored and acked, not in the queue. The operator is told, until it is.
    import os
    import signal

    from tests.support import child_pids, issue_cp_token

    cp = cp_service(
        tmp_path,
        "cp",
        CP,
        database_url,
        NOODNET_SUMMARY_INTERVAL_SECONDS="0",
        NOODNET_TRIAGE_GROUPING_PROCESS="true",
    ).start()
    try:
        assert cp.proc is not None
        cp_pid = cp.proc.pid
        grouping = wait_until(lambda: child_pids(cp_pid), 30, what="the grouping process")[0]
        os.kill(grouping, signal.SIGSTOP)
        try:
            _register(cp, "oss-centrum", "Bibliotheek Oss")
            m = help_request("oss-centrum", 1, description="Vrouw (70) bewusteloos in de keuken")
            # Posted as the gateway, without the test clients' wait for placement (it would
            # wait for the stopped process).
            gateway = issue_cp_token(database_url, "gateway", "oss-centrum")
            assert cp.post("/api/v1/messages", json=m, token=gateway).status_code == 201
            assert _queue(cp) == []

            context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="nl-NL")
            context.add_cookies(
                [
                    {
                        "name": TOKEN_COOKIE,
                        "value": issue_cp_token(database_url, "operator"),
                        "url": cp.url,
                    }
                ]
            )
            page = context.new_page()
            page.clock.install()
            page.goto(cp.url + "/console")
            alert = page.locator("#grouping-alert")
            expect(alert).to_contain_text("1 melding(en) ontvangen maar nog niet in de wachtrij")
            expect(alert).to_contain_text("waarvan 1 P1")
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / "console-grouping-waiting.png"))
        finally:
            os.kill(grouping, signal.SIGCONT)
        wait_until(lambda: len(_queue(cp)) == 1, 30, what="the P1 placed in the queue")
        page.clock.run_for(6000)  # the next refresh
        expect(alert).to_be_hidden()
        expect(page.locator("#p1-alert")).to_contain_text("1 levensbedreigende melding(en)")
        context.close()
    finally:
        cp.stop()
