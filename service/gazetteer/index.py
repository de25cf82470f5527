"""The in-memory gazetteer: what grouping asks of the CP area's streets, towns and places.

Invariants and reasons:

* Every street, town and place name comes from the loaded data (``from_rows``, filled from
  the gazetteer tables by ``load``); nothing here knows any area.
* A written street is matched against the *real* street list: exactly, after expanding a
  street-type abbreviation ("Beukenln" -> "beukenlaan", "Oranjepl" -> "oranjeplein"), or
  within one or two letter slips (doubled, dropped, swapped letters) — but only when exactly
  one street is that close, because a wrong street is worse than an unmatched one (grouping
  falls back to the shape of the text then).
* Streets are per town: villages of one municipality share street names, so "Kerkstraat 4"
  is resolved with the town written, else the NSP's town, else the nearest one to the
  report's position; a street that exists in one town only gives that town as a fact.
* Every lookup is cached: reports repeat their streets, and grouping runs in the ingest
  transaction.
"""

from __future__ import annotations

import bisect
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import process
from rapidfuzz.distance import Levenshtein

from service.triage.normalise import NAME_ABBREV, fold

# Street-type abbreviations volunteers type, after folding ("Beukenln." -> "beukenln").
STREET_TYPE_ABBREV = (
    ("straat", ("str", "st", "strt", "stra")),
    ("laan", ("ln", "la")),
    ("plein", ("pl", "pln", "plei")),
    ("singel", ("sngl", "sgl", "sin")),
    ("weg", ("wg",)),
    ("gracht", ("gr", "gr")),
    ("dijk", ("dk",)),
    ("kade", ("kd",)),
    ("dreef", ("drf",)),
    ("park", ("pk",)),
    ("markt", ("mkt",)),
    ("plantsoen", ("plnts", "plants")),
    ("boulevard", ("blvd",)),
)
_SEPARATE_TYPES = frozenset({"str", "straat", "laan", "ln", "weg", "wg", "plein", "pl", "singel"})
_NUMBER = re.compile(r"(\d{1,5})([a-z]?)$")
_LETTER_SUFFIX = re.compile(r"^[a-z]$")


# A parsed text: town (key, span), street with number (start, end, key, number), its unit,
# a street alone (start, end, key), named places (span, candidates) longest first.
_Parsed = tuple[
    str | None,
    tuple[int, int] | None,
    tuple[int, int, str, int] | None,
    str | None,
    tuple[int, int, str] | None,
    list[tuple[tuple[int, int], list["Place"]]],
]


def key_of(name: str) -> str:
    """The lookup key of a street or town name: folded, without spaces."""
    return fold(name).replace(" ", "")


@dataclass
class Street:
    name: str
    key: str
    town: str
    town_key: str
    municipality_key: str | None = None
    numbers: list[int] = field(default_factory=list, repr=False)
    lats: list[float] = field(default_factory=list, repr=False)
    lons: list[float] = field(default_factory=list, repr=False)

    @property
    def centre(self) -> tuple[float, float]:
        n = len(self.lats)
        return sum(self.lats) / n, sum(self.lons) / n

    def position(self, number: int | None) -> tuple[float, float]:
        """The house's position; for a number the extract lacks, the nearest one on the
        same side of the street (same parity) within 10, else the nearest at all."""
        if number is None or not self.numbers:
            return self.centre
        i = bisect.bisect_left(self.numbers, number)
        if i < len(self.numbers) and self.numbers[i] == number:
            return self.lats[i], self.lons[i]
        best: tuple[int, int] | None = None
        for j in range(max(0, i - 6), min(len(self.numbers), i + 6)):
            gap = abs(self.numbers[j] - number)
            rank = gap + (0 if self.numbers[j] % 2 == number % 2 and gap <= 10 else 1000)
            if best is None or rank < best[0]:
                best = (rank, j)
        assert best is not None
        return self.lats[best[1]], self.lons[best[1]]


@dataclass(frozen=True)
class Place:
    name: str
    kind: str
    town_key: str | None
    lat: float
    lon: float

    @property
    def key(self) -> str:
        return key_of(self.name) + (f"|{self.town_key}" if self.town_key else "")


@dataclass(frozen=True)
class Found:
    """A location read from an address field or free text."""

    street: Street | None
    number: int | None
    place: Place | None
    town_key: str | None  # the town written, if any
    town_is_fact: bool  # written, or the street exists in one town only
    span: tuple[int, int] | None  # token span in the folded text (for removal)
    unit: str | None = None  # flat or house letter: "40/8", "40-10", "16b"

    @property
    def position(self) -> tuple[float, float] | None:
        if self.street is not None:
            return self.street.position(self.number)
        if self.place is not None:
            return self.place.lat, self.place.lon
        return None

    def display(self) -> str:
        if self.street is not None:
            num = f" {self.number}" if self.number is not None else ""
            return f"{self.street.name}{num}, {self.street.town}"
        if self.place is not None:
            return self.place.name
        return ""


def _dist_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    x = math.radians(b[1] - a[1]) * math.cos(math.radians((a[0] + b[0]) / 2))
    return 6_371_000 * math.hypot(x, math.radians(b[0] - a[0]))


class Gazetteer:
    """Streets, towns and places of the CP area (see the module docstring)."""

    def __init__(
        self,
        streets: Iterable[Street],
        places: Iterable[tuple[Place, list[str]]],
        towns: dict[str, str],
        generation: int = 0,
    ) -> None:
        self.generation = generation
        self.towns = towns  # town key -> name (woonplaatsen and gemeenten)
        self.by_key: dict[str, list[Street]] = {}
        for s in streets:
            self.by_key.setdefault(s.key, []).append(s)
        self.street_keys = sorted(self.by_key)
        self.places: dict[str, list[Place]] = {}  # folded name or alias (spaced) -> places
        for place, aliases in places:
            for name in (place.name, *aliases):
                k = fold(name)
                if k and k not in self.towns and k.replace(" ", "") not in self.towns:
                    self.places.setdefault(k, []).append(place)
        self.max_place_words = max((len(k.split()) for k in self.places), default=0)
        self._town_max_words = max((len(fold(n).split()) for n in towns.values()), default=1)
        self._street_cache: dict[str, str | None] = {}
        self._parse_cache: dict[tuple[str, bool], _Parsed] = {}
        self._reverse_cache: dict[tuple[float, float, float], tuple[Street, int] | None] = {}
        self._grid: dict[tuple[int, int], list[tuple[float, float, Street, int]]] = {}
        for ss in self.by_key.values():
            for s in ss:
                for n, la, lo in zip(s.numbers, s.lats, s.lons, strict=True):
                    self._grid.setdefault(_cell(la, lo), []).append((la, lo, s, n))

    def __hash__(self) -> int:
        return id(self)

    def __eq__(self, other: object) -> bool:
        return self is other

    @property
    def empty(self) -> bool:
        return not self.by_key and not self.places

    # ------------------------------------------------------------------ names

    def is_town(self, key: str) -> bool:
        return key in self.towns

    def match_street(self, key: str, fuzzy: bool = True) -> str | None:
        """The real street key for a written one (see the module docstring), or None."""
        if key in self.by_key:
            return key
        cache_key = key if fuzzy else "=" + key
        if cache_key in self._street_cache:
            return self._street_cache[cache_key]
        found = self._match_street(key, fuzzy)
        if len(self._street_cache) > 200_000:
            self._street_cache.clear()
        self._street_cache[cache_key] = found
        return found

    def _match_street(self, key: str, fuzzy: bool) -> str | None:
        if len(key) < 3:
            return None
        candidates = [key]
        for full, shorts in STREET_TYPE_ABBREV:
            for short in shorts:
                if key.endswith(short) and len(key) > len(short) + 2:
                    candidates.append(key[: -len(short)] + full)
        for c in candidates[1:]:
            if c in self.by_key:
                return c
        if not fuzzy or len(key) < 6:
            return None
        for c in candidates:
            allowed = 1 if len(c) < 9 else 2
            hits = process.extract(
                c, self.street_keys, scorer=Levenshtein.distance, score_cutoff=allowed, limit=3
            )
            hits = [h for h in hits if h[0][0] == c[0]]
            if not hits:
                continue
            best = min(h[1] for h in hits)
            at_best = [h[0] for h in hits if h[1] == best]
            if len(at_best) == 1:
                return at_best[0]
        return None

    def streets_named(self, key: str) -> list[Street]:
        return self.by_key.get(key, [])

    def resolve(
        self,
        street_key: str,
        town_key: str | None,
        hint_town: str | None,
        near: tuple[float, float] | None,
    ) -> tuple[Street, bool] | None:
        """The street in the right town, and whether that town is certain; None when the
        town written is neither one of the street's towns nor their municipality (the writer
        means a street the gazetteer does not know, not the same name in another town)."""
        streets = self.by_key[street_key]
        if town_key is not None:
            for s in streets:
                if s.town_key == town_key:
                    return s, True
            streets = [s for s in streets if s.municipality_key == town_key]
            if not streets:
                return None
        if len(streets) == 1:
            return streets[0], True
        if near is not None:
            return min(streets, key=lambda s: _dist_m(s.position(None), near)), False
        if hint_town is not None:
            for s in streets:
                if s.town_key == hint_town:
                    return s, False
        return streets[0], False

    # ------------------------------------------------------------------ reading text

    def read(
        self,
        raw: str | None,
        hint_town: str | None = None,
        near: tuple[float, float] | None = None,
        address_field: bool = False,
    ) -> Found | None:
        """The location in an address field or a free text: a street with house number
        (full, abbreviated or misspelled), else (address fields) a street alone, else a named
        place; None when there is none."""
        if not raw:
            return None
        parsed = self._parse(raw, address_field)
        town_key, town_span, hit, unit, alone, place_spans = parsed
        if hit is not None:
            start, end, skey, number = hit
            resolved = self.resolve(skey, town_key, hint_town, near)
            if resolved is None:
                return None
            street, fact = resolved
            fact = fact or town_key is not None
            return Found(street, number, None, town_key, fact, (start, end), unit)
        if alone is not None:
            start, end, skey = alone
            resolved = self.resolve(skey, town_key, hint_town, near)
            if resolved is None:
                return None
            street, fact = resolved
            return Found(street, None, None, town_key, fact, (start, end))
        place = self._pick_place(place_spans, town_key or hint_town, near)
        if place is not None:
            p, span = place
            return Found(None, None, p, town_key or p.town_key, True, span)
        if town_key is not None and town_span is not None:
            return Found(None, None, None, town_key, True, town_span)
        return None

    def _parse(self, raw: str, address_field: bool) -> _Parsed:
        """What a text names, before it is resolved against a hint or a position (cached:
        copy-pasted and forwarded reports repeat their texts)."""
        key = (raw, address_field)
        got = self._parse_cache.get(key)
        if got is not None:
            return got
        tokens = [NAME_ABBREV.get(t, t) for t in fold(raw).split()]
        town_key, town_span = self._town_in(tokens)
        hit = self._street_with_number(tokens, address_field)
        unit = _unit(raw, hit[3]) if hit is not None else None
        alone: tuple[int, int, str] | None = None
        if hit is None and address_field:
            alone = self._street_alone(tokens)
        spans = self._place_spans(tokens) if hit is None and alone is None else []
        got = (town_key, town_span, hit, unit, alone, spans)
        if len(self._parse_cache) > 50_000:
            self._parse_cache.clear()
        self._parse_cache[key] = got
        return got

    def _street_alone(self, tokens: list[str]) -> tuple[int, int, str] | None:
        for start in range(len(tokens)):
            for size in (3, 2, 1):
                part = tokens[start : start + size]
                if len(part) < size or any(t[:1].isdigit() for t in part):
                    continue
                alone = self.match_street("".join(part))
                if alone is not None:
                    return start, start + size, alone
        return None

    def _street_with_number(
        self, tokens: list[str], address_field: bool
    ) -> tuple[int, int, str, int] | None:
        for i, tok in enumerate(tokens):
            m = _NUMBER.match(tok)
            if i == 0:
                continue
            if m is not None:
                number = int(m.group(1))
                letter = m.group(2)
            else:
                word = number_word(tok)  # "Hoogstraat nummer vierenveertig"
                if word is None:
                    continue
                number, letter = word, "-"
            if number == 0:
                continue
            end = i + 1
            if letter == "" and end < len(tokens) and _LETTER_SUFFIX.match(tokens[end]):
                end += 1  # "12 a"
            stop = i - 1 if tokens[i - 1] in _NUMBER_FILLERS else i
            for size in (4, 3, 2, 1):
                start = stop - size
                if start < 0:
                    continue
                part = tokens[start:stop]
                if any(t[:1].isdigit() for t in part):
                    continue
                joined = "".join(part)
                # A long free text holds many words before numbers ("om 7 uur", "al 3
                # dagen"): there, a slip is forgiven only in what looks like a street name.
                shaped = address_field or size > 1 or _street_shaped(joined)
                skey = self.match_street(joined, fuzzy=shaped)
                if skey is not None:
                    return start, end, skey, number
        return None

    def _town_in(self, tokens: list[str]) -> tuple[str | None, tuple[int, int] | None]:
        for size in range(self._town_max_words, 0, -1):
            for start in range(len(tokens) - size, -1, -1):
                k = "".join(tokens[start : start + size])
                if k in self.towns:
                    return k, (start, start + size)
        return None, None

    def _place_spans(self, tokens: list[str]) -> list[tuple[tuple[int, int], list[Place]]]:
        """Named places in the text, longest names first."""
        out = []
        for size in range(min(self.max_place_words, len(tokens)), 0, -1):
            for start in range(len(tokens) - size + 1):
                found = self.places.get(" ".join(tokens[start : start + size]))
                if found:
                    out.append(((start, start + size), found))
        return out

    @staticmethod
    def _pick_place(
        spans: list[tuple[tuple[int, int], list[Place]]],
        town_key: str | None,
        near: tuple[float, float] | None,
    ) -> tuple[Place, tuple[int, int]] | None:
        for span, found in spans:
            if near is not None:
                p = min(found, key=lambda p: _dist_m((p.lat, p.lon), near))
                if _dist_m((p.lat, p.lon), near) > 1500:
                    continue  # the church of another village than where the pin is
            else:
                local = [p for p in found if town_key and p.town_key == town_key]
                p = (local or found)[0]
            return p, span
        return None

    def location_tokens(self, text: str | None) -> frozenset[int]:
        """Positions (in ``fold(text).split()``) of the words that name a place: towns,
        streets with their house numbers, named places. They say where, not what."""
        if not text:
            return frozenset()
        tokens = [NAME_ABBREV.get(t, t) for t in fold(text).split()]
        out: set[int] = set()
        hit = self._street_with_number(tokens, False)
        if hit is not None:
            out.update(range(hit[0], hit[1]))
        for i, t in enumerate(tokens):
            if t in self.towns:
                out.add(i)
        spans = self._place_spans(tokens)
        if spans:
            out.update(range(*spans[0][0]))
        return frozenset(out)

    # ------------------------------------------------------------------ positions

    def reverse(self, lat: float, lon: float, within_m: float = 80) -> tuple[Street, int] | None:
        """The nearest address to a map-picked point (its street stretch), within
        ``within_m``. Cached: matching asks it for the same pick against each candidate."""
        key = (lat, lon, within_m)
        if key in self._reverse_cache:
            return self._reverse_cache[key]
        if len(self._reverse_cache) > 100_000:
            self._reverse_cache.clear()
        found = self._reverse_cache[key] = self._reverse(lat, lon, within_m)
        return found

    def _reverse(self, lat: float, lon: float, within_m: float) -> tuple[Street, int] | None:
        cx, cy = _cell(lat, lon)
        best: tuple[float, Street, int] | None = None
        for dx in (-1, 0, 1):
            for dy in (-1, 0, 1):
                for la, lo, s, n in self._grid.get((cx + dx, cy + dy), ()):
                    d = _dist_m((la, lo), (lat, lon))
                    if d <= within_m and (best is None or d < best[0]):
                        best = (d, s, n)
        return (best[1], best[2]) if best else None


_UNIT = re.compile(
    r"(?<![\d])(\d{1,5})(?:\s*[/-]\s*(\d{1,3}|[a-z])(?![\w])|([a-z])(?![\w])"
    r"|\s+(?:bus|app|apt|appartement|flat)\.?\s*(\d{1,3})(?![\w]))",
    re.IGNORECASE,
)


def _unit(raw: str, number: int) -> str | None:
    """The flat or letter after a house number ("40/8", "40-10", "16-b", "39a", "12 app 3"):
    two reports about one building name different homes by it."""
    for m in _UNIT.finditer(raw):
        if int(m.group(1)) == number:
            unit = m.group(2) or m.group(3) or m.group(4)
            return unit.lower() if unit else None
    return None


_NUMBER_FILLERS = frozenset({"nummer", "nr", "no", "huisnummer", "nummero"})
_UNITS = {
    "twee": 2,
    "drie": 3,
    "vier": 4,
    "vijf": 5,
    "zes": 6,
    "zeven": 7,
    "acht": 8,
    "negen": 9,
}
_TEENS = {
    "tien": 10,
    "elf": 11,
    "twaalf": 12,
    "dertien": 13,
    "veertien": 14,
    "vijftien": 15,
    "zestien": 16,
    "zeventien": 17,
    "achttien": 18,
    "negentien": 19,
}
_TENS = {
    "twintig": 20,
    "dertig": 30,
    "veertig": 40,
    "vijftig": 50,
    "zestig": 60,
    "zeventig": 70,
    "tachtig": 80,
    "negentig": 90,
}


def number_word(tok: str) -> int | None:
    """A house number written as a Dutch word, 2-99 ("zeven", "vierenveertig"); not "een",
    which is also the article."""
    if tok in _UNITS:
        return _UNITS[tok]
    if tok in _TEENS:
        return _TEENS[tok]
    if tok in _TENS:
        return _TENS[tok]
    head, sep, tail = tok.partition("en")
    while sep:
        one = 1 if head == "een" else _UNITS.get(head)
        if one is not None and tail in _TENS:
            return one + _TENS[tail]
        nxt, sep, tail2 = tail.partition("en")
        head, tail = head + "en" + nxt, tail2
    return None


def _street_shaped(key: str) -> bool:
    from service.triage.normalise import STREET_SUFFIXES

    return len(key) > 5 and any(key.endswith(s) for s in STREET_SUFFIXES)


_CELL = 0.002


def _cell(lat: float, lon: float) -> tuple[int, int]:
    return math.floor(lat / _CELL), math.floor(lon / _CELL)


def from_rows(
    addresses: Iterable[Any], places: Iterable[Any], generation: int = 0
) -> Gazetteer | None:
    """A gazetteer from address rows (street, street_key, town, town_key, municipality,
    number, lat, lon) and place rows (name, kind, town, lat, lon, aliases); None if empty."""
    streets: dict[tuple[str, str], dict[int, tuple[float, float]]] = {}
    names: dict[tuple[str, str], tuple[str, str]] = {}
    municipalities: dict[tuple[str, str], str] = {}
    towns: dict[str, str] = {}
    for a in addresses:
        k = (a.street_key, a.town_key)
        names.setdefault(k, (a.street, a.town))
        streets.setdefault(k, {}).setdefault(a.number, (a.lat, a.lon))
        towns.setdefault(a.town_key, a.town)
        if a.municipality:
            towns.setdefault(key_of(a.municipality), a.municipality)
            municipalities.setdefault(k, key_of(a.municipality))
    built = []
    for (skey, tkey), nums in streets.items():
        name, town = names[(skey, tkey)]
        s = Street(name, skey, town, tkey, municipalities.get((skey, tkey)))
        for n in sorted(nums):
            s.numbers.append(n)
            s.lats.append(nums[n][0])
            s.lons.append(nums[n][1])
        built.append(s)
    pl = []
    for p in places:
        ptown: str | None = key_of(p.town) if p.town else None
        if p.town and ptown:
            towns.setdefault(ptown, p.town)
        pl.append((Place(p.name, p.kind, ptown, p.lat, p.lon), list(p.aliases or [])))
    if not built and not pl:
        return None
    return Gazetteer(built, pl, towns, generation)
