"""Near-duplicate grouping: every help request and situation report gets an incident, every
resource request a queue item, inside the ingest transaction (a ``BatchHook``).

Matching compares a new report with the *reports* already stored nearby in place and time
(not with an incident summary), so an incident that grew along a street still catches the
next report about it, and after a split a report like the split one follows it, not the
incident it was taken out of. Candidates come from two indexed keys, never a scan: a coarse
coordinate cell (with its 8 neighbours) and a street/place bucket, each with a time window.

Where a report is comes from the CP area's gazetteer when the region loaded one
(service/gazetteer: the address field, else an address or named place in the location note or
the free text, matched against the real streets and geocoded), else from the shape of the
address (normalise.py). A report located at its own NSP carries no location.

Rules that protect people:

* A life-threatening (P1) help request is never absorbed. When it matches an open incident it
  gets its own item, linked as a *possible duplicate*; an operator merges or keeps it apart.
* Reports never join a closed or resolved incident: a new problem at the same place is a new
  item in the queue.
* When unsure — a match that rests on a guessed village against another written one — the
  report gets its own item linked as a possible duplicate, not merged.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from noodcore.db import PendingWrites, fast_insert, in_values, table_of
from schemas import HandlingState
from service.gazetteer.importer import generation as gazetteer_generation
from service.gazetteer.importer import load as load_gazetteer
from service.gazetteer.index import Found, Gazetteer
from service.models import Nsp
from service.store import Accepted, PresenceSeen
from service.triage.acks import enqueue_ack
from service.triage.models import TriageAudit, TriageItem, TriageReport, TriageStreet
from service.triage.normalise import (
    Address,
    area_topic,
    fold,
    normalise_text,
    parse_address,
    street_similarity,
    text_similarities,
)
from service.triage.settings import TriageSettings
from service.triage.window import RecentReports, index_key, lookup_keys, numbered
from service.triage.workflow import CLASS_RANK, OPEN_STATES, ItemState, lock_items, rep_key

if TYPE_CHECKING:
    from service.cluster.grouping_sync import GroupingSync

ITEMS = table_of(TriageItem)
REPORTS = table_of(TriageReport)
AUDIT = table_of(TriageAudit)
NSPS = table_of(Nsp)
STREETS = table_of(TriageStreet)

GROUPED_KINDS = ("help_request", "situation_report")
# Every kind that gets a place in the operator's queue: the grouped kinds (an incident) and
# resource requests (an item of their own).
PLACED_KINDS = (*GROUPED_KINDS, "resource_request")

# Hazard families: categories across the two kinds that can describe one incident.
FAMILY: dict[tuple[str, str], str] = {
    ("help_request", "fire"): "fire",
    ("situation_report", "fire"): "fire",
    ("help_request", "medical"): "medical",
    ("situation_report", "health"): "medical",
    ("help_request", "vulnerable_person"): "care",
    ("help_request", "crime"): "safety",
    ("situation_report", "safety"): "safety",
    ("help_request", "missing_person"): "missing",
    ("help_request", "other"): "other",
    ("situation_report", "other"): "other",
    ("situation_report", "infrastructure"): "infrastructure",
    ("situation_report", "power"): "power",
    ("situation_report", "water"): "water",
    ("situation_report", "public_mood"): "mood",
    ("situation_report", "rumour"): "rumour",
    ("situation_report", "information_need"): "information",
}
# Volunteers file one incident under different categories (a gas smell as "safety" or
# "other", a burst main as "water" or "infrastructure", an accident as "medical" or
# "safety"), so neighbouring categories may group; area-wide signals (rumours, information
# needs, mood) only with their own kind.
_LOCATED = frozenset(
    {"fire", "medical", "care", "safety", "missing", "other", "infrastructure", "water", "power"}
)
COMPATIBLE: dict[str, frozenset[str]] = {
    "fire": frozenset({"fire", "safety", "power", "other"}),  # a burning meter cupboard
    "medical": frozenset({"medical", "care", "safety", "other"}),
    "care": frozenset({"care", "medical", "missing", "other"}),
    "safety": frozenset({"safety", "medical", "fire", "infrastructure", "other"}),
    "missing": frozenset({"missing", "care", "other"}),
    "infrastructure": frozenset({"infrastructure", "water", "power", "safety", "other"}),
    "water": frozenset({"water", "infrastructure", "other"}),
    "power": frozenset({"power", "infrastructure", "fire", "other"}),
    "other": _LOCATED,
}

MEMBERS_COMPARED = 8

# Signals about the whole area (a rumour, a question, the mood): the same one comes back all
# day from every NSP, and is one item for the operator (one answer) for longer than an
# incident at a place (TriageSettings.area_window_minutes).
AREA_FAMILIES = frozenset({"rumour", "information", "mood"})

SEVERITY_CLASS = {"critical": "P1", "high": "P2", "moderate": "P3", "low": "P4"}

# Cells of 0.003° latitude x 0.005° longitude (about 330 x 340 m around 52°N): a cell and
# its 8 neighbours cover every point within the largest allowed radius (300 m).
CELL_LAT = 0.003
CELL_LON = 0.005


def family_of(kind: str, category: str) -> str:
    return FAMILY.get((kind, category), f"{kind}:{category}")


@lru_cache(maxsize=256)
def families_near(family: str) -> frozenset[str]:
    """The families a report of ``family`` may be grouped with (itself included)."""
    return COMPATIBLE.get(family, frozenset()) | {family}


def _town_factor(a: str | None, b: str | None, gazetteer: bool = False) -> float:
    """Towns written in the report are facts; a town assumed from the NSP ('~oss') is a
    guess, because residents also walk to an NSP in the next village. With a gazetteer the
    guess is only made when the NSP's own village has that street (or the map pin is
    nearest to it), so it is a good guess: villages that share street names are common."""
    if a == b or a is None or b is None or a.lstrip("~") == b.lstrip("~"):
        return 1.0
    if not a.startswith("~") and not b.startswith("~"):
        return 0.0  # Kerkstraat in Oss is not Kerkstraat in Lith
    if a.startswith("~") and b.startswith("~"):
        return 0.4 if gazetteer else 0.6
    return 0.6 if gazetteer else 0.85


def report_class(kind: str, body: dict[str, Any]) -> str:
    if kind == "situation_report":
        return SEVERITY_CLASS.get(str(body.get("severity")), "P3")
    return str(body.get("urgency") or "P3")


def cell_of(lat: float, lon: float) -> tuple[int, int]:
    return math.floor(lat / CELL_LAT), math.floor(lon / CELL_LON)


def cell_key(ix: int, iy: int) -> str:
    return f"{ix}:{iy}"


def neighbour_cells(lat: float, lon: float) -> list[str]:
    ix, iy = cell_of(lat, lon)
    return [cell_key(ix + dx, iy + dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)]


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    # Equirectangular: exact enough within a town, and cheap.
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return 6_371_000 * math.hypot(x, y)


def _position(f: Features) -> tuple[float, float] | None:
    if f.lat is not None and f.lon is not None:
        return f.lat, f.lon
    if f.est_lat is not None and f.est_lon is not None:
        return f.est_lat, f.est_lon
    return None


@dataclass(slots=True)
class Features:
    """What matching needs of one report (also the triage_report row)."""

    message_id: str
    kind: str
    family: str
    category: str
    cls: str
    life_threatening: bool
    nsp_id: str
    received_at: datetime
    lat: float | None
    lon: float | None
    cell: str | None
    bucket: str | None
    street: str | None
    number: int | None
    town: str | None
    place: str | None
    address: str | None
    text_norm: str
    description: str
    people: int
    vulnerable: int
    item_id: int | None = None
    item_state: str | None = None
    # Position estimated from the street (see GroupingHook._locate_streets), for reports
    # that give only an address: lets them meet reports that give only coordinates.
    est_lat: float | None = None
    est_lon: float | None = None
    # The flat or house letter at that number (by the gazetteer; not stored, so after a
    # reload of the window reports compare without it, as before).
    unit: str | None = None
    # The exercise the report was made in (None: real). Reports only ever match reports of
    # the same exercise: exercise data never joins a real incident, nor the other way.
    exercise: str | None = None
    ts: float = field(init=False, repr=False)  # received_at as a number, for the window test

    def __post_init__(self) -> None:
        self.ts = self.received_at.timestamp()

    @property
    def street_key(self) -> str | None:
        return f"{self.street}|{(self.town or '').lstrip('~')}" if self.street else None

    def row(self, item_id: int, joined_by: str, score: float | None) -> dict[str, Any]:
        return {
            "message_id": self.message_id,
            "item_id": item_id,
            "kind": self.kind,
            "family": self.family,
            "category": self.category,
            "cls": self.cls,
            "life_threatening": self.life_threatening,
            "nsp_id": self.nsp_id,
            "received_at": self.received_at,
            "lat": self.lat,
            "lon": self.lon,
            "cell": self.cell,
            "est_lat": self.est_lat,
            "est_lon": self.est_lon,
            "bucket": self.bucket,
            "street": self.street,
            "number": self.number,
            "town": self.town,
            "address": self.address,
            "text_norm": self.text_norm,
            "description": self.description,
            "people": self.people,
            "vulnerable": self.vulnerable,
            "joined_by": joined_by,
            "match_score": score,
            "exercise_id": self.exercise,
        }


@dataclass(frozen=True)
class NspSite:
    """Where an NSP is. A report located at its own NSP (the NSP's address, name or map
    position) was located where it was *reported*: many reports about different things
    share it, so it is no evidence of one place."""

    town: str | None
    street: str | None
    number: int | None
    name_key: str | None
    lat: float | None
    lon: float | None


@lru_cache(maxsize=1024)
def nsp_site(
    name: str | None,
    address: str | None,
    lat: float | None,
    lon: float | None,
    gazetteer: Gazetteer | None,
) -> NspSite:
    addr = parse_address(address, gazetteer)
    street, number, town = addr.street, addr.number, addr.town
    if gazetteer is not None:
        found = gazetteer.read(address, None, None, address_field=True)
        if found is not None and found.street is not None:
            street, number, town = found.street.key, found.number, found.street.town_key
    name_key = fold(name).replace(" ", "") if name else None
    return NspSite(town, street, number, name_key or None, lat, lon)


# A location this close to the NSP's own map position is the NSP's.
AT_NSP_M = 30.0


def _at_nsp(
    site: NspSite,
    address_text: str | None,
    addr: Address,
    pos: tuple[float, float] | None,
) -> bool:
    if (
        site.lat is not None
        and site.lon is not None
        and pos is not None
        and distance_m(site.lat, site.lon, pos[0], pos[1]) <= AT_NSP_M
    ):
        return True
    if site.street and addr.street == site.street and addr.number == site.number:
        return addr.town is None or site.town is None or addr.town == site.town
    return bool(
        site.name_key and address_text and fold(address_text).replace(" ", "") == site.name_key
    )


def _read_location(
    gazetteer: Gazetteer,
    loc: dict[str, Any],
    description: str,
    default_town: str | None,
    near: tuple[float, float] | None,
) -> Found | None:
    """Where a report is, by the gazetteer: its address field, else an address or named place
    in its location note or free text ("stroomkast brandt bij Beukenln 7" with only a map
    pin). A street with a house number wins over a place, a place over a town alone."""
    found = gazetteer.read(loc.get("address"), default_town, near, address_field=True)
    if found is not None and found.street is not None and found.number is not None:
        return found
    for text in (loc.get("description"), description):
        other = gazetteer.read(text, default_town, near)
        if other is None:
            continue
        if found is None or (other.street is not None and other.number is not None):
            return other
        if found.street is None and found.place is None and other.place is not None:
            return other
    return found


def features_of(
    message_id: str,
    kind: str,
    nsp_id: str,
    received_at: datetime,
    body: dict[str, Any],
    default_town: str | None = None,
    gazetteer: Gazetteer | None = None,
    site: NspSite | None = None,
) -> Features:
    """Features of a help request or situation report (body as JSON-ready dict)."""
    category = str(body.get("category"))
    loc = body.get("location") or {}
    address_text = loc.get("address")
    lat, lon = loc.get("lat"), loc.get("lon")
    description = str(body.get("description") or "")
    found: Found | None = None
    at_nsp = False
    if gazetteer is not None:
        near = (lat, lon) if lat is not None and lon is not None else None
        found = _read_location(gazetteer, loc, description, default_town, near)
    if found is not None and (found.street is not None or found.place is not None):
        addr = Address(
            found.street.key if found.street else None,
            found.number,
            found.street.town_key if found.street else found.town_key,
            f"pl:{found.place.key}" if found.place is not None else None,
        )
        town = (
            addr.town
            if found.town_is_fact or addr.town is None
            else f"~{addr.town}"  # the nearest or the NSP's town of a shared street name
        )
        address_text = found.display()
    else:
        addr = parse_address(address_text, gazetteer)
        if found is not None and addr.town is None:
            addr = Address(addr.street, addr.number, found.town_key, addr.place or found.town_key)
        town = addr.town or (f"~{default_town}" if default_town else None)
    if site is not None:
        pos = (
            (lat, lon)
            if lat is not None and lon is not None
            else found.position
            if found is not None
            else None
        )
        if _at_nsp(site, loc.get("address"), addr, pos):
            # Located at its own NSP: no location (see NspSite), only "at this NSP's door".
            lat = lon = None
            found = None
            at_nsp = True
            addr = Address(None, None, None, None)
            town = f"~{default_town}" if default_town else None
    cell = cell_key(*cell_of(lat, lon)) if lat is not None and lon is not None else None
    place = addr.place
    if at_nsp and family_of(kind, category) not in AREA_FAMILIES:
        # A help request or an event given the NSP's own address: a volunteer's default or
        # a real emergency at the NSP's door ("meneer naast mij is gevallen"). Two such
        # reports of one NSP are near each other, but never "the same address".
        place = f"~at:{nsp_id}"
    if addr.street is None and place is None and lat is None:
        # Area-wide (rumours, questions): one rumour going round the villages is one item.
        place = "~area"
    bucket = Address(addr.street, None, None, place).bucket
    cls = report_class(kind, body)
    est = found.position if found is not None and lat is None else None
    if gazetteer is not None and found is None and lat is not None and lon is not None:
        # A map pick alone: the queue shows the nearest street stretch.
        near_address = gazetteer.reverse(lat, lon)
        if near_address is not None:
            address_text = f"nabij {near_address[0].name} {near_address[1]}, {near_address[0].town}"
    features = Features(
        message_id=message_id,
        kind=kind,
        family=family_of(kind, category),
        category=category,
        cls=cls,
        life_threatening=kind == "help_request" and cls == "P1",
        nsp_id=nsp_id,
        received_at=received_at,
        lat=lat,
        lon=lon,
        cell=cell,
        bucket=bucket[:64] if bucket else None,
        street=addr.street[:200] if addr.street else None,
        number=addr.number,
        town=town[:60] if town else None,
        place=place,
        address=address_text,
        # Landmarks ("naast de bakker") say where, not what: they stay out of the text.
        text_norm=normalise_text(description, gazetteer),
        description=description,
        people=int(body.get("people_involved") or body.get("people_affected") or 0),
        vulnerable=int(body.get("vulnerable_people") or 0),
    )
    if found is not None and found.street is not None:
        features.unit = found.unit
    if est is not None:
        # Geocoded by the gazetteer: the house itself (or the named place), not a guess.
        features.est_lat, features.est_lon = est
        features.cell = cell_key(*cell_of(*est))
    return features


# Street positions are learned per stretch of this many house numbers (about 30 m: Dutch
# numbers run odd on one side, even on the other, some 6 m apart). A report whose stretch
# is not known yet takes the stretches up to STREET_REACH away (about 60 m each way).
STREET_STRETCH = 10
STREET_REACH = 2


def _street_keys(r: Features, reading: bool) -> list[str]:
    """triage_street keys a report's position is learned under (or, ``reading``, the keys
    an address-only report's position is estimated from)."""
    key = r.street_key
    if key is None:
        return []
    if r.number is None:
        return [key]
    s = r.number // STREET_STRETCH
    if reading:
        return [f"{key}#{s + d}" for d in range(-STREET_REACH, STREET_REACH + 1)]
    return [key, f"{key}#{s}"]


def _estimate(r: Features, known: dict[str, list[float]]) -> tuple[float, float] | None:
    """An address-only report's position: its stretch of the street, else the stretches
    near it; the whole street only for a report without a house number."""
    key = r.street_key
    if key is None:
        return None
    if r.number is None:
        picks = [known.get(key)]
    else:
        s = r.number // STREET_STRETCH
        own = known.get(f"{key}#{s}")
        reach = range(-STREET_REACH, STREET_REACH + 1)
        picks = [own] if own else [known.get(f"{key}#{s + d}") for d in reach if d]
    lat = sum(p[0] for p in picks if p)
    lon = sum(p[1] for p in picks if p)
    n = sum(p[2] for p in picks if p)
    return (lat / n, lon / n) if n else None


# --------------------------------------------------------------------------- scoring


class Match(NamedTuple):
    """One report's match with a candidate (a tuple: made for every candidate that passes,
    so it is built at tuple speed, not a frozen dataclass's)."""

    score: float
    location: float | None
    text: float
    # Both reports name a house number in the same street: the place is pinned down, not
    # "somewhere near" (a map pick is tens of metres off, a street's position estimated).
    by_address: bool = False
    # The match rests on a guess (a town assumed from the NSP where another report wrote a
    # different village): the report gets its own item, linked for the operator.
    unsure: bool = False


def links_items(m: Match, cfg: TriageSettings) -> bool:
    """Whether a report's match with a second open item links the two as possible
    duplicates. Two items exist because grouping kept them apart; a report that is merely
    near both (a map pick between two houses, an address placed by its street's estimated
    position) does not make them one. Only a report that names the second item's address
    does."""
    return m.score >= cfg.link_threshold and m.by_address


def _number_score(a: int | None, b: int | None) -> float:
    if a is None or b is None:
        return 0.7
    gap = abs(a - b)
    if gap == 0:
        return 1.0
    if gap <= 2:
        return 0.75  # next door: one fire, two house numbers
    if gap <= 6:
        return 0.5
    if gap <= 20:
        return 0.3
    return 0.1


def _distance_score(d: float, cfg: TriageSettings) -> float:
    # Positions picked on a map are tens of metres off; 40 m is "the same spot".
    near = min(40.0, cfg.radius_m / 2)
    if d <= near:
        return 1.0
    if d <= cfg.radius_m:
        return 1.0 - 0.7 * (d - near) / (cfg.radius_m - near)
    return 0.0


def _picked_number_factor(pick: Features, addressed: Features, gazetteer: Gazetteer) -> float:
    """A map pick against a house in a street: the pick's nearest address (its street
    stretch, by the gazetteer) says whether it is about that house or one further along the
    street, which map nearness alone cannot tell (houses 20 numbers apart are 60 m apart)."""
    assert pick.lat is not None and pick.lon is not None and addressed.number is not None
    near = gazetteer.reverse(pick.lat, pick.lon)
    if near is None or near[0].key != addressed.street:
        return 1.0
    if addressed.town and near[0].town_key != addressed.town.lstrip("~"):
        return 1.0
    gap = abs(near[1] - addressed.number)
    return 1.0 if gap <= 8 else 0.8 if gap <= 16 else 0.5


def location_score(
    r: Features, c: Features, cfg: TriageSettings, gazetteer: Gazetteer | None = None
) -> float | None:
    """1 = same spot, 0 = different places, None = the locations cannot be compared."""
    # Runs for most candidates of every report: attributes are read once into locals.
    street: float | None = None
    r_street, c_street = r.street, c.street
    if r_street and c_street:
        sim = street_similarity(r_street, c_street)
        if sim >= 0.85:
            factor = _town_factor(r.town, c.town, gazetteer is not None) * (
                1.0 if sim == 1 else 0.9
            )
            r_number, c_number = r.number, c.number
            street = _number_score(r_number, c_number) * factor
            if r.unit and c.unit and r.unit != c.unit and r_number == c_number:
                street = min(street, 0.3)  # two flats of one building
            if r_number is not None and c_number is not None:
                return street  # two house numbers say more than two map picks
        else:
            street = 0.0
    scores = [] if street is None else [street]
    if r.lat is not None and c.lat is not None and r.lon is not None and c.lon is not None:
        scores.append(_distance_score(distance_m(r.lat, r.lon, c.lat, c.lon), cfg))
    elif street is None:
        # Coordinates against an address: only the street's estimated position can compare.
        # An estimate is never better evidence than a map pick at the same distance, and
        # never "the same spot".
        a = (r.lat, r.lon) if r.lat is not None else (r.est_lat, r.est_lon)
        b = (c.lat, c.lon) if c.lat is not None else (c.est_lat, c.est_lon)
        if None not in a and None not in b:
            d = distance_m(a[0], a[1], b[0], b[1])  # type: ignore[arg-type]
            score = min(0.75, _distance_score(d, cfg))
            if gazetteer is not None and score > 0:
                if r.lat is not None and c.lat is None and c.street and c.number is not None:
                    score *= _picked_number_factor(r, c, gazetteer)
                elif c.lat is not None and r.lat is None and r.street and r.number is not None:
                    score *= _picked_number_factor(c, r, gazetteer)
            scores.append(score)
    if r.place and r.place == c.place and r.place.startswith("pl:"):
        # The same named place (the station, the bridge, the Jumbo): one spot.
        scores.append(0.9)
    if scores:
        return max(scores)
    if r.place and r.place == c.place and r.place.startswith("~at:"):
        return cfg.at_nsp_location_score  # both at one NSP's door
    if r.place and c.place and r.place.startswith("~") and c.place.startswith("~"):
        return None  # both area-wide: only the text can tell
    if r.place and c.place and r.place == c.place:
        return 0.5
    return 0.0


def place_may_match(r: Features, c: Features, loc: float | None, cfg: TriageSettings) -> bool:
    """False when the locations alone rule a match out (then the text need not be read)."""
    if loc is None:
        return r.category == c.category
    return loc >= cfg.min_location_score


def decide(
    r: Features, c: Features, loc: float | None, text: float, cfg: TriageSettings
) -> Match | None:
    """The match decision from location and text scores."""
    if loc is None:
        if r.family == c.family and r.family in AREA_FAMILIES:
            # Two area-wide signals of one kind: one answer serves both. The mood of the
            # area is one thing; a question or rumour is the same one when it is about the
            # same topic, and never when the topics differ however alike the wording.
            if r.family == "mood":
                return Match(cfg.area_topic_score, None, cfg.area_topic_score)
            ta = area_topic(r.text_norm, r.description)
            tb = area_topic(c.text_norm, c.description)
            if ta is not None and tb is not None:
                return Match(cfg.area_topic_score, None, cfg.area_topic_score) if ta == tb else None
        return Match(text, None, text) if text >= cfg.unknown_location_text_score else None
    # The same house number in the same street is strong evidence: a paraphrase that shares
    # few words ("supermarkt geplunderd" / "mensen nemen spullen mee") still groups.
    numbers = r.number is not None and c.number is not None
    exact = loc >= 0.99 and numbers and r.family != "other" and c.family != "other"
    min_text = cfg.min_text_score_same_address if exact else cfg.min_text_score
    if loc < cfg.min_location_score or text < min_text:
        return None
    score = cfg.location_weight * loc + (1 - cfg.location_weight) * text
    if score < cfg.match_threshold:
        return None
    r_street, c_street = r.street, c.street
    by_address = (
        numbers
        and r_street is not None
        and c_street is not None
        and street_similarity(r_street, c_street) >= 0.85
    )
    r_town, c_town = r.town, c.town
    unsure = bool(
        r_street and c_street and r_town and c_town and r_town.lstrip("~") != c_town.lstrip("~")
    )
    return Match(score, loc, text, by_address, unsure)


@lru_cache(maxsize=4096)
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def _local_day(ts: float, zone: str) -> date:
    return datetime.fromtimestamp(ts, _zone(zone)).date()


# --------------------------------------------------------------------------- the hook


@dataclass
class _StreetWrites:
    insert: list[dict[str, Any]]
    update: list[dict[str, Any]]


@dataclass
class Batch:
    """A batch read and planned (``GroupingHook.read_batch``), waiting to be written."""

    reports: list[Features]
    resources: list[Accepted]
    streets: _StreetWrites
    plan: Any


@dataclass
class _Planned:
    """An item touched by this batch: an existing one (``id``) or one to create."""

    key: int
    id: int | None
    row: dict[str, Any]
    members: list[Features] = field(default_factory=list)
    audit: dict[str, Any] | None = None
    before: dict[str, Any] | None = None  # an existing item's row as read (locked)


class GroupingHook:
    """``BatchHook`` placing new reports into items; see the module docstring."""

    def __init__(self, cp_id: str, settings: TriageSettings) -> None:
        self.cp_id = cp_id
        self.settings = settings
        self._runner_up: int | None = None
        self._local_numbers: dict[int, dict[str, set[int]]] = {}
        self.recent = RecentReports(
            timedelta(minutes=settings.window_minutes),
            _from_row,
            timedelta(minutes=settings.area_window_minutes),
            AREA_FAMILIES,
        )
        self.gazetteer: Gazetteer | None = None
        # Set when several ingest processes share the database (service.cluster).
        self.sync: GroupingSync | None = None
        self._gazetteer_generation = 0
        self._gazetteer_checked = -math.inf

    # A region re-imports its gazetteer rarely; a running CP sees it within this time.
    GAZETTEER_CHECK_SECONDS = 30.0

    def _gazetteer(self, conn: Connection) -> Gazetteer | None:
        now = time.monotonic()
        if now - self._gazetteer_checked >= self.GAZETTEER_CHECK_SECONDS:
            self._gazetteer_checked = now
            gen = gazetteer_generation(conn)
            if gen != self._gazetteer_generation:
                self.gazetteer = load_gazetteer(conn) if gen else None
                self._gazetteer_generation = gen
        return self.gazetteer

    def __call__(
        self, conn: Connection, accepted: list[Accepted], presences: list[PresenceSeen]
    ) -> None:
        batch = self.read_batch(conn, accepted)
        if batch is not None:
            self.write_batch(conn, batch)

    def read_batch(self, conn: Connection, accepted: Sequence[Accepted]) -> Batch | None:
        """Everything that only reads: the reports' features, their streets' positions, the
        window and the plan. ``write_batch`` then checks the plan under the item locks and
        writes it; both run in one transaction at ingest. The grouping process on SQLite runs
        this one before its write transaction, so that the database's one write lock is not
        held while it computes (service/triage/grouper.py)."""
        relevant = [a for a in accepted if a.message.kind in PLACED_KINDS]
        if not relevant:
            return None
        if self.sync is not None:
            self.sync.enter(conn, self.recent)
        gazetteer = self._gazetteer(conn)
        sites = self._nsp_sites(conn, {a.message.nsp_id for a in relevant}, gazetteer)
        reports: list[Features] = []
        resources: list[Accepted] = []
        for a in relevant:
            m = a.message
            if m.kind == "resource_request":
                resources.append(a)
                continue
            features = features_of(
                m.message_id,
                m.kind,
                m.nsp_id,
                a.received_at,
                m.body.model_dump(),
                sites[m.nsp_id].town if m.nsp_id in sites else None,
                gazetteer,
                sites.get(m.nsp_id),
            )
            features.exercise = m.exercise
            reports.append(features)
        streets = self._locate_streets(conn, reports)
        if reports:
            self.recent.prepare(conn, min(r.received_at for r in reports))
        return Batch(reports, resources, streets, self._plan(reports, resources))

    def write_batch(self, conn: Connection, batch: Batch) -> None:
        """Learn the streets, check the plan (made again if an operator changed what it
        relied on) and write it: items, reports, links, audit, state acks."""
        reports, resources = batch.reports, batch.resources
        plan = batch.plan
        for _attempt in range(5):
            existing = self._verify(conn, plan)
            if existing is not None:
                break
            # An operator moved or closed something we matched: read it all again.
            self.recent.invalidate()
            self.recent.prepare(conn, min(r.received_at for r in reports))
            plan = self._plan(reports, resources)
        else:
            raise RuntimeError("grouping could not get a stable view of the items")
        now_items, placed, links, _ = plan
        for key, planned in now_items.items():
            if planned.id is not None:
                planned.before = dict(existing[key]._mapping)
                planned.row = dict(planned.before)
        self._write(conn, now_items, placed, resources, links, batch.streets)
        self.recent.add_after_commit(f for f, *_ in placed)
        if self.sync is not None and reports:
            self.sync.wrote(conn, [r.message_id for r in reports])

    def _nsp_sites(
        self, conn: Connection, nsp_ids: set[str], gazetteer: Gazetteer | None = None
    ) -> dict[str, NspSite]:
        rows = conn.execute(
            sa.select(NSPS.c.nsp_id, NSPS.c.name, NSPS.c.address, NSPS.c.lat, NSPS.c.lon).where(
                NSPS.c.nsp_id.in_(sorted(nsp_ids))
            )
        )
        return {
            row.nsp_id: nsp_site(row.name, row.address, row.lat, row.lon, gazetteer) for row in rows
        }

    def _locate_streets(self, conn: Connection, reports: list[Features]) -> _StreetWrites:
        """Learn street positions from reports with address and coordinates; give reports
        with only an address the estimated position (and its cell) of their street.

        A street can be two kilometres long, so its position is learned per stretch of
        house numbers (``STREET_STRETCH``) as well as for the whole street: "Molenstraat 33"
        is placed where reports about numbers near 33 were, not where the reports about
        Molenstraat 11 were. The whole street serves only reports without a number."""
        # Only a written town is a fact: a report whose town is guessed from its NSP may be
        # about the next village's Kerkstraat, and would move this one on the map.
        learn = [
            r
            for r in reports
            if r.street_key and r.lat is not None and r.town and not r.town.startswith("~")
        ]
        need = [r for r in reports if r.street_key and r.lat is None and r.est_lat is None]
        learn_keys = [(r, _street_keys(r, False)) for r in learn]
        keys = sorted(
            {k for _, ks in learn_keys for k in ks}
            | {k for r in need for k in _street_keys(r, True)}
        )
        if not keys:
            return _StreetWrites([], [])
        known = {
            row.key: [row.lat_sum, row.lon_sum, row.n]
            for row in conn.execute(sa.select(STREETS).where(STREETS.c.key.in_(keys)))
        }
        fresh: dict[str, list[float]] = {}
        for r, ks in learn_keys:
            assert r.lat is not None and r.lon is not None
            for key in ks:
                acc: list[float] = known.get(key) or fresh.setdefault(key, [0.0, 0.0, 0])
                acc[0] += r.lat
                acc[1] += r.lon
                acc[2] += 1
        changed = {k for _, ks in learn_keys for k in ks if k in known}
        everything = {**known, **fresh}
        for r in need:
            pos = _estimate(r, everything)
            if pos is not None:
                r.est_lat, r.est_lon = pos
                r.cell = cell_key(*cell_of(r.est_lat, r.est_lon))
        return _StreetWrites(
            [{"key": k, "lat_sum": a, "lon_sum": b, "n": n} for k, (a, b, n) in fresh.items()],
            [
                {"key": k, "lat_sum": known[k][0], "lon_sum": known[k][1], "n": known[k][2]}
                for k in sorted(changed)
            ],
        )

    @staticmethod
    def _write_streets(writes: PendingWrites, streets: _StreetWrites) -> None:
        """The street sums ``_locate_streets`` computed. Only grouping writes them (one
        grouping at a time: the ingest worker, the grouping process, or under the area lock),
        so sums read before the write transaction are still current in it."""
        writes.insert(STREETS, streets.insert)
        writes.update(STREETS, "key", streets.update)

    def _best(self, r: Features, pool: list[Features]) -> tuple[int, Match, str] | None:
        """The item ``r`` matches best (with the report that matched): its best-matching
        member decides, but an item whose reports all name other house numbers in r's street
        is another incident (a coordinate-only report close by must not bridge two houses).
        """
        cfg = self.settings
        running, other_flat = self._running(r, pool)
        per_item = self._best_per_item(r, running)
        numbers = self._numbers
        ranked: list[tuple[int, Match, str]] = []
        for item_id in sorted(per_item):
            if item_id in other_flat:
                continue
            nums = numbers(item_id, r) if r.number is not None and r.street else None
            if nums and r.number is not None and min(abs(n - r.number) for n in nums) > 6:
                continue
            m, via = per_item[item_id]
            ranked.append((item_id, m, via))
        # Highest score first; on a tie the older item (lower id) keeps it.
        ranked.sort(key=lambda im: (-im[1].score, im[0]))
        self._runner_up = (
            ranked[1][0] if len(ranked) > 1 and links_items(ranked[1][1], cfg) else None
        )
        return ranked[0] if ranked else None

    def _running(
        self, r: Features, pool: list[Features]
    ) -> tuple[list[tuple[int, Features]], set[int]]:
        """The candidates that pass the cheap checks (with their items), and the items that
        are about another flat of r's building."""
        cfg = self.settings
        area = r.family in AREA_FAMILIES
        span = (cfg.area_window_minutes if area else cfg.window_minutes) * 60
        r_day = _local_day(r.ts, cfg.area_zone) if area else None
        t = r.ts
        families = families_near(r.family)
        # Degrees that surely exceed the radius, for a quick "too far" before the real check.
        dlat = cfg.radius_m / 111_000
        dlon = dlat * 1.7  # 1/cos(52°) is 1.62; a margin for the whole country
        r_lat, r_lon, r_bucket, r_street, r_number = r.lat, r.lon, r.bucket, r.street, r.number
        r_unit, r_exercise = r.unit, r.exercise
        # Most candidates are another kind of thing, too old, or (both with coordinates and
        # not in one street) clearly too far. This loop runs for every candidate of every
        # report: keep it lean.
        running: list[tuple[int, Features]] = []
        other_flat: set[int] = set()
        # A report with coordinates and a street comes from both indexes: compare it once.
        for c in {id(c): c for c in pool}.values():
            item_id = c.item_id
            if item_id is None or c.family not in families or abs(c.ts - t) > span:
                continue
            if area and _local_day(c.ts, cfg.area_zone) != r_day:
                continue  # an area-wide signal is one item per day
            if c.exercise != r_exercise:
                continue  # exercise and real data never group together
            if (
                r_bucket != c.bucket  # not one street (typos included): position decides
                and r_lat is not None
                and c.lat is not None
                and (abs(r_lat - c.lat) > dlat or abs(r_lon - c.lon) > dlon)  # type: ignore[operator]
            ):
                continue
            if (
                r_number is not None
                and c.number is not None
                and r_street == c.street
                and abs(r_number - c.number) > 6
            ):
                continue  # two house numbers in one street, too far apart
            if (
                r_unit
                and c.unit
                and r_unit != c.unit
                and r_number == c.number
                and r_street == c.street
            ):
                other_flat.add(item_id)  # the item is about another flat of this building
                continue
            running.append((item_id, c))
        return running, other_flat

    def _best_per_item(
        self, r: Features, running: list[tuple[int, Features]]
    ) -> dict[int, tuple[Match, str]]:
        """Per item, the best match among its candidates (the first on a tie) and the report
        it was with. The texts first, in one call (rapidfuzz loops in C, and repeated pairs
        are cached); then the location, only where the text leaves a match possible."""
        cfg = self.settings
        area = r.family in AREA_FAMILIES
        r_street, r_number = r.street, r.number
        gazetteer = self.gazetteer
        texts = text_similarities(r.text_norm, [c.text_norm for _, c in running])
        # What ``decide`` would refuse whatever the location is not located at all (in a
        # dense backlog most candidates are the item's other members, or another incident
        # in the street with other words). Exact, not a heuristic:
        # * ``floor``: decide wants at least one of these text scores (at the same address,
        #   elsewhere, without comparable locations); area-wide signals of one family match
        #   on their topic, not the text, so they have no floor;
        # * the lower same-address floor needs a location of about 1, which another house
        #   number in the same street never gives (``_number_score``);
        # * ``w + (1 - w) * text`` is the best score a location (at most 1) can give: a
        #   member that cannot beat the best one seen of its item changes nothing.
        floor = (
            0.0
            if area
            else min(
                cfg.min_text_score, cfg.min_text_score_same_address, cfg.unknown_location_text_score
            )
        )
        min_text, w = cfg.min_text_score, cfg.location_weight
        per_item: dict[int, tuple[Match, str]] = {}
        for (item_id, c), text in zip(running, texts, strict=True):
            if text < floor:
                continue
            if (
                text < min_text
                and r_street
                and r_street == c.street
                and r_number is not None
                and c.number is not None
                and _number_score(r_number, c.number) < 0.99
            ):
                continue
            seen = per_item.get(item_id)
            if seen is not None and not area and max(w + (1 - w) * text, text) <= seen[0].score:
                continue
            loc = location_score(r, c, cfg, gazetteer)
            if not place_may_match(r, c, loc, cfg):
                continue
            m = decide(r, c, loc, text, cfg)
            if m is not None and (seen is None or m.score > seen[0].score):
                per_item[item_id] = (m, c.message_id)
        return per_item

    def _numbers(self, item_id: int, r: Features) -> set[int]:
        """House numbers the item's reports name in r's street (stored and this batch)."""
        assert r.street is not None
        found: set[int] = set()
        for street, nums in self._local_numbers.get(item_id, {}).items():
            if street_similarity(r.street, street) >= 0.85:
                found |= nums
        for street, nums in self.recent.item_numbers.get(item_id, {}).items():
            if street_similarity(r.street, street) >= 0.85:
                found |= nums
        return found

    def _plan(self, reports: list[Features], resources: list[Accepted]) -> Any:
        """Match every report (pure computation on the in-memory window)."""
        now_items: dict[int, _Planned] = {}
        new_keys = 10**15  # provisional keys for items made in this batch sort after real ids
        local_cell: dict[str, list[Features]] = {}
        local_bucket: dict[str, list[Features]] = {}
        local_streets: dict[str, set[str]] = {}
        self._local_numbers = {}
        placed: list[tuple[Features, int, str, float | None]] = []
        matched_via: dict[str, int] = {}  # stored report we matched -> its item, as we saw it
        batch_ids = {r.message_id for r in reports}
        links: dict[int, int] = {}
        for r in reports:
            pos = _position(r)
            cells = neighbour_cells(*pos) if pos is not None else []
            pool = self.recent.near(cells, r, families_near(r.family))
            for key in cells:
                pool.extend(f for f in local_cell.get(key, ()) if not (numbered(r) and numbered(f)))
            for key in lookup_keys(r, local_streets):
                pool.extend(local_bucket.get(key, ()))
            best = self._best(r, pool)
            runner_up = self._runner_up
            score: float | None
            if best is not None and not r.life_threatening and not best[1].unsure:
                item_key, m, via = best
                joined, score = "match", m.score
                if via not in batch_ids:
                    matched_via[via] = item_key
            else:
                new_keys += 1
                item_key = new_keys
                joined, score = ("own", best[1].score) if best is not None else ("new", None)
                if best is not None and best[2] not in batch_ids:
                    matched_via[best[2]] = best[0]
                now_items[item_key] = _Planned(
                    key=item_key,
                    id=None,
                    row=_new_item_row("incident", r),
                    audit={
                        "action": "created",
                        "details": {
                            "message_id": r.message_id,
                            "possible_duplicate_of": best[0] if best is not None else None,
                            "score": round(best[1].score, 3) if best is not None else None,
                        },
                    },
                )
                if best is not None:
                    # Never absorbed: its own place in the queue, linked for the operator.
                    now_items[item_key].row["possible_duplicate_of"] = best[0]
                    now_items[item_key].row["duplicate_status"] = "pending"
            if runner_up is not None and joined == "match":
                # The report fits two open items: they are probably one incident that was
                # reported twice before anyone saw. Link them for the operator; never merge.
                newer, older = max(item_key, runner_up), min(item_key, runner_up)
                links.setdefault(newer, older)
            planned = now_items.get(item_key)
            if planned is None:
                planned = now_items[item_key] = _Planned(key=item_key, id=item_key, row={})
            planned.members.append(r)
            # Provisional until _write knows the real id; the batch's later reports meet it.
            r.item_id = item_key
            local = r
            placed.append((r, item_key, joined, score))
            if local.cell:
                local_cell.setdefault(local.cell, []).append(local)
            block = index_key(local)
            if block:
                local_bucket.setdefault(block, []).append(local)
                if local.bucket and local.street:
                    local_streets.setdefault(local.bucket, set()).add(block)
            if local.street and local.number is not None:
                self._local_numbers.setdefault(item_key, {}).setdefault(local.street, set()).add(
                    local.number
                )

        for a in resources:
            new_keys += 1
            now_items[new_keys] = _Planned(
                key=new_keys,
                id=None,
                row=_resource_item_row(a),
                audit={"action": "created", "details": {"message_id": a.message.message_id}},
            )
        return now_items, placed, links, matched_via

    def _verify(self, conn: Connection, plan: Any) -> dict[int, Any] | None:
        """Lock the existing items the plan joins and check that what it relied on still
        holds; returns their rows, or None when the plan must be made again."""
        now_items, _, _, matched_via = plan
        joining = sorted(k for k, p in now_items.items() if p.id is not None)
        existing = lock_items(conn, joining)
        if any(k not in existing or existing[k].state not in OPEN_STATES for k in joining):
            return None
        if matched_via:
            ids = sorted(matched_via)
            current: dict[str, int] = {}
            for start in range(0, len(ids), 500):
                current.update(
                    conn.execute(
                        sa.select(REPORTS.c.message_id, REPORTS.c.item_id).where(
                            in_values(conn, REPORTS.c.message_id, ids[start : start + 500])
                        )
                    ).all()
                )
            if any(current.get(m) != item for m, item in matched_via.items()):
                return None
            linked = sorted(set(matched_via.values()) - set(joining))
            if linked:
                states: dict[int, str] = dict(
                    conn.execute(
                        sa.select(ITEMS.c.id, ITEMS.c.state).where(
                            in_values(conn, ITEMS.c.id, linked)
                        )
                    ).all()
                )
                if any(states.get(i) not in OPEN_STATES for i in linked):
                    return None
        return existing

    def _write(
        self,
        conn: Connection,
        items: dict[int, _Planned],
        placed: list[tuple[Features, int, str, float | None]],
        resources: list[Accepted],
        links: dict[int, int],
        streets: _StreetWrites,
    ) -> None:
        """Everything but the new items (whose ids the rest needs) goes in one
        ``PendingWrites``: on PostgreSQL one round trip instead of one per statement."""
        # Aggregates of every touched item, from its new members.
        for planned in items.values():
            row = planned.row
            for r in planned.members:
                _absorb(row, r)
        creating = [p for p in items.values() if p.id is None]
        if creating:
            # Each new item is made from one message of this batch: its representative.
            made = dict(
                (rep, new_id)
                for new_id, rep in fast_insert(
                    conn,
                    ITEMS,
                    [_insertable(p.row) for p in creating],
                    returning=("id", "representative_message_id"),
                )
            )
            for p in creating:
                p.id = int(made[p.row["representative_message_id"]])
        key_to_id = {k: p.id for k, p in items.items()}
        # Links made to items created in this same batch get their real id now, in one
        # statement for the batch (a reconnect backlog's P1s link to each other by hundreds).
        fixed = []
        for p in creating:
            link = p.row.get("possible_duplicate_of")
            if link is not None and link in key_to_id and link != key_to_id[link]:
                fixed.append({"id": p.id, "possible_duplicate_of": key_to_id[link]})
                if p.audit:
                    p.audit["details"]["possible_duplicate_of"] = key_to_id[link]
        writes = PendingWrites(conn)
        self._write_streets(writes, streets)
        writes.update(ITEMS, "id", fixed)
        link_rows = []
        for newer, older in sorted(links.items()):
            link_row: dict[str, Any] | None = items[newer].row if newer in items else None
            if link_row is None or link_row.get("possible_duplicate_of") is not None:
                continue
            if link_row.get("duplicate_status") == "separate":
                continue  # an operator already decided
            link_rows.append(
                {
                    "id": key_to_id[newer],
                    "possible_duplicate_of": key_to_id.get(older, older),
                    "duplicate_status": "pending",
                }
            )
        # Only an item without a link gets one: a link already set (by an operator too) stays.
        writes.update(ITEMS, "id", link_rows, where="possible_duplicate_of IS NULL")
        writes.insert(
            REPORTS, [f.row(key_to_id[k] or 0, joined, score) for f, k, joined, score in placed]
        )
        for f, k, *_ in placed:
            f.item_id = key_to_id[k]
        if resources:
            res_items = [p for p in creating if p.row["item_type"] == "resource_request"]
            writes.insert(
                REPORTS,
                [
                    _resource_report_row(a, p.id or 0)
                    for a, p in zip(resources, res_items, strict=True)
                ],
            )
        # Existing items whose aggregates changed: one statement for all of them, every
        # aggregate column (the unchanged ones as read under the lock, see _verify). One
        # statement per set of changed columns made up to a dozen round trips per batch.
        changes = []
        for p in items.values():
            if p.key != p.id:
                continue
            before = p.before or {}
            if any(p.row[c] != before.get(c) for c in _UPDATABLE):
                changes.append({"id": p.id, **{c: p.row[c] for c in _UPDATABLE}})
        writes.update(ITEMS, "id", changes)
        audits = [
            {
                "item_id": p.id,
                "at": p.row["first_seen"],
                "actor": "grouping",
                "action": p.audit["action"],
                "from_state": None,
                "to_state": ItemState.NEW.value,
                "note": None,
                "details": p.audit["details"],
            }
            for p in creating
            if p.audit is not None
        ]
        writes.insert(AUDIT, audits)
        writes.flush()
        # A report joining an incident the CP already handles learns its state at once.
        for f, k, joined, _ in placed:
            state = items[k].row["state"]
            if joined == "match" and state != ItemState.NEW.value:
                enqueue_ack(
                    conn,
                    cp_id=self.cp_id,
                    nsp_id=f.nsp_id,
                    ref_message_id=f.message_id,
                    stored_at=f.received_at,
                    state=HandlingState(state),
                    note=f"Hoort bij incident #{key_to_id[k]} dat het CP al behandelt.",
                    item_id=key_to_id[k],
                    at=f.received_at,
                )


def _from_row(row: Any) -> Features:
    """A window entry from a triage_report row (only what matching reads)."""
    return Features(
        message_id=row.message_id,
        kind=row.kind,
        family=row.family,
        category=row.category,
        cls=row.cls,
        life_threatening=row.life_threatening,
        nsp_id=row.nsp_id,
        received_at=row.received_at,
        lat=row.lat,
        lon=row.lon,
        cell=row.cell,
        bucket=row.bucket,
        street=row.street,
        number=row.number,
        town=row.town,
        place=row.bucket[2:] if row.bucket and row.bucket.startswith("p:") else None,
        address=None,
        text_norm=row.text_norm,
        description="",
        people=0,
        vulnerable=0,
        item_id=row.item_id,
        est_lat=row.est_lat,
        est_lon=row.est_lon,
        exercise=row.exercise_id,
    )


def _new_item_row(item_type: str, r: Features) -> dict[str, Any]:
    return {
        "item_type": item_type,
        "family": r.family,
        "category": r.category,
        "state": ItemState.NEW.value,
        "state_changed_at": r.received_at,
        "first_seen": r.received_at,
        "last_seen": r.received_at,
        "report_count": 0,
        "nsp_ids": [],
        "top_class": r.cls,
        "life_threatening": False,
        "people_involved": 0,
        "vulnerable_people": 0,
        "representative_message_id": r.message_id,
        "description": r.description,
        "address": None,
        "lat": None,
        "lon": None,
        "merged_into": None,
        "split_from": None,
        "possible_duplicate_of": None,
        "duplicate_status": None,
        "exercise_id": r.exercise,
    }


def _resource_item_row(a: Accepted) -> dict[str, Any]:
    m = a.message
    body = m.body.model_dump(mode="json")
    text = f"{body['quantity']:g} {body['unit']} {body['item']}"
    if body.get("note"):
        text += f" — {body['note']}"
    return {
        "item_type": "resource_request",
        "family": "resource",
        "category": body["resource"],
        "state": ItemState.NEW.value,
        "state_changed_at": a.received_at,
        "first_seen": a.received_at,
        "last_seen": a.received_at,
        "report_count": 1,
        "nsp_ids": [m.nsp_id],
        "top_class": body.get("urgency") or "P3",
        "life_threatening": False,
        "people_involved": 0,
        "vulnerable_people": 0,
        "representative_message_id": m.message_id,
        "description": text,
        "address": None,
        "lat": None,
        "lon": None,
        "merged_into": None,
        "split_from": None,
        "possible_duplicate_of": None,
        "duplicate_status": None,
        "exercise_id": m.exercise,
    }


def _resource_report_row(a: Accepted, item_id: int) -> dict[str, Any]:
    m = a.message
    body = m.body.model_dump(mode="json")
    return {
        "message_id": m.message_id,
        "item_id": item_id,
        "kind": m.kind,
        "family": "resource",
        "category": body["resource"],
        "cls": body.get("urgency") or "P3",
        "life_threatening": False,
        "nsp_id": m.nsp_id,
        "received_at": a.received_at,
        "lat": None,
        "lon": None,
        "cell": None,
        "bucket": None,  # resource requests are never matched
        "street": None,
        "number": None,
        "town": None,
        "address": None,
        "text_norm": "",
        "description": str(body.get("item")),
        "people": 0,
        "vulnerable": 0,
        "joined_by": "new",
        "match_score": None,
        "exercise_id": m.exercise,
    }


# An item's aggregates over its reports: what a new member can change (see _absorb).
_UPDATABLE = (
    "first_seen",
    "last_seen",
    "report_count",
    "nsp_ids",
    "top_class",
    "life_threatening",
    "people_involved",
    "vulnerable_people",
    "representative_message_id",
    "description",
    "address",
    "lat",
    "lon",
)
_ITEM_COLUMNS = (
    "item_type",
    "family",
    "category",
    "state",
    "state_changed_at",
    *_UPDATABLE,
    "merged_into",
    "split_from",
    "possible_duplicate_of",
    "duplicate_status",
    "exercise_id",
)


def _insertable(row: dict[str, Any]) -> dict[str, Any]:
    out = {c: row[c] for c in _ITEM_COLUMNS}
    if out["possible_duplicate_of"] is not None and out["possible_duplicate_of"] >= 10**15:
        out["possible_duplicate_of"] = None  # fixed after the insert, see _write
    return out


def _absorb(row: dict[str, Any], r: Features) -> None:
    """Fold one new member report into an item's aggregates."""
    if row["report_count"] == 0:
        row["first_seen"] = r.received_at
        row["last_seen"] = r.received_at
        row["top_class"] = r.cls
        row["representative_message_id"] = r.message_id
        row["description"] = r.description
    else:
        if rep_key(r.cls, r.description) < rep_key(row["top_class"], row["description"]):
            row["representative_message_id"] = r.message_id
            row["description"] = r.description
        row["first_seen"] = min(row["first_seen"], r.received_at)
        row["last_seen"] = max(row["last_seen"], r.received_at)
        row["top_class"] = min(row["top_class"], r.cls, key=lambda c: CLASS_RANK.get(c, 5))
    row["report_count"] += 1
    row["nsp_ids"] = sorted(set(row["nsp_ids"]) | {r.nsp_id})
    row["life_threatening"] = bool(row["life_threatening"] or r.life_threatening)
    row["people_involved"] = max(row["people_involved"], r.people)
    row["vulnerable_people"] = max(row["vulnerable_people"], r.vulnerable)
    if row["address"] is None and r.address:
        row["address"] = r.address[:300]
    if row["lat"] is None and r.lat is not None:
        row["lat"], row["lon"] = r.lat, r.lon
    elif row["lat"] is None and r.est_lat is not None:
        row["lat"], row["lon"] = r.est_lat, r.est_lon  # geocoded: the incident is on the map


def own_item_fallback(conn: Connection, a: Accepted, error: str) -> int:
    """Put a message in the queue on its own when grouping failed for it (see
    ``service.kinds.FALLBACKS``): no matching, no parsing of its address, only what the
    validated message says. A P1 stays a P1 in the queue whatever went wrong in grouping."""
    m = a.message
    body = m.body.model_dump(mode="json")
    resource = m.kind == "resource_request"
    cls = str(body.get("urgency") or "P3") if m.kind != "situation_report" else "P3"
    if m.kind == "situation_report":
        cls = SEVERITY_CLASS.get(str(body.get("severity")), "P3")
    category = str(body.get("resource") if resource else body.get("category"))[:40]
    description = str(body.get("item") if resource else body.get("description") or "")
    loc = body.get("location")
    if not isinstance(loc, dict):
        loc = {}  # (a stored body the grouping process could not read: service/triage/grouper)
    lat, lon = loc.get("lat"), loc.get("lon")
    if not (isinstance(lat, int | float) and isinstance(lon, int | float)):
        lat = lon = None
    life = m.kind == "help_request" and cls == "P1"
    row = {
        "item_type": "resource_request" if resource else "incident",
        "family": "resource" if resource else family_of(m.kind, category)[:20],
        "category": category,
        "state": ItemState.NEW.value,
        "state_changed_at": a.received_at,
        "first_seen": a.received_at,
        "last_seen": a.received_at,
        "report_count": 1,
        "nsp_ids": [m.nsp_id],
        "top_class": cls,
        "life_threatening": life,
        "people_involved": int(body.get("people_involved") or 0),
        "vulnerable_people": int(body.get("vulnerable_people") or 0),
        "representative_message_id": m.message_id,
        "description": description,
        "address": (loc.get("address") or None) and str(loc["address"])[:300],
        "lat": lat,
        "lon": lon,
        "merged_into": None,
        "split_from": None,
        "possible_duplicate_of": None,
        "duplicate_status": None,
        "exercise_id": m.exercise,
    }
    item_id = conn.execute(sa.insert(ITEMS).returning(ITEMS.c.id), [row]).scalar_one()
    conn.execute(
        sa.insert(REPORTS),
        [
            {
                "message_id": m.message_id,
                "item_id": item_id,
                "kind": m.kind,
                "family": row["family"],
                "category": category,
                "cls": cls,
                "life_threatening": life,
                "nsp_id": m.nsp_id,
                "received_at": a.received_at,
                "lat": row["lat"],
                "lon": row["lon"],
                "cell": None,
                "est_lat": None,
                "est_lon": None,
                "bucket": None,  # never matched: an operator links it by hand if needed
                "street": None,
                "number": None,
                "town": None,
                "address": row["address"],
                "text_norm": "",
                "description": description,
                "people": row["people_involved"],
                "vulnerable": row["vulnerable_people"],
                "joined_by": "new",
                "match_score": None,
                "exercise_id": m.exercise,
            }
        ],
    )
    conn.execute(
        sa.insert(AUDIT),
        [
            {
                "item_id": item_id,
                "at": a.received_at,
                "actor": "grouping",
                "action": "created",
                "from_state": None,
                "to_state": ItemState.NEW.value,
                "note": "grouping failed for this report; placed on its own",
                "details": {"message_id": m.message_id, "fallback": error[:500]},
            }
        ],
    )
    return item_id
