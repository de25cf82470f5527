"""Base-map tiles for the dashboard, from a local MBTiles file the region provides.

Invariant: the crisis room has no internet, so no tile ever comes from another host. The CP
reads the file named by ``NOODNET_BASEMAP_MBTILES`` (an SQLite database in the MBTiles 1.3
layout: a ``metadata`` table and a ``tiles`` table in TMS row order) with the standard library's
``sqlite3``, read-only, one short connection per request: no extra dependency, and a file the
region replaces is picked up at the next request. A missing, unreadable or vector-tile file
is reported by ``GET /api/v1/basemap`` with the reason, and the dashboard falls back to its
sketch; it never breaks the page.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from noodcore.httpguard import require
from service.auth.roles import READERS

router = APIRouter(prefix="/api/v1/basemap", tags=["dashboard"])

MEDIA_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "webp": "image/webp"}
MAX_ZOOM = 24


class Basemap(BaseModel):
    available: bool
    reason: str | None = Field(default=None, description="Why no tiles are served, if not.")
    name: str | None = None
    format: str | None = None
    minzoom: int | None = None
    maxzoom: int | None = None
    bounds: list[float] | None = Field(default=None, description="west, south, east, north")
    attribution: str | None = None


def _connect(path: Path) -> sqlite3.Connection:
    # mode=ro: the CP never writes the region's file (and never creates an empty one).
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=2)


def read_info(path_setting: str | None) -> Basemap:
    if not path_setting:
        return Basemap(
            available=False, reason="no MBTiles file configured (NOODNET_BASEMAP_MBTILES)"
        )
    path = Path(path_setting)
    if not path.is_file():
        what = "is not a file" if path.exists() else "does not exist"
        return Basemap(available=False, reason=f"MBTiles file {path} {what}")
    try:
        with _connect(path) as conn:
            meta = dict(conn.execute("SELECT name, value FROM metadata").fetchall())
            zooms = conn.execute("SELECT MIN(zoom_level), MAX(zoom_level) FROM tiles").fetchone()
    except sqlite3.Error as exc:
        return Basemap(available=False, reason=f"{path} is not a readable MBTiles file: {exc}")
    fmt = str(meta.get("format", "png")).lower()
    if fmt not in MEDIA_TYPES:
        return Basemap(
            available=False,
            reason=f"{path} holds '{fmt}' tiles; the dashboard shows raster tiles "
            "(png, jpg, webp) only",
        )
    if zooms is None or zooms[0] is None:
        return Basemap(available=False, reason=f"{path} holds no tiles")
    bounds = None
    try:
        if meta.get("bounds"):
            bounds = [float(v) for v in str(meta["bounds"]).split(",")]
            if len(bounds) != 4:
                bounds = None
    except ValueError:
        bounds = None
    return Basemap(
        available=True,
        name=meta.get("name"),
        format=fmt,
        minzoom=int(zooms[0]),
        maxzoom=int(zooms[1]),
        bounds=bounds,
        attribution=meta.get("attribution"),
    )


def read_tile(path_setting: str | None, z: int, x: int, y: int) -> tuple[bytes, str]:
    info = read_info(path_setting)
    if not info.available or path_setting is None or info.format is None:
        raise HTTPException(404, detail=f"no base map: {info.reason}")
    if x >= 2**z or y >= 2**z:
        raise HTTPException(404, detail=f"tile {z}/{x}/{y} is outside the world at zoom {z}")
    tms_y = 2**z - 1 - y  # MBTiles rows count from the south (TMS); Leaflet's from the north
    try:
        with _connect(Path(path_setting)) as conn:
            row = conn.execute(
                "SELECT tile_data FROM tiles WHERE zoom_level=? AND tile_column=? AND tile_row=?",
                (z, x, tms_y),
            ).fetchone()
    except sqlite3.Error as exc:
        raise HTTPException(503, detail=f"base map cannot be read: {exc}") from None
    if row is None:
        raise HTTPException(404, detail=f"the base map has no tile {z}/{x}/{y}")
    return bytes(row[0]), MEDIA_TYPES[info.format]


def _setting(request: Request) -> str | None:
    value: str | None = request.app.state.ctx.settings.basemap_mbtiles
    return value


@router.get(
    "",
    summary="Whether the CP serves base-map tiles (from the region's MBTiles file), and which",
    dependencies=[require(*READERS)],
)
async def basemap(request: Request) -> Basemap:
    return await run_in_threadpool(read_info, _setting(request))


@router.get(
    "/tiles/{z}/{x}/{y}",
    summary="One base-map tile (XYZ numbering, as Leaflet asks)",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}, 404: {"description": "No such tile"}},
    dependencies=[require(*READERS)],
)
async def tile(
    request: Request,
    z: Annotated[int, PathParam(ge=0, le=MAX_ZOOM)],
    x: Annotated[int, PathParam(ge=0, le=2**MAX_ZOOM)],
    y: Annotated[int, PathParam(ge=0, le=2**MAX_ZOOM)],
) -> Response:
    data, media = await run_in_threadpool(read_tile, _setting(request), z, x, y)
    return Response(data, media_type=media, headers={"Cache-Control": "max-age=3600"})
