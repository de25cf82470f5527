"""Must show 2: two CPs and a region (plus a national level above it), each in its own process
with its own database: the region's picture is the union of the two CPs' pictures, and the
national level, fed by the region's forwarder, shows the same."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from noodcore.httpguard import TOKEN_COOKIE
from tests.support import Proc, issue_cp_token, wait_until
from tests.upstream.support import (
    SCREENSHOTS,
    help_request,
    resource_request,
    service_process,
    situation,
    status,
)

SITES = {
    "cp-oss": [
        ("oss-centrum", "Bibliotheek Oss", 51.7651, 5.5183),
        ("berghem", "Sporthal De Leeuwenkuil", 51.7702, 5.5703),
        ("lith", "Dorpshuis Lith", 51.8052, 5.4401),
    ],
    "cp-uden": [
        ("uden-centrum", "Bibliotheek Uden", 51.6605, 5.6190),
        ("volkel", "Dorpshuis Volkel", 51.6440, 5.6560),
    ],
}


def feed(cp: Proc, cp_id: str) -> None:
    with httpx.Client(base_url=cp.url, timeout=10, auth=cp.auth) as c:
        for i, (nsp, name, lat, lon) in enumerate(SITES[cp_id]):
            r = c.put(f"/api/v1/nsps/{nsp}", json={"name": name, "lat": lat, "lon": lon})
            assert r.status_code == 200, r.text
            msgs = [
                status(nsp, 1, hours=20 - 8 * i, state="limited" if i == 2 else "open"),
                help_request(nsp, 2, urgency="P1" if i != 1 else "P2"),
                resource_request(nsp, 3),
                situation(nsp, 5, "information_need", "Waar kan ik water halen?"),  # seq 4 lost
            ]
            for m in msgs:
                assert c.post("/api/v1/messages", json=m).status_code == 201


def nsp_view(pic: dict[str, Any]) -> set[tuple[Any, ...]]:
    keys = ("nsp_id", "name", "lat", "lon", "liveness", "state", "power_hours_left", "low_power")
    return {
        (cp["cp_id"], *(n[k] for k in keys), n["missing_count"], n["message_count"])
        for cp in pic["cps"]
        for n in cp["content"]["nsps"]
    }


def p1_view(pic: dict[str, Any]) -> set[tuple[str, str, str]]:
    return {(p["cp_id"], p["nsp_id"], p["message_id"]) for p in pic["p1_items"]}


def test_region_picture_is_the_union_of_its_cps(
    tmp_path: Path, make_database_url: Any, browser: Any
) -> None:
    # Each node binds port 0 and reports its port; the node below it learns the URL from
    # the started process (a free port picked here and handed over could be taken first).
    national_db, region_db = make_database_url("nl"), make_database_url("vr")
    national = service_process(tmp_path, "region", "nl", national_db)
    procs = [national]
    try:
        national.start()
        region = service_process(
            tmp_path,
            "region",
            "vr-bn",
            region_db,
            upstream_database_url=national_db,
            NOODNET_UPSTREAM_URLS=national.url,
        )
        procs.append(region)
        region.start()
        cps = {
            cp_id: service_process(
                tmp_path,
                "cp",
                cp_id,
                make_database_url(cp_id),
                upstream_database_url=region_db,
                NOODNET_UPSTREAM_URLS=region.url,
                NOODNET_SUMMARY_INTERVAL_SECONDS="0",
            )
            for cp_id in SITES
        }
        procs.extend(cps.values())
        for p in cps.values():
            p.start()
        for cp_id, cp in cps.items():
            feed(cp, cp_id)
            # Registration (names, positions) is not a significant change: ask for a summary.
            assert cp.post("/api/v1/upstream/summaries", json=None).status_code == 201

        def current_at(node: Proc) -> bool:
            # Compared with the CPs' newest summary each time: one may still be on its way.
            latest = {c: cp.get("/api/v1/upstream/summaries/latest") for c, cp in cps.items()}
            got = {c["cp_id"]: c["seq"] for c in node.get("/api/v1/region/cps")}
            return got == {cp_id: s["seq"] for cp_id, s in latest.items()}

        wait_until(lambda: current_at(region), 30, what="the region to have both summaries")
        wait_until(lambda: current_at(national), 30, what="the national level to catch up")

        cp_pics = {cp_id: cp.get("/api/v1/picture") for cp_id, cp in cps.items()}
        union_nsps = set().union(*(nsp_view(p) for p in cp_pics.values()))
        union_p1 = set().union(*(p1_view(p) for p in cp_pics.values()))
        assert len(union_nsps) == 5 and len(union_p1) == 3

        def same_as_union(node: Proc) -> bool:
            pic = node.get("/api/v1/picture")
            return nsp_view(pic) == union_nsps and p1_view(pic) == union_p1

        # P1 items may still be on their way up to the national level.
        wait_until(lambda: same_as_union(region), 20, what="region picture == union")
        wait_until(lambda: same_as_union(national), 20, what="national picture == union")

        for node in (region, national):
            pic = node.get("/api/v1/picture")
            assert [c["cp_id"] for c in pic["cps"]] == sorted(SITES)
            for c in pic["cps"]:
                cp_content = cp_pics[c["cp_id"]]["cps"][0]["content"]
                assert c["content"]["help_requests"] == cp_content["help_requests"]
                assert c["content"]["information_needs"][0]["count"] == len(SITES[c["cp_id"]])
                assert {i["message_id"] for i in c["content"]["open_items"]} == {
                    i["message_id"] for i in cp_content["open_items"]
                }
            total = sum(p["nsp_counts"]["total"] for p in cp_pics.values())
            assert pic["nsp_counts"]["total"] == total == 5
            assert pic["help_by_urgency"] == {"P1": 3, "P2": 2}
            geo = httpx.get(
                node.url + "/api/v1/geo/nsps.geojson", timeout=10, auth=node.auth
            ).json()
            assert len(geo["features"]) == 5
            assert all(f["geometry"]["type"] == "Point" for f in geo["features"])
        relayed = national.get("/api/v1/region/p1-items")
        assert {r["received_from"] for r in relayed} == {"vr-bn"}, "the region relayed them"
        assert {r["cp_id"] for r in relayed} == set(SITES), "keeping the CP they came from"

        # The same dashboard shows the regional picture: both CPs' NSPs on one map.
        page = browser.new_page(viewport={"width": 1920, "height": 1080})
        page.context.add_cookies(
            [
                {
                    "name": TOKEN_COOKIE,
                    "value": issue_cp_token(region_db, "viewer"),
                    "url": region.url,
                }
            ]
        )
        page.goto(region.url + "/dashboard")
        page.locator("#link.link-live").wait_for(timeout=15000)
        markers = page.locator("svg#map g.nsp-marker")
        got = set(
            markers.evaluate_all("els => els.map(e => e.dataset.cpId + '/' + e.dataset.nspId)")
        )
        assert got == {f"{cp}/{n[0]}" for cp, nsps in SITES.items() for n in nsps}
        assert page.locator("#p1 li[data-message-id]").count() == 3
        assert "regio vr-bn" in page.locator("#node").inner_text()
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "dashboard-region.png"))
        page.close()
    finally:
        for p in procs:
            p.stop()
