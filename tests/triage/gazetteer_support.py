"""A small made-up region for gazetteer tests: a town (Lindedorp) and two villages (Haverveld,
Oudemolen) of one municipality, the villages sharing a street name, written as a flat BAG
extract and a places list like a region would load them."""

from __future__ import annotations

import math
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from service.gazetteer.index import Gazetteer, from_rows, key_of

# (street, town, lat of number 1, lon of number 1, bearing in degrees, highest number)
STREETS = [
    ("Beukenlaan", "Lindedorp", 52.1000, 5.1000, 90, 60),
    ("Eikenlaan", "Lindedorp", 52.1006, 5.1000, 90, 60),  # parallel, ~65 m north
    ("Oranjeplein", "Lindedorp", 52.1030, 5.1050, 0, 30),
    ("Lindesingel", "Lindedorp", 52.0980, 5.1100, 45, 120),
    ("Molenweg", "Lindedorp", 52.0950, 5.0950, 135, 80),
    ("Burgemeester de Vriesstraat", "Lindedorp", 52.1050, 5.0950, 60, 90),
    ("Kerkstraat", "Haverveld", 52.1400, 5.1500, 30, 50),
    ("Kerkstraat", "Oudemolen", 52.0600, 5.0500, 120, 50),
    ("Dorpsstraat", "Oudemolen", 52.0610, 5.0520, 10, 40),
]
PLACES = [
    ("Station Lindedorp", "station", "Lindedorp", 52.1020, 5.1120, "het station|station"),
    ("Sint-Janskerk", "kerk", "Haverveld", 52.1405, 5.1505, "de kerk|kerk"),
    ("Supermarkt De Korenschoof", "winkel", "Lindedorp", 52.0990, 5.1030, "de korenschoof"),
    ("Lindebrug", "brug", "Lindedorp", 52.0970, 5.1080, "de brug|brug over de linde"),
]
HEADER = (
    "openbareruimte;huisnummer;huisletter;huisnummertoevoeging;postcode;woonplaats;gemeente;lat;lon"
)


def house(street: str, town: str, number: int) -> tuple[float, float]:
    for name, t, lat, lon, bearing, _ in STREETS:
        if name == street and t == town:
            metres = 3.0 * (number - 1)
            rad = math.radians(bearing)
            return (
                round(lat + metres * math.cos(rad) / 111_320, 7),
                round(lon + metres * math.sin(rad) / (111_320 * math.cos(math.radians(lat))), 7),
            )
    raise KeyError(street)


def address_rows() -> list[str]:
    rows = []
    for name, town, *_, top in STREETS:
        for n in range(1, top + 1):
            lat, lon = house(name, town, n)
            rows.append(f"{name};{n};;;;{town};Lindeland;{lat};{lon}")
    return rows


def write_region(directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    addresses = directory / "gazetteer_addresses.csv"
    addresses.write_text("\n".join([HEADER, *address_rows()]) + "\n", encoding="utf-8")
    places = directory / "gazetteer_places.csv"
    places.write_text(
        "naam;soort;woonplaats;lat;lon;alias\n"
        + "\n".join(";".join(str(v) for v in p) for p in PLACES)
        + "\n",
        encoding="utf-8",
    )
    return addresses, places


def gazetteer() -> Gazetteer:
    """The region as the CP holds it in memory (without a database)."""
    rows: list[Any] = []
    for line in address_rows():
        street, number, _, _, _, town, municipality, lat, lon = line.split(";")
        rows.append(
            SimpleNamespace(
                street=street,
                street_key=key_of(street),
                town=town,
                town_key=key_of(town),
                municipality=municipality,
                number=int(number),
                lat=float(lat),
                lon=float(lon),
            )
        )
    places = [
        SimpleNamespace(name=n, kind=k, town=t, lat=la, lon=lo, aliases=a.split("|"))
        for n, k, t, la, lo, a in PLACES
    ]
    g = from_rows(rows, places, 1)
    assert g is not None
    return g
