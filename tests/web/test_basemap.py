"""Base-map tiles from the region's MBTiles file (service/web/basemap.py): what the CP serves,
the row flip of the MBTiles layout, every way the file can be unusable (said in words, the
dashboard keeps its sketch), and the dashboard in Chromium drawing Leaflet over those tiles
with no request leaving the host."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import expect

from noodcore.httpguard import TOKEN_COOKIE
from tests.support import Proc, issue_cp_token
from tests.upstream.support import SCREENSHOTS, service_process
from tests.web.mbtiles_fixture import make_mbtiles, tile_of
from tests.web.support import running_cp, token


async def test_tiles_come_from_the_file_in_xyz_numbering(tmp_path: Path, database_url: str) -> None:
    path = tmp_path / "oss.mbtiles"
    tiles = make_mbtiles(path, zooms=range(10, 12))
    async with running_cp(database_url, "cp-oss", basemap_mbtiles=str(path)) as (app, c):
        headers = {"Authorization": f"Bearer {token(app, 'viewer')}"}
        info = (await c.get("/api/v1/basemap", headers=headers)).json()
        assert info == {
            "available": True,
            "reason": None,
            "name": "Testkaart Oss",
            "format": "png",
            "minzoom": 10,
            "maxzoom": 11,
            "bounds": [5.3, 51.68, 5.8, 51.86],
            "attribution": "gegenereerd voor de tests",
        }
        x, y = tile_of(5.52, 51.765, 11)
        r = await c.get(f"/api/v1/basemap/tiles/11/{x}/{y}", headers=headers)
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        assert r.content == tiles[(11, x, y)]
        # The row is flipped (TMS in the file): the mirrored row is not in the Oss area.
        r = await c.get(f"/api/v1/basemap/tiles/11/{x}/{2**11 - 1 - y}", headers=headers)
        assert r.status_code == 404 and "no tile 11/" in r.json()["detail"]
        r = await c.get("/api/v1/basemap/tiles/1/2/0", headers=headers)
        assert r.status_code == 404 and "outside the world" in r.json()["detail"]
        r = await c.get("/api/v1/basemap/tiles/99/0/0", headers=headers)
        assert r.status_code == 422
        # Readers only.
        assert (await c.get("/api/v1/basemap")).status_code == 401
        assert (await c.get(f"/api/v1/basemap/tiles/11/{x}/{y}")).status_code == 401


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (None, "no MBTiles file configured"),
        (lambda p: None, "does not exist"),
        (lambda p: p.mkdir(), "is not a file"),
        (lambda p: p.write_bytes(b"not a database at all" * 100), "not a readable MBTiles"),
        (lambda p: make_mbtiles(p, fmt="pbf"), "raster tiles (png, jpg, webp) only"),
        (lambda p: sqlite3.connect(p).executescript(
            "CREATE TABLE metadata (name TEXT, value TEXT);"
            "CREATE TABLE tiles (zoom_level INT, tile_column INT, tile_row INT, tile_data BLOB);"
        ), "holds no tiles"),
    ],
    ids=["unset", "missing", "directory", "garbage", "vector", "empty"],
)  # fmt: skip
async def test_an_unusable_file_is_said_in_words(
    tmp_path: Path, database_url: str, make: Any, reason: str
) -> None:
    path = tmp_path / "region.mbtiles"
    settings: dict[str, Any] = {}
    if make is not None:
        make(path)
        settings["basemap_mbtiles"] = str(path)
    async with running_cp(database_url, "cp-oss", **settings) as (app, c):
        headers = {"Authorization": f"Bearer {token(app, 'viewer')}"}
        info = (await c.get("/api/v1/basemap", headers=headers)).json()
        assert info["available"] is False and reason in info["reason"], info
        r = await c.get("/api/v1/basemap/tiles/11/1054/681", headers=headers)
        assert r.status_code == 404 and reason in r.json()["detail"]


@pytest.fixture
def cp_with_tiles(tmp_path: Path, database_url: str) -> Iterator[Proc]:
    path = tmp_path / "oss.mbtiles"
    make_mbtiles(path)
    proc = service_process(
        tmp_path, "cp", "cp-oss", database_url, NOODNET_BASEMAP_MBTILES=str(path)
    )
    proc.start(timeout=120)  # a loaded shared machine can take longer than 30 s
    try:
        yield proc
    finally:
        proc.stop()


def test_dashboard_draws_leaflet_over_the_cp_tiles(
    cp_with_tiles: Proc, browser: Any, database_url: str
) -> None:
    cp = cp_with_tiles
    assert (
        httpx.put(
            cp.url + "/api/v1/nsps/oss-centrum",
            json={"name": "Bibliotheek Oss", "lat": 51.7651, "lon": 5.5183},
            headers=cp.headers,
            timeout=10,
        ).status_code
        == 200
    )
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    context.add_cookies(
        [{"name": TOKEN_COOKIE, "value": issue_cp_token(database_url, "viewer"), "url": cp.url}]
    )
    page = context.new_page()
    requested: list[str] = []
    page.on("request", lambda req: requested.append(req.url))
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(cp.url + "/dashboard")
    expect(page.locator("svg#map g.nsp-marker")).to_have_count(1, timeout=15000)
    loaded = page.locator("#tiles img.leaflet-tile-loaded")
    expect(loaded.first).to_be_visible(timeout=15000)
    assert page.locator("body.map-tiles").count() == 1
    assert page.locator("svg#map .area, svg#map .river").count() == 0, "no sketch under tiles"
    expect(page.locator("svg#map .map-note")).to_contain_text("Testkaart Oss")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "dashboard-tiles-1366x768.png"))
    tiles = [u for u in requested if "/api/v1/basemap/tiles/" in u]
    assert tiles, requested
    own = urlsplit(cp.url).netloc
    assert not [u for u in requested if urlsplit(u).scheme.startswith("http")
                and urlsplit(u).netloc != own]  # fmt: skip
    assert not errors, errors
