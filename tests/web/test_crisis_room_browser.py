"""Issue 12, must show 2 and 3: the crisis-room dashboard in Debian's headless Chromium against
a real CP process (with the demo gazetteer, so reports given only an address are on the map).

- A P1 reads "wacht" until an operator, in the console in another browser, dispatches it; the
  dashboard then reads "hulp onderweg" without a reload (the state change is a stream event).
- The incidents panel lists the incidents the triage grouped, with their report counts, and
  the map marks them at their address.
- At 1366x768 and 1920x1080 no text on the map overlaps another, the page does not scroll,
  and every P1 is on screen or on one of the pages the list turns through. Screenshots of the
  dashboard and the console at both sizes go to test-artifacts/screenshots/.
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
from noodnet.scenario import NSPS
from tests.support import ROOT, Proc, issue_cp_token, wait_until
from tests.upstream.support import SCREENSHOTS, help_request, service_process, status

SIZES = [(1366, 768), (1920, 1080)]
STREETS = ["Kerkstraat", "Molenstraat", "Kruisstraat", "Hoogstraat", "Oostwal", "Heuvel",
           "Torenstraat", "Julianastraat", "Begijnenstraat", "Kantsingel", "Dorpsstraat",
           "Marktstraat", "Raadhuislaan", "Wilhelminalaan"]  # fmt: skip


@pytest.fixture
def cp(tmp_path: Path, database_url: str) -> Iterator[Proc]:
    proc = service_process(
        tmp_path,
        "cp",
        "cp-oss",
        database_url,
        NOODNET_SUMMARY_INTERVAL_SECONDS="0",
        NOODNET_TRIAGE_GAZETTEER_DIR=str(ROOT / "service" / "gazetteer" / "demo"),
    )
    proc.start(timeout=120)  # a loaded shared machine can take longer than 30 s
    try:
        yield proc
    finally:
        proc.stop()


def _seed(cp: Proc, p1_count: int) -> list[dict[str, Any]]:
    """Six NSPs (close together: their labels compete for room), ``p1_count`` P1s at
    addresses only, and three reports of one fallen tree (grouped into one incident)."""
    p1s = []
    with httpx.Client(base_url=cp.url, timeout=10, auth=cp.auth) as c:
        for n in NSPS:
            reg = {"name": n.name, "address": n.address, "lat": n.lat, "lon": n.lon}
            assert c.put(f"/api/v1/nsps/{n.nsp_id}", json=reg).status_code == 200
            assert c.post("/api/v1/messages", json=status(n.nsp_id, 1)).status_code == 201
        for i in range(p1_count):
            nsp = NSPS[i % len(NSPS)].nsp_id
            m = help_request(
                nsp,
                10 + i,
                location={"address": f"{STREETS[i % len(STREETS)]} {3 + i}, Oss"},
                description=f"Bewoner {i} benauwd, zuurstofapparaat zonder stroom",
            )
            assert c.post("/api/v1/messages", json=m).status_code == 201, m
            p1s.append(m)
        for seq, nsp in ((40, "oss-centrum"), (41, "oss-schadewijk"), (42, "oss-centrum")):
            tree = help_request(
                nsp,
                seq,
                urgency="P2",
                category="other",
                location={"address": "Molenstraat 20, Oss"},
                description="Boom over de weg gevallen, Molenstraat 20 versperd",
                vulnerable_people=0,
            )
            assert c.post("/api/v1/messages", json=tree).status_code == 201
    return p1s


def _signed_in(browser: Any, cp: Proc, role: str, size: tuple[int, int], database_url: str) -> Page:
    context = browser.new_context(viewport={"width": size[0], "height": size[1]}, locale="nl-NL")
    context.add_cookies(
        [{"name": TOKEN_COOKIE, "value": issue_cp_token(database_url, role), "url": cp.url}]
    )
    return context.new_page()


def _item_of(cp: Proc, message_id: str) -> int:
    def find() -> int | None:
        for entry in cp.get("/api/v1/queue?limit=500"):
            item = cp.get(f"/api/v1/items/{entry['item']['id']}")
            if any(r["message_id"] == message_id for r in item["reports"]):
                return int(item["id"])
        return None

    found: int = wait_until(find, 20, what=f"the item of {message_id}")
    return found


def test_a_dispatched_p1_reads_hulp_onderweg_without_reload(
    cp: Proc, browser: Any, database_url: str
) -> None:
    [p1] = _seed(cp, 1)
    tree = wait_until(
        lambda: [
            f
            for f in cp.get("/api/v1/geo/incidents.geojson")["features"]
            if f["properties"]["report_count"] == 3
        ],
        20,
        what="the three tree reports grouped into one incident",
    )[0]
    assert tree["geometry"] is not None, "placed at its address by the gazetteer"

    wall = _signed_in(browser, cp, "viewer", (1920, 1080), database_url)
    requested: list[str] = []
    wall.on("request", lambda req: requested.append(req.url))
    errors: list[str] = []
    wall.on("pageerror", lambda exc: errors.append(str(exc)))
    wall.goto(cp.url + "/dashboard")
    row = wall.locator(f"#p1 li[data-message-id='{p1['message_id']}']")
    expect(row).to_have_attribute("data-state", "new", timeout=15000)
    expect(row.locator(".p1-state")).to_contain_text("wacht")
    incident = wall.locator(f"#incidents li[data-incident-id='{tree['id']}']")
    expect(incident).to_contain_text("3 meldingen")
    expect(incident).to_contain_text("Molenstraat 20")
    expect(
        wall.locator(f"svg#map .incident-marker[data-incident-id='{tree['id']}']")
    ).to_have_count(1)
    expect(wall.locator("#link.link-live")).to_be_visible(timeout=10000)
    wall.evaluate("window.__noReload = 'still here'")

    # The operator, at the console in another browser, sends help.
    item_id = _item_of(cp, p1["message_id"])
    desk = _signed_in(browser, cp, "operator", (1366, 768), database_url)
    desk.goto(f"{cp.url}/console#item-{item_id}")
    expect(desk.locator("#item-title")).to_contain_text(f"#{item_id}")
    desk.get_by_label("Notitie").fill("Ambulance onderweg via satelliettelefoon")
    desk.locator("#state-buttons button[data-state=dispatched]").click()
    expect(desk.locator("#item-state")).to_have_text("Hulp onderweg")

    expect(row).to_have_attribute("data-state", "dispatched", timeout=10000)
    expect(row.locator(".p1-state")).to_contain_text("hulp onderweg sinds")
    assert wall.evaluate("window.__noReload") == "still here", "no page reload"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    wall.screenshot(path=str(SCREENSHOTS / "dashboard-p1-dispatched.png"))

    # Resolved, it stays a little while as "opgelost" (not counted as open).
    r = cp.post(f"/api/v1/items/{item_id}/state", {"state": "resolved", "note": "Ter plaatse"})
    assert r.status_code == 200, r.text
    expect(row).to_have_attribute("data-state", "resolved", timeout=10000)
    expect(row.locator(".p1-state")).to_contain_text("opgelost")
    expect(wall.locator(".kpi.k-p1 .n")).to_have_text("0")

    assert not errors, errors
    own = urlsplit(cp.url).netloc
    assert not [u for u in requested if urlsplit(u).scheme.startswith("http")
                and urlsplit(u).netloc != own]  # fmt: skip


OVERLAPS = """() => {
  const boxes = [...document.querySelectorAll('svg#map text')]
    .map((t) => [t.textContent, t.getBoundingClientRect()])
    .filter(([s, b]) => s.trim() && b.width > 0 && b.height > 0);
  const out = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const [sa, a] = boxes[i], [sb, b] = boxes[j];
    const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
    const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
    if (w > 0.5 && h > 0.5) out.push([sa, sb]);
  }
  return { count: boxes.length, overlaps: out };
}"""

VISIBLE_P1 = """() => {
  const panel = document.querySelector('.p1-panel').getBoundingClientRect();
  return [...document.querySelectorAll('#p1 li[data-message-id]')].filter((li) => {
    if (li.hidden) return false;
    const b = li.getBoundingClientRect();
    return b.height > 0 && b.top >= panel.top && b.bottom <= panel.bottom + 0.5;
  }).map((li) => li.dataset.messageId);
}"""


@pytest.mark.parametrize("size", SIZES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_dashboard_fits_the_wall_screen(
    cp: Proc, browser: Any, database_url: str, size: tuple[int, int]
) -> None:
    p1s = _seed(cp, 14)
    wait_until(
        lambda: len(cp.get("/api/v1/geo/incidents.geojson")["features"]) >= 15,
        20,
        what="every report placed by the triage",
    )
    page = _signed_in(browser, cp, "viewer", size, database_url)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(cp.url + "/dashboard")
    expect(page.locator("svg#map g.nsp-marker")).to_have_count(len(NSPS), timeout=15000)
    expect(page.locator("#p1 li[data-message-id]")).to_have_count(14)
    expect(page.locator("svg#map .incident-marker")).not_to_have_count(0)
    w, h = size
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"dashboard-{w}x{h}.png"))

    # Nothing scrolls: the page is exactly the screen.
    dims = page.evaluate(
        "[document.documentElement.scrollHeight, document.documentElement.scrollWidth]"
    )
    assert dims[0] <= h and dims[1] <= w, dims

    # No text on the map covers another (labels placed with collision avoidance).
    result = page.evaluate(OVERLAPS)
    assert result["count"] >= len(NSPS), result
    assert result["overlaps"] == [], result["overlaps"]
    # Every NSP still has its name somewhere on the map (on a leader line if need be).
    named = page.locator("svg#map g.nsp-text").count()
    hidden = int(page.locator("svg#map").get_attribute("data-hidden-labels") or 0)
    assert named + hidden >= len(NSPS) and named >= len(NSPS) - 1, (named, hidden)

    # Every P1 is on screen, or on a page the list turns to by itself.
    seen: set[str] = set(page.evaluate(VISIBLE_P1))
    pages = int(page.locator("#p1").get_attribute("data-pages") or 1)
    if pages > 1:
        expect(page.locator("#p1-pager")).to_contain_text(f"/{pages}")
    for _ in range(pages - 1):
        page.evaluate("window.__noodnetTurnPages()")
        seen |= set(page.evaluate(VISIBLE_P1))
    assert seen == {m["message_id"] for m in p1s}, (len(seen), pages)
    if w == 1366:
        assert pages > 1, "14 P1s do not fit at 1366x768: they must be paged"

    console = _signed_in(browser, cp, "operator", size, database_url)
    console.goto(cp.url + "/console")
    expect(console.locator("#queue > li[data-item-id]").first).to_be_visible(timeout=15000)
    console.screenshot(path=str(SCREENSHOTS / f"console-{w}x{h}.png"))
    console.goto(cp.url + "/console/desk")
    console.get_by_label("Sjabloon").select_option("power")
    expect(console.locator("#preview-board .headline")).to_have_text(
        "Stroomstoring: stand van zaken"
    )
    console.screenshot(path=str(SCREENSHOTS / f"desk-{w}x{h}.png"))
    assert not errors, errors
