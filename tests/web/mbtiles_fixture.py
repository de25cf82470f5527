"""A tiny MBTiles file, generated: solid-colour 256x256 PNG tiles over the Oss area, written with
the standard library only (zlib for the PNG, sqlite3 for the MBTiles 1.3 layout). Each zoom
level has its own colour, so a screenshot shows the tiles came from this file."""

from __future__ import annotations

import math
import sqlite3
import struct
import zlib
from pathlib import Path

OSS = (5.30, 51.68, 5.80, 51.86)  # west, south, east, north


def solid_png(rgb: tuple[int, int, int], size: int = 256) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + bytes(rgb) * size  # filter byte 0, then RGB pixels
    ihdr = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(row * size, 9))
        + chunk(b"IEND", b"")
    )


def tile_of(lon: float, lat: float, z: int) -> tuple[int, int]:
    n = 2**z
    x = int((lon + 180) / 360 * n)
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    return x, y


COLOURS = {z: (40 + 12 * z, 70 + 6 * z, 90) for z in range(0, 20)}


def make_mbtiles(
    path: Path,
    zooms: range = range(8, 14),
    bounds: tuple[float, float, float, float] = OSS,
    fmt: str = "png",
) -> dict[tuple[int, int, int], bytes]:
    """Write the file; returns the tiles by (z, x, y) in XYZ numbering (as Leaflet asks)."""
    west, south, east, north = bounds
    tiles: dict[tuple[int, int, int], bytes] = {}
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE metadata (name TEXT, value TEXT)")
        conn.execute(
            "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, "
            "tile_data BLOB)"
        )
        conn.executemany(
            "INSERT INTO metadata VALUES (?, ?)",
            [
                ("name", "Testkaart Oss"),
                ("format", fmt),
                ("bounds", f"{west},{south},{east},{north}"),
                ("attribution", "gegenereerd voor de tests"),
            ],
        )
        for z in zooms:
            x0, y0 = tile_of(west, north, z)
            x1, y1 = tile_of(east, south, z)
            png = solid_png(COLOURS[z])
            for x in range(x0, x1 + 1):
                for y in range(y0, y1 + 1):
                    tiles[(z, x, y)] = png
                    conn.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, 2**z - 1 - y, png))
    return tiles
