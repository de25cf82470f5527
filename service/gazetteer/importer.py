"""Import of a region's gazetteer from CSV, and loading it back for grouping.

Accepted layouts (delimiter ``;`` or ``,``, detected from the header; UTF-8, BOM allowed):

* addresses — a flat BAG address extract (openbare ruimte joined with nummeraanduiding and
  woonplaats, as NLExtract writes it): ``openbareruimte;huisnummer;huisletter;
  huisnummertoevoeging;postcode;woonplaats;gemeente;lat;lon``. Extra columns are ignored;
  ``x;y`` (Rijksdriehoek, EPSG:28992) are accepted instead of ``lat;lon``.
* places — ``naam;soort;woonplaats;lat;lon;alias`` with aliases separated by ``|``.

Invariants: a bad row is reported with its line number and skipped, the rest is imported; an
import replaces the region's whole set in one transaction (re-importing the same files gives
the same set), and raises the generation so running CPs reload their index.
"""

from __future__ import annotations

import csv
import io
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from noodcore.db import table_of
from schemas import utcnow
from service.gazetteer.index import Gazetteer, from_rows, key_of
from service.gazetteer.models import GazetteerAddress, GazetteerImport, GazetteerPlace

log = logging.getLogger(__name__)

ADDRESSES = table_of(GazetteerAddress)
PLACES = table_of(GazetteerPlace)
IMPORTS = table_of(GazetteerImport)

ADDRESS_COLUMNS = ("openbareruimte", "huisnummer", "woonplaats")
PLACE_COLUMNS = ("naam", "soort", "lat", "lon")


class GazetteerFileError(ValueError):
    """The file as a whole cannot be read (missing, no header, required columns absent)."""


@dataclass
class ImportReport:
    region: str
    addresses: int = 0
    places: int = 0
    errors: list[str] = field(default_factory=list)  # "file:line: message"
    generation: int = 0


def _rows(path: Path, required: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise GazetteerFileError(f"{path}: cannot read: {exc}") from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") >= first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = next(reader, None)
    if not header:
        raise GazetteerFileError(f"{path}: empty file")
    names = [h.strip().lower() for h in header]
    missing = [c for c in required if c not in names]
    if missing:
        raise GazetteerFileError(
            f"{path}: header lacks {', '.join(missing)} (has {', '.join(names)})"
        )
    for values in reader:
        line = reader.line_num
        if not values or all(not v.strip() for v in values):
            continue
        if len(values) != len(names):
            yield line, {"__error__": f"{len(values)} fields, the header has {len(names)}"}
            continue
        yield line, {n: v.strip() for n, v in zip(names, values, strict=True)}


def _float(row: dict[str, str], name: str) -> float:
    raw = row.get(name, "")
    if not raw:
        raise ValueError(f"{name} is empty")
    try:
        return float(raw.replace(",", "."))
    except ValueError:
        raise ValueError(f"{name} {raw!r} is not a number") from None


def rd_to_wgs84(x: float, y: float) -> tuple[float, float]:
    """Rijksdriehoek (EPSG:28992) to WGS84, by the published approximation (under a metre
    within the Netherlands)."""
    dx, dy = (x - 155000) * 1e-5, (y - 463000) * 1e-5
    lat = (
        3235.65389 * dy
        - 32.58297 * dx**2
        - 0.2475 * dy**2
        - 0.84978 * dx**2 * dy
        - 0.0655 * dy**3
        - 0.01709 * dx**2 * dy**2
        - 0.00738 * dx
        + 0.0053 * dx**4
        - 0.00039 * dx**2 * dy**3
        + 0.00033 * dx**4 * dy
        - 0.00012 * dx * dy
    )
    lon = (
        5260.52916 * dx
        + 105.94684 * dx * dy
        + 2.45656 * dx * dy**2
        - 0.81885 * dx**3
        + 0.05594 * dx * dy**3
        - 0.05607 * dx**3 * dy
        + 0.01199 * dy
        - 0.00256 * dx**3 * dy**2
        + 0.00128 * dx * dy**4
        + 0.00022 * dy**2
        - 0.00022 * dx**2
        + 0.00026 * dx**5
    )
    return 52.15517440 + lat / 3600, 5.38720621 + lon / 3600


def _position(row: dict[str, str]) -> tuple[float, float]:
    if row.get("lat") or row.get("lon") or not (row.get("x") or row.get("y")):
        lat, lon = _float(row, "lat"), _float(row, "lon")
    else:
        lat, lon = rd_to_wgs84(_float(row, "x"), _float(row, "y"))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or math.isnan(lat + lon):
        raise ValueError(f"position {lat},{lon} out of range")
    return lat, lon


def read_addresses(path: Path, region: str, errors: list[str]) -> list[dict[str, Any]]:
    out = []
    for line, row in _rows(path, ADDRESS_COLUMNS):
        try:
            if "__error__" in row:
                raise ValueError(row["__error__"])
            street, town = row["openbareruimte"], row["woonplaats"]
            if not street or not key_of(street):
                raise ValueError("openbareruimte is empty")
            if not town or not key_of(town):
                raise ValueError("woonplaats is empty")
            raw_number = row["huisnummer"]
            if not raw_number.isdigit() or not 0 < int(raw_number) < 100000:
                raise ValueError(f"huisnummer {raw_number!r} is not a house number")
            lat, lon = _position(row)
            out.append(
                {
                    "region": region,
                    "street": street[:200],
                    "street_key": key_of(street)[:200],
                    "town": town[:100],
                    "town_key": key_of(town)[:100],
                    "municipality": (row.get("gemeente") or None),
                    "number": int(raw_number),
                    "letter": (row.get("huisletter") or None),
                    "addition": (row.get("huisnummertoevoeging") or None),
                    "postcode": (row.get("postcode") or "").replace(" ", "")[:8] or None,
                    "lat": lat,
                    "lon": lon,
                }
            )
        except ValueError as exc:
            errors.append(f"{path.name}:{line}: {exc}")
    return out


def read_places(path: Path, region: str, errors: list[str]) -> list[dict[str, Any]]:
    out = []
    for line, row in _rows(path, PLACE_COLUMNS):
        try:
            if "__error__" in row:
                raise ValueError(row["__error__"])
            if not key_of(row["naam"]):
                raise ValueError("naam is empty")
            lat, lon = _position(row)
            aliases = [a.strip() for a in (row.get("alias") or "").split("|") if key_of(a)]
            out.append(
                {
                    "region": region,
                    "name": row["naam"][:200],
                    "kind": (row["soort"] or "plaats")[:40],
                    "town": row.get("woonplaats") or None,
                    "lat": lat,
                    "lon": lon,
                    "aliases": aliases,
                }
            )
        except ValueError as exc:
            errors.append(f"{path.name}:{line}: {exc}")
    return out


def import_gazetteer(
    engine: Engine, region: str, addresses: Path | None, places: Path | None
) -> ImportReport:
    """Replace ``region``'s gazetteer with the files' rows (see the module docstring).
    Raises GazetteerFileError when a file cannot be used at all (nothing is changed then)."""
    report = ImportReport(region)
    addr_rows = read_addresses(addresses, region, report.errors) if addresses else []
    place_rows = read_places(places, region, report.errors) if places else []
    with engine.begin() as conn:
        conn.execute(sa.delete(ADDRESSES).where(ADDRESSES.c.region == region))
        conn.execute(sa.delete(PLACES).where(PLACES.c.region == region))
        for start in range(0, len(addr_rows), 5000):
            conn.execute(sa.insert(ADDRESSES), addr_rows[start : start + 5000])
        if place_rows:
            conn.execute(sa.insert(PLACES), place_rows)
        generation = (conn.execute(sa.select(sa.func.max(IMPORTS.c.generation))).scalar() or 0) + 1
        conn.execute(sa.delete(IMPORTS).where(IMPORTS.c.region == region))
        conn.execute(
            sa.insert(IMPORTS).values(
                region=region,
                imported_at=utcnow(),
                generation=generation,
                addresses=len(addr_rows),
                places=len(place_rows),
                source={
                    "addresses": addresses.name if addresses else None,
                    "places": places.name if places else None,
                    "errors": len(report.errors),
                },
            )
        )
    report.addresses, report.places, report.generation = len(addr_rows), len(place_rows), generation
    return report


def generation(conn: Connection) -> int:
    """The newest import's generation (0: no gazetteer loaded)."""
    return int(conn.execute(sa.select(sa.func.max(IMPORTS.c.generation))).scalar() or 0)


def load(conn: Connection) -> Gazetteer | None:
    """The CP's gazetteer (every region's set it holds), or None when none is loaded."""
    gen = generation(conn)
    if not gen:
        return None
    addresses = conn.execute(
        sa.select(
            ADDRESSES.c.street,
            ADDRESSES.c.street_key,
            ADDRESSES.c.town,
            ADDRESSES.c.town_key,
            ADDRESSES.c.municipality,
            ADDRESSES.c.number,
            ADDRESSES.c.lat,
            ADDRESSES.c.lon,
        )
    ).all()
    places = conn.execute(
        sa.select(
            PLACES.c.name,
            PLACES.c.kind,
            PLACES.c.town,
            PLACES.c.lat,
            PLACES.c.lon,
            PLACES.c.aliases,
        )
    ).all()
    return from_rows(addresses, places, gen)


def seed_gazetteer(engine: Engine, directory: Path) -> ImportReport | None:
    """Import ``directory``'s gazetteer (named after the directory) when the database has
    none yet; a gazetteer the region imported is never replaced by it."""
    with engine.connect() as conn:
        if generation(conn):
            return None
    places = directory / "gazetteer_places.csv"
    try:
        report = import_gazetteer(
            engine,
            directory.name,
            directory / "gazetteer_addresses.csv",
            places if places.exists() else None,
        )
    except GazetteerFileError as exc:
        log.error("gazetteer not imported: %s", exc)
        return None
    for line in report.errors:
        log.warning("gazetteer row skipped: %s", line)
    log.info(
        "gazetteer %s imported: %d addresses, %d places",
        report.region,
        report.addresses,
        report.places,
    )
    return report
