"""Matching rules of the grouping hook, without a database."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from service.triage.grouping import (
    Features,
    _estimate,
    decide,
    features_of,
    links_items,
    location_score,
)
from service.triage.settings import TriageSettings

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
CFG = TriageSettings()


def report(
    address: str | None = None,
    lat: float | None = None,
    lon: float | None = None,
    text: str = "Water spuit uit de grond, leiding kapot",
    **kw: Any,
) -> Features:
    location: dict[str, Any] = {}
    if address:
        location["address"] = address
    if lat is not None:
        location["lat"], location["lon"] = lat, lon
    body = {"category": "water", "severity": "high", "description": text, "location": location}
    return features_of(kw.get("mid", "m"), "situation_report", "oss-centrum", T0, body, "oss")


def test_an_address_is_placed_by_its_stretch_of_the_street() -> None:
    # Reports about Molenstraat 11 were at one end; Molenstraat 85 is elsewhere.
    known = {
        "molenstraat|oss": [51.0 * 2 + 51.01, 5.0 * 2 + 5.01, 3],
        "molenstraat|oss#1": [51.0 * 2, 5.0 * 2, 2],
        "molenstraat|oss#8": [51.01, 5.01, 1],
    }
    assert _estimate(report("Molenstraat 12, Oss"), known) == (51.0, 5.0)
    assert _estimate(report("Molenstraat 85, Oss"), known) == (51.01, 5.01)
    assert _estimate(report("Molenstraat 101, Oss"), known) == (51.01, 5.01)  # 2 stretches
    assert _estimate(report("Molenstraat 45, Oss"), known) is None  # nobody near 45 yet
    without_number = _estimate(report("Molenstraat, Oss"), known)
    assert without_number is not None and 51.0 < without_number[0] < 51.01


def test_an_estimated_position_is_never_the_same_spot() -> None:
    addressed = report("Molenstraat 12, Oss")
    addressed.est_lat, addressed.est_lon = 51.7660, 5.5150
    picked = report(lat=51.7660, lon=5.5150)
    assert location_score(addressed, picked, CFG) == 0.75
    picked_far = report(lat=51.7660 + 190 / 111_320, lon=5.5150)  # 190 m north
    assert (location_score(addressed, picked_far, CFG) or 0) < CFG.min_location_score


def test_only_a_named_address_links_two_items() -> None:
    a = report("Kruisstraat 43, Oss", 51.7625, 5.5229, mid="a")
    same_address = report("Kruisstraat 43", mid="b")
    near_pick = report(lat=51.7626, lon=5.5230, mid="c")
    by_address = decide(a, same_address, location_score(a, same_address, CFG), 0.9, CFG)
    by_position = decide(a, near_pick, location_score(a, near_pick, CFG), 0.9, CFG)
    assert by_address is not None and links_items(by_address, CFG)
    assert by_position is not None and not links_items(by_position, CFG)


def test_a_corner_house_in_another_street_is_no_address_match() -> None:
    a = report("Kruisstraat 1, Oss", 51.7625, 5.5229, mid="a")
    corner = report("Molenstraat 90, Oss", 51.7625, 5.5229, mid="b")
    m = decide(a, corner, location_score(a, corner, CFG), 0.9, CFG)
    assert m is not None and not m.by_address
