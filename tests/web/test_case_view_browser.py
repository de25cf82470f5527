"""Issue 12: the complete case view and the queue's filters, in Debian's headless Chromium
against a real CP process. The dispatcher sees the landmark, the reporter and how the CP
reaches them, the reports per NSP, the channel, every field of a report and the audit trail;
the queue narrows by P level, category, NSP and state, and by a search."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from noodcore.httpguard import TOKEN_COOKIE
from tests.support import Proc, issue_cp_token, wait_until
from tests.upstream.support import SCREENSHOTS, help_request, service_process


@pytest.fixture
def cp(tmp_path: Path, database_url: str) -> Iterator[Proc]:
    proc = service_process(tmp_path, "cp", "cp-oss", database_url)
    proc.start(timeout=120)  # a loaded shared machine can take longer than 30 s
    try:
        yield proc
    finally:
        proc.stop()


def test_case_view_shows_what_the_reports_carry_and_the_queue_filters(
    cp: Proc, browser: Any, database_url: str
) -> None:
    with httpx.Client(base_url=cp.url, timeout=10, auth=cp.auth) as c:
        for nsp, name in (("oss-centrum", "Bibliotheek Oss"), ("berghem", "Sporthal Berghem")):
            assert c.put(f"/api/v1/nsps/{nsp}", json={"name": name}).status_code == 200
        fall = help_request(
            "oss-centrum",
            1,
            location={
                "address": "Kerkstraat 12, Oss",
                "description": "achter de kerk, groene deur",
            },
            description="Man (80) gevallen, reageert nauwelijks",
            reporter_name="Ans de Vries",
            callback="blijft bij het NSP, jas met rode sjaal",
        )
        lift = help_request(
            "berghem", 2, urgency="P2", category="vulnerable_person",
            location={"address": "Hoogstraat 3, Berghem"},
            description="Echtpaar vast in lift", people_involved=2, vulnerable_people=2,
        )  # fmt: skip
        for m in (fall, lift):
            assert c.post("/api/v1/messages", json=m).status_code == 201
    queue = wait_until(lambda: (q := cp.get("/api/v1/queue")) and len(q) == 2 and q, 20, what="2")
    p1 = next(e["item"]["id"] for e in queue if e["item"]["top_class"] == "P1")

    context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="nl-NL")
    context.add_cookies(
        [{"name": TOKEN_COOKIE, "value": issue_cp_token(database_url, "operator"), "url": cp.url}]
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{cp.url}/console#item-{p1}")
    expect(page.locator("#item-landmark")).to_have_text("achter de kerk, groene deur")
    expect(page.locator("#item-reporter")).to_have_text("Ans de Vries")
    expect(page.locator("#item-callback")).to_have_text("blijft bij het NSP, jas met rode sjaal")
    expect(page.locator("#item-per-nsp")).to_have_text("Bibliotheek Oss (oss-centrum): 1")
    row = page.locator("#item-reports tbody tr").first
    expect(row.locator("td.channel")).to_have_text("HTTP")
    expect(row.locator("td.landmark")).to_have_text("achter de kerk, groene deur")
    row.locator("details.all-fields summary").click()
    expect(row.locator("details.all-fields")).to_contain_text("location.address")
    expect(row.locator("details.all-fields")).to_contain_text("people_involved")
    page.get_by_label("Notitie").fill("Ambulance gebeld")
    page.locator("#state-buttons button[data-state=acknowledged]").click()
    expect(page.locator("#item-audit tbody tr").first).to_contain_text("Ambulance gebeld")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "console-case-view.png"), full_page=True)

    items = page.locator("#queue > li[data-item-id]")
    expect(items).to_have_count(2)
    page.locator("#f-class").select_option("P2")
    expect(items).to_have_count(1)
    expect(items.first).to_contain_text("Echtpaar vast in lift")
    expect(page.locator("#queue-count")).to_have_text("(1 van 2)")
    page.locator("#f-class").select_option("")
    page.locator("#f-nsp").select_option("oss-centrum")
    expect(items).to_have_count(1)
    expect(items.first).to_have_attribute("data-item-id", str(p1))
    page.locator("#f-nsp").select_option("")
    page.locator("#f-state").select_option("acknowledged")
    expect(items).to_have_count(1)
    page.locator("#f-state").select_option("")
    page.locator("#f-category").select_option("vulnerable_person")
    expect(items).to_have_count(1)
    page.locator("#f-category").select_option("")
    page.locator("#f-search").fill("lift berghem")
    expect(items).to_have_count(1)
    page.locator("#f-search").fill("brand")
    expect(page.locator("#queue")).to_contain_text("Niets gevonden met dit filter (2 open)")
    page.locator("#f-search").fill(f"#{p1}")
    expect(items).to_have_count(1)
    assert not errors, errors
