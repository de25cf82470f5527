"""Must show 4: the crisis-room dashboard in headless Chromium (Debian's /usr/bin/chromium via
Playwright, never a downloaded browser): NSPs on the map, a new P1 appears without a reload,
a screenshot for review, and no page or asset refers to another host."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from noodcore.httpguard import TOKEN_COOKIE
from noodnet.scenario import NSPS
from service.web import console
from service.web.pages import ASSETS, LEAFLET, STATIC
from tests.support import Proc
from tests.upstream.support import (
    SCREENSHOTS,
    help_request,
    resource_request,
    service_process,
    situation,
    status,
)


def seed(cp: Proc) -> None:
    with httpx.Client(base_url=cp.url, timeout=10, auth=cp.auth) as c:
        for i, nsp in enumerate(NSPS[:5]):
            reg = {"name": nsp.name, "address": nsp.address, "lat": nsp.lat, "lon": nsp.lon}
            assert c.put(f"/api/v1/nsps/{nsp.nsp_id}", json=reg).status_code == 200
            st = status(
                nsp.nsp_id,
                1,
                hours=[30, 3, 18, 12, 9][i],
                state=["open", "open", "limited", "open", "closed"][i],
            )
            assert c.post("/api/v1/messages", json=st).status_code == 201
        a, b = NSPS[0].nsp_id, NSPS[1].nsp_id
        for m in (
            help_request(
                b,
                2,
                location={"address": "Kerkstraat 12, Oss", "lat": 51.7642, "lon": 5.5201},
                description="Meneer (82) aan zuurstofapparaat, accu bijna leeg, benauwd.",
            ),
            help_request(a, 2, urgency="P2", category="vulnerable_person",
                         description="Echtpaar slecht ter been, 4e verdieping, lift werkt niet.",
                         people_involved=2, vulnerable_people=2),
            resource_request(b, 3, item="diesel voor aggregaat", quantity=200),
            situation(a, 3, "information_need", "Wanneer komt de stroom terug?"),
            situation(b, 4, "information_need", "Wanneer komt de stroom terug"),
            situation(a, 4, "rumour", "Supermarkten worden geplunderd"),
        ):  # fmt: skip
            assert c.post("/api/v1/messages", json=m).status_code == 201


def issue_viewer(cp: Proc) -> dict[str, Any]:
    """A viewer token for a wall screen, issued by the admin through the API (id and secret)."""
    with httpx.Client(base_url=cp.url, timeout=10, auth=cp.auth) as c:
        r = c.post("/api/v1/auth/tokens", json={"name": "wall screen", "role": "viewer"})
        assert r.status_code == 201, r.text
        return dict(r.json())


@pytest.fixture
def cp(tmp_path: Path, make_database_url: Any) -> Iterator[Proc]:
    """A CP with five NSPs and their first reports."""
    cp_db = make_database_url("cp")
    proc = service_process(tmp_path, "cp", "cp-oss", cp_db, NOODNET_SUMMARY_INTERVAL_SECONDS="0")
    proc.start()
    try:
        seed(proc)
        yield proc
    finally:
        proc.stop()


def test_dashboard_shows_nsps_and_a_new_p1_live(cp: Proc, browser: Any) -> None:
    # A Dutch browser: the dashboard follows the one page-language rule (noodcore.pagelang).
    page = browser.new_page(viewport={"width": 1920, "height": 1080}, locale="nl-NL")
    requested: list[str] = []
    page.on("request", lambda req: requested.append(req.url))
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    # A crisis-room screen signed in with a viewer token (the same cookie as the gateway's).
    page.context.add_cookies(
        [{"name": TOKEN_COOKIE, "value": issue_viewer(cp)["token"], "url": cp.url}]
    )
    page.goto(cp.url + "/dashboard")

    markers = page.locator("svg#map g.nsp-marker")
    markers.first.wait_for(timeout=15000)
    assert markers.count() == 5
    ids = set(markers.evaluate_all("els => els.map(e => e.dataset.nspId)"))
    assert ids == {n.nsp_id for n in NSPS[:5]}
    states = dict(markers.evaluate_all("els => els.map(e => [e.dataset.nspId, e.dataset.state])"))
    assert states["berghem"] == "limited" and states["lith"] == "closed"
    # Positions are projected, west to east and north to south as on the ground.
    # Read in one go: every event re-renders the map, so element handles go stale.
    at = {
        nsp: (x, y)
        for nsp, x, y in markers.evaluate_all(
            """els => els.map(e => { const c = e.querySelector('circle');
               return [e.dataset.nspId, +c.getAttribute('cx'), +c.getAttribute('cy')]; })"""
        )
    }
    west_to_east = sorted(at, key=lambda n: at[n][0])
    assert west_to_east == ["lith", "oss-schadewijk", "oss-centrum", "berghem", "ravenstein"]
    assert at["lith"][1] < at["oss-centrum"][1] < at["oss-schadewijk"][1]
    assert page.locator("#p1 li[data-message-id]").count() == 1
    page.locator("#link.link-live").wait_for(timeout=10000)

    page.evaluate("window.__noReload = 'still here'")
    p1 = help_request(
        NSPS[3].nsp_id,
        2,
        category="fire",
        location={"address": "Molenstraat 8, Ravenstein", "lat": 51.7971, "lon": 5.652},
        people_involved=3,
        description="Rook uit bovenwoning, baby nog binnen volgens buren.",
    )
    assert cp.post("/api/v1/messages", json=p1).status_code == 201
    item = page.locator(f"#p1 li[data-message-id='{p1['message_id']}']")
    item.wait_for(timeout=10000)
    assert "baby nog binnen" in item.inner_text()
    assert "brand" in item.inner_text().lower()
    assert page.evaluate("window.__noReload") == "still here", "no page reload"
    page.locator("#alert:not([hidden])").wait_for(timeout=5000)
    assert "Dorpshuis Ravenstein" in page.locator("#alert").inner_text()
    assert page.locator(f"svg#map path.p1-marker[data-message-id='{p1['message_id']}']").count()
    assert page.locator(".kpi.k-p1 .n").inner_text() == "2"

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard.png"))

    page.locator("#lang").click()
    page.get_by_text("P1 — life-threatening").wait_for(timeout=5000)
    assert page.locator("#link").inner_text() == "LIVE"
    assert page.locator("#alert-text").inner_text().startswith("fire — Dorpshuis Ravenstein")
    page.screenshot(path=str(SCREENSHOTS / "dashboard-en.png"))

    assert not errors, errors
    own = urlsplit(cp.url).netloc
    foreign = [u for u in requested if urlsplit(u).scheme in ("http", "https", "ws", "wss")
               and urlsplit(u).netloc != own]  # fmt: skip
    assert requested and not foreign, foreign
    page.close()


def test_a_revoked_sign_in_takes_the_wall_screen_back_to_the_sign_in_page(
    cp: Proc, browser: Any
) -> None:
    viewer = issue_viewer(cp)
    page = browser.new_page(viewport={"width": 1366, "height": 768})
    page.context.add_cookies([{"name": TOKEN_COOKIE, "value": viewer["token"], "url": cp.url}])
    page.goto(cp.url + "/dashboard?lang=en")
    page.locator("#link.link-live").wait_for(timeout=10000)
    with httpx.Client(base_url=cp.url, timeout=10, auth=cp.auth) as c:
        assert c.post(f"/api/v1/auth/tokens/{viewer['id']}/revoke").status_code == 200
        # Any change makes the screen fetch the picture again.
        p1 = help_request(NSPS[3].nsp_id, 2, description="Brand in schuur")
        assert c.post("/api/v1/messages", json=p1).status_code == 201
    page.wait_for_url(re.compile(r"/login\?next="), timeout=15000)
    assert "next=%2Fdashboard%3Flang%3Den" in page.url, page.url
    page.locator("form input[name=token]").wait_for(timeout=5000)
    page.close()


URL_IN_CODE = re.compile(r"""(?:https?:|wss?:)?//[A-Za-z0-9.-]+\.[A-Za-z]{2,}|https?://""")


def test_no_page_or_asset_refers_to_another_host() -> None:
    files = [STATIC / "dashboard.html", *(STATIC / name for name in ASSETS)]
    files += [STATIC / name for name in console.ASSETS]  # the operator console's (tests/web)
    # Leaflet, vendored from npm as it came (static/leaflet/README.md): its code names its
    # website in comments and in the attribution prefix the dashboard switches off; the
    # browser tests show that no request leaves the host.
    vendored = {STATIC / "leaflet" / name for name in LEAFLET} | {STATIC / "leaflet" / "README.md"}
    assert set((STATIC / "leaflet").iterdir()) == vendored
    assert {f.name for f in STATIC.iterdir()} == {f.name for f in files} | {"leaflet"}, (
        "every file is served"
    )
    for f in files:
        text = f.read_text(encoding="utf-8")
        # Comments may mention anything; references may not.
        code = re.sub(r"/\*.*?\*/|<!--.*?-->", "", text, flags=re.S)
        assert not URL_IN_CODE.search(code), f"{f.name} refers to another host"
        for ref in re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)""", code):
            assert ref.startswith("/") and not ref.startswith("//"), (f.name, ref)
        assert "@import" not in code and "fonts.googleapis" not in code
