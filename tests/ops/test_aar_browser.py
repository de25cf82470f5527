"""Must show 5: the after-action report of the demo scenario, opened in Debian's Chromium.

A CP process forwards to a region process (so the P1 timeline shows "forwarded" and "received
by region"); the demo scenario's reports go in, an operator merges, acknowledges, dispatches and
resolves; the printable page is opened signed in as a viewer (the crisis room's role),
screenshotted in Dutch and English into test-artifacts/screenshots/, and printed to PDF
(test-artifacts/aar-demo.pdf), as a person evaluating the crisis would. Nothing from other hosts.

Browser and processes: the SQLite pass covers it (the report's SQL runs on PostgreSQL in
tests/ops/test_aar.py).
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from noodcore.httpguard import TOKEN_COOKIE
from tests.ops.scenario_run import envelopes, work_the_queue
from tests.support import ROOT, issue_cp_token, wait_until
from tests.upstream.support import SCREENSHOTS, service_process

pytestmark = pytest.mark.skipif(
    os.environ.get("NOODNET_TEST_DB") == "postgres", reason="browser: covered by the SQLite pass"
)
ARTIFACTS = ROOT / "test-artifacts"


def test_after_action_report_of_the_demo_in_chromium(tmp_path: Path, browser: Any) -> None:
    region_db = f"sqlite:///{tmp_path / 'region.db'}"
    cp_db = f"sqlite:///{tmp_path / 'cp.db'}"
    # The region binds port 0 and reports it; the CP is then pointed at it (no port picked
    # here, closed, and raced for).
    region = service_process(tmp_path, "region", "vr-test", region_db)
    region.start()
    cp = service_process(
        tmp_path,
        "cp",
        "cp-oss",
        cp_db,
        upstream_database_url=region_db,
        NOODNET_UPSTREAM_URLS=region.url,
        NOODNET_SUMMARY_INTERVAL_SECONDS="0",
    )
    try:
        cp.start()
        for env in envelopes():
            assert cp.post("/api/v1/messages", json=env).status_code == 201

        async def operator() -> dict[str, Any]:
            async with httpx.AsyncClient(base_url=cp.url, auth=cp.auth, timeout=10) as client:
                return await work_the_queue(client)

        # Playwright's sync API runs a loop on this thread: the operator works on another.
        with ThreadPoolExecutor(1) as pool:
            plan = pool.submit(asyncio.run, operator()).result(60)

        def p1_received_by_region() -> dict[str, Any] | None:
            aar: dict[str, Any] = cp.get("/api/v1/aar", params={"item_id": plan["p1"]})
            item = aar["items"][0]
            return item if item["region_acknowledged"] else None

        item = wait_until(p1_received_by_region, 30, what="the region to take the P1")
        assert item["forwarded"] <= item["region_acknowledged"]

        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="nl-NL")
        context.add_cookies(
            [{"name": TOKEN_COOKIE, "value": issue_cp_token(cp_db, "viewer"), "url": cp.url}]
        )
        page = context.new_page()
        seen: list[str] = []
        page.on("request", lambda req: seen.append(req.url))
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(cp.url + "/aar")
        page.locator("h1").wait_for()
        assert "Evaluatierapport" in page.locator("h1").inner_text()
        section = page.locator(f"#item-{plan['p1']}")
        text = section.inner_text()
        for expected in (
            "ontvangen",
            "gegroepeerd" if "gegroepeerd" in text else "samengevoegd",
            "Ambulance gevraagd via portofoon",
            "Ambulance 17-104 onderweg",
            "doorgestuurd naar regio",
            "ontvangen door regio",
        ):
            assert expected in text, f"{expected!r} not in the P1's timeline:\n{text}"
        levels = page.locator("table.levels tr.level-p1").inner_text()
        assert levels.startswith("P1") and " s" in levels, levels
        # The stylesheet applied (CSP allows only this host): the P1 badge is red.
        colour = section.locator(".badge").evaluate("e => getComputedStyle(e).backgroundColor")
        assert colour == "rgb(176, 0, 32)", colour
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "aar-demo.png"), full_page=True)
        pdf = ARTIFACTS / "aar-demo.pdf"
        page.pdf(path=str(pdf), format="A4", print_background=True)
        assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 10_000

        page.goto(cp.url + "/aar?lang=en")
        assert "After-action report" in page.locator("h1").inner_text()
        assert "received by region" in page.locator(f"#item-{plan['p1']}").inner_text()
        page.screenshot(path=str(SCREENSHOTS / "aar-demo-en.png"), full_page=True)

        # The CSV link on the page gives the same filter's CSV.
        href = page.locator("a[download]").get_attribute("href")
        assert href is not None and href.startswith("/api/v1/aar/timeline.csv")
        own = urlsplit(cp.url).netloc
        foreign = [
            u for u in seen if urlsplit(u).scheme.startswith("http") and urlsplit(u).netloc != own
        ]
        assert not foreign and not errors, (foreign, errors)
        context.close()
    finally:
        cp.stop()
        region.stop()
