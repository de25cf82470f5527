"""Must show 4 (issue 12): ``/docs`` and ``/redoc`` render on the CP and on the gateway with
the network cut off, in Debian's Chromium against real processes and a real Mosquitto.

Every request that leaves the host under test is aborted and recorded, and the test fails on
any such request: a page that only works because a CDN answered is the bug we fix here.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from tests.support import Mosquitto, Proc, cp_process, gateway_process, wait_until

CP, NSP = "cp-test", "nsp-docs"


@pytest.fixture
def system(tmp_path: Path, broker: Mosquitto, database_url: str) -> Iterator[tuple[Proc, Proc]]:
    cp = cp_process(tmp_path, broker, database_url, cp_id=CP).start()
    gw = gateway_process(tmp_path, broker, NSP, cp_id=CP).start()
    try:
        wait_until(lambda: gw.get("/api/v1/link")["connected"], 20, what="gateway connected")
        yield cp, gw
    finally:
        gw.stop()
        cp.stop()


def _offline_page(browser: Browser, base: str, left_host: list[str]) -> Page:
    page = browser.new_page(viewport={"width": 1280, "height": 900})

    def guard(route: Route) -> None:
        url = route.request.url
        if url.startswith(base + "/") or url == base:
            route.continue_()
        else:
            left_host.append(url)
            route.abort("internetdisconnected")

    page.route("**/*", guard)
    return page


@pytest.mark.parametrize("which", ["cp", "gateway"])
def test_docs_render_with_the_network_blocked(
    browser: Browser, system: tuple[Proc, Proc], which: str
) -> None:
    cp, gw = system
    proc = cp if which == "cp" else gw
    left_host: list[str] = []
    page = _offline_page(browser, proc.url, left_host)
    try:
        page.goto(proc.url + "/docs")
        # Operations are listed: Swagger UI loaded its bundle and the OpenAPI document.
        ops = page.locator(".opblock-summary")
        expect(ops.first).to_be_visible(timeout=20_000)
        assert ops.count() >= 5, f"{which}: only {ops.count()} operations on /docs"
        expect(page.locator(".opblock-summary-path", has_text="/healthz").first).to_be_visible()

        page.goto(proc.url + "/redoc")
        expect(page.locator("h1").first).to_be_visible(timeout=20_000)
        expect(page.get_by_text("/healthz").first).to_be_attached(timeout=20_000)
    finally:
        page.close()
    assert not left_host, f"{which}: requests left the host: {left_host}"
