"""The short form of an upward report: one line a volunteer can read out, write or text.

Invariants (see docs/fallback.md for the reasons):

* A short form is one line of at most 160 characters from a 42-character alphabet
  (``A-Z 0-9``, space and ``. , - / :``) plus the check suffix `` *NN``. Every character is
  in the GSM-7 basic set and is one byte in ASCII, so it fits one SMS (160 GSM-7
  characters) and one LoRa packet (200 bytes).
* It is canonical: a report has exactly one short form, and ``decode(encode(r)) == r``.
* The two check digits ``NN`` are ISO 7064 MOD 97-10 (the IBAN check, computed with
  python-stdnum) over the decimal encoding of *every* character before `` *``: each
  character becomes its two-digit value 10..51. A single wrong character changes the number
  by d·10^k with 0 < |d| <= 41 and a swap of two neighbours by 99·d·10^k ≡ 2·d·10^k
  (mod 97), |2·d| <= 82; 97 is prime and does not divide 10, so neither is ever ≡ 0: every
  single substitution and every adjacent transposition is refused (the check digits are
  decimal digits of the same number, so this covers them too).
* (NSP short code, sequence number) identifies the report; the CP maps the short code back
  to its NSP id from its registry (``service.fallback``), never by guessing.
* Decoding is strict: anything that is not exactly a canonical short form is refused with a
  message in Dutch (and English for the API) that names the field or character.

This module imports nothing from service/gateway/noodnet: both sides use it.
"""

from __future__ import annotations

import re
import string
import unicodedata
from dataclasses import dataclass, fields, replace
from typing import Any, Final

from stdnum.iso7064 import mod_97_10

from schemas.bodies import (
    HelpCategory,
    NspState,
    PowerSource,
    ResourceKind,
    Severity,
    SituationCategory,
)
from schemas.common import Urgency

MAX_CHARS: Final = 160  # one SMS of GSM-7; also well within one LoRa packet (200 bytes)
LORA_MAX_BYTES: Final = 200

# The check alphabet. Order fixes each character's value (10 + index); never reorder.
ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ .,-/:"
_VALUE: Final = {c: f"{10 + i:02d}" for i, c in enumerate(ALPHABET)}
FREE_TEXT_CHARS: Final = frozenset("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ .,-")
TRUNCATED: Final = ".."  # a cut text ends with this; canonical text never contains it
NO_TEXT: Final = "-"  # a required text with nothing left after canonicalisation (e.g. emoji)

SHORT_CODE_PATTERN: Final = r"^[A-Z][A-Z0-9]{1,5}$"
_ASCII_UPPER: Final = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)
_CHECK_SUFFIX = re.compile(r" \*([0-9]{2})$")

# --------------------------------------------------------------------------- vocabularies

KIND_CODES: Final = {
    "help_request": "HULP",
    "situation_report": "BEELD",
    "resource_request": "MIDDEL",
    "status": "STATUS",
}
HELP_CATEGORY_CODES: Final = {
    HelpCategory.MEDICAL: "MEDISCH",
    HelpCategory.FIRE: "BRAND",
    HelpCategory.CRIME: "MISDRIJF",
    HelpCategory.VULNERABLE_PERSON: "KWETSBAAR",
    HelpCategory.MISSING_PERSON: "VERMIST",
    HelpCategory.OTHER: "OVERIG",
}
SITUATION_CATEGORY_CODES: Final = {
    SituationCategory.INFRASTRUCTURE: "INFRA",
    SituationCategory.POWER: "STROOM",
    SituationCategory.WATER: "WATER",
    SituationCategory.HEALTH: "GEZONDHEID",
    SituationCategory.SAFETY: "VEILIGHEID",
    SituationCategory.FIRE: "BRAND",
    SituationCategory.PUBLIC_MOOD: "STEMMING",
    SituationCategory.RUMOUR: "GERUCHT",
    SituationCategory.INFORMATION_NEED: "INFOVRAAG",
    SituationCategory.OTHER: "OVERIG",
}
SEVERITY_CODES: Final = {
    Severity.LOW: "LAAG",
    Severity.MODERATE: "MATIG",
    Severity.HIGH: "HOOG",
    Severity.CRITICAL: "KRITIEK",
}
RESOURCE_CODES: Final = {
    ResourceKind.FUEL: "BRANDSTOF",
    ResourceKind.WATER: "WATER",
    ResourceKind.MEDICINE: "MEDICIJN",
    ResourceKind.FOOD: "VOEDSEL",
    ResourceKind.STAFF: "PERSONEEL",
    ResourceKind.EQUIPMENT: "MATERIEEL",
    ResourceKind.OTHER: "OVERIG",
}
STATE_CODES: Final = {NspState.OPEN: "OPEN", NspState.LIMITED: "BEPERKT", NspState.CLOSED: "DICHT"}
POWER_CODES: Final = {
    PowerSource.GRID: "NET",
    PowerSource.GENERATOR: "AGGREGAAT",
    PowerSource.BATTERY: "ACCU",
    PowerSource.SOLAR: "ZON",
    PowerSource.NONE: "GEEN",
}

# The Dutch spelling alphabet (Nederlands spellingsalfabet) as used on the radio.
SPELLING: Final = {
    "A": "Anton",
    "B": "Bernard",
    "C": "Cornelis",
    "D": "Dirk",
    "E": "Eduard",
    "F": "Ferdinand",
    "G": "Gerard",
    "H": "Hendrik",
    "I": "Izaak",
    "J": "Johan",
    "K": "Karel",
    "L": "Lodewijk",
    "M": "Maria",
    "N": "Nico",
    "O": "Otto",
    "P": "Pieter",
    "Q": "Quirinus",
    "R": "Rudolf",
    "S": "Simon",
    "T": "Teunis",
    "U": "Utrecht",
    "V": "Victor",
    "W": "Willem",
    "X": "Xantippe",
    "Y": "Ypsilon",
    "Z": "Zaandam",
    "0": "nul",
    "1": "één",
    "2": "twee",
    "3": "drie",
    "4": "vier",
    "5": "vijf",
    "6": "zes",
    "7": "zeven",
    "8": "acht",
    "9": "negen",
    "-": "streep",
    ".": "punt",
}

# --------------------------------------------------------------------------- errors


class ShortFormError(ValueError):
    """A short form that is refused: ``field`` names what is wrong, in Dutch and English."""

    def __init__(
        self, field: str, nl: str, en: str, position: int | None = None, code: str = "invalid"
    ) -> None:
        super().__init__(nl)
        self.field = field
        self.nl = nl
        self.en = en
        self.position = position
        self.code = code

    def message(self, language: str = "nl") -> str:
        return self.en if language.startswith("en") else self.nl


class ShortFormTooLong(ValueError):
    """The fixed fields alone do not fit (e.g. a very long unit); the report needs paper."""


# --------------------------------------------------------------------------- the report


@dataclass(frozen=True)
class ShortReport:
    """The fields a short form carries; everything else of the report stays at the NSP.

    Field use per kind: help_request (urgency, category, people, vulnerable, location, text);
    situation_report (severity, category, people = affected or None, optional location,
    text); resource_request (urgency, category = resource, quantity, unit, item, text =
    note, may be empty); status (state, power, hours, staff, volunteers, visitors, text =
    note, may be empty). ``text_truncated``/``address_truncated``: cut to fit (ends with '..').
    """

    short_code: str
    seq: int
    kind: str
    text: str = ""
    urgency: Urgency | None = None
    category: str | None = None
    severity: Severity | None = None
    people: int | None = None
    vulnerable: int | None = None
    address: str | None = None
    lat: float | None = None
    lon: float | None = None
    quantity: float | None = None
    unit: str | None = None
    item: str | None = None
    state: NspState | None = None
    power: PowerSource | None = None
    hours: float | None = None
    staff: int | None = None
    volunteers: int | None = None
    visitors: int | None = None

    @property
    def text_truncated(self) -> bool:
        return self.text.endswith(TRUNCATED)

    @property
    def address_truncated(self) -> bool:
        return self.address is not None and self.address.endswith(TRUNCATED)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


# --------------------------------------------------------------------------- canonical text

_TRANSLIT = {
    "ß": "SS",
    "Æ": "AE",
    "Œ": "OE",
    "Ø": "O",
    "Ł": "L",
    "Đ": "D",
    "€": " EUR ",
    "&": " EN ",
    "+": " PLUS ",
    "%": " PROCENT ",
    "@": " AT ",
    "#": " NR ",
    "/": "-",
    "\\": "-",
    "_": "-",
    "–": "-",
    "—": "-",
    ":": ".",
    ";": ".",
    "!": ".",
    "?": ".",
    "…": ".",
}


def canonical_text(raw: str) -> str:
    """Free text in the short-form alphabet: upper case, accents dropped, other characters
    mapped ('/' and ':' are separators, so they become '-' and '.') or turned into spaces;
    runs of spaces and of dots collapsed, no space before punctuation."""
    out: list[str] = []
    for ch in unicodedata.normalize("NFKC", raw).upper():
        if ch in FREE_TEXT_CHARS:
            out.append(ch)
            continue
        if ch in _TRANSLIT:
            out.append(_TRANSLIT[ch])
            continue
        base = "".join(
            c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c)
        ).upper()
        out.append(base if base and all(c in FREE_TEXT_CHARS for c in base) else " ")
    text = "".join(out)
    text = re.sub(r"\.{2,}", ".", text)
    text = re.sub(r"\s+", " ", text)
    text = re.sub(r" ([.,])", r"\1", text)
    text = re.sub(r"([.,-])(?:[.,-])+", r"\1", text)
    return text.strip(" ")


_NOT_CANONICAL = re.compile(r"  | [.,]|[.,-]{2}|^ | $|[^0-9A-Z .,-]")


def _is_canonical_text(text: str) -> bool:
    """Same as ``canonical_text(text) == text`` (a test checks this), but fast."""
    return _NOT_CANONICAL.search(text) is None


def _cut(text: str, room: int) -> str:
    """``text`` cut to at most ``room`` characters, marked with '..' when cut."""
    if len(text) <= room:
        return text
    if room < len(TRUNCATED) + 1:
        return ""
    head = text[: room - len(TRUNCATED)]
    space = head.rfind(" ")
    if space >= len(head) // 2:  # prefer a word boundary when it does not waste much
        head = head[:space]
    head = head.rstrip(" .,-")
    return head + TRUNCATED if head else ""


# --------------------------------------------------------------------------- numbers


def _fmt_int(n: int) -> str:
    return str(n)


def _fmt_dec(x: float) -> str:
    """Up to two decimals, no trailing zeros: 200, 2.5, 0.25."""
    s = f"{x:.2f}".rstrip("0").rstrip(".")
    return s


def _round_dec(x: float) -> float:
    r = round(x, 2)
    return r if r > 0 else 0.01


def _fmt_coord(lat: float, lon: float) -> str:
    return f"{lat + 0.0:.5f},{lon + 0.0:.5f}"


def _round_coord(x: float) -> float:
    return round(x, 5) + 0.0


# --------------------------------------------------------------------------- check code


_TO_DIGITS: Final = str.maketrans(_VALUE)


def _digits(body: str) -> str:
    """Each character as its two-digit value; a character outside the alphabet stays as it
    is (so the result is not all ASCII digits)."""
    return body.translate(_TO_DIGITS)


def check_digits(body: str) -> str:
    """ISO 7064 MOD 97-10 check digits over the two-digit value of every character."""
    return str(mod_97_10.calc_check_digits(_digits(body)))


def check_ok(body: str, check: str) -> bool:
    """``int(digits + check) mod 97 == 1``: ISO 7064 MOD 97-10 validation (the same as
    python-stdnum's ``mod_97_10.checksum(...) == 1`` on a digit string, without its
    per-character base-36 conversion, which would dominate bulk checking)."""
    return int(_digits(body) + check) % 97 == 1


# --------------------------------------------------------------------------- building


def to_short(
    kind: str,
    body: Any,
    short_code: str,
    seq: int,
    max_chars: int = MAX_CHARS,
) -> ShortReport:
    """The short report of an upward body (model or dict): canonical and cut to fit."""
    b = body.model_dump(mode="python") if hasattr(body, "model_dump") else dict(body)
    if kind not in KIND_CODES:
        raise ShortFormTooLong(f"no short form for kind {kind!r} (only reports: {_kinds()})")
    r = ShortReport(short_code=short_code, seq=seq, kind=kind)
    loc = b.get("location")
    if loc:
        addr = canonical_text(loc.get("address") or "") or None
        lat = _round_coord(loc["lat"]) if loc.get("lat") is not None else None
        lon = _round_coord(loc["lon"]) if loc.get("lon") is not None else None
        if addr is None and lat is None:
            # only a landmark description: use it as the address
            addr = canonical_text(loc.get("description") or "") or None
        r = replace(r, address=addr, lat=lat, lon=lon)
    if kind == "help_request":
        r = replace(
            r,
            urgency=Urgency(b["urgency"]),
            category=HelpCategory(b["category"]).value,
            people=int(b.get("people_involved", 1)),
            vulnerable=int(b.get("vulnerable_people", 0)),
            text=canonical_text(b["description"]) or NO_TEXT,
        )
        if r.address is None and r.lat is None:
            raise ShortFormTooLong("a help request needs a location")
    elif kind == "situation_report":
        affected = b.get("people_affected")
        r = replace(
            r,
            severity=Severity(b["severity"]),
            category=SituationCategory(b["category"]).value,
            people=int(affected) if affected is not None else None,
            text=canonical_text(b["description"]) or NO_TEXT,
        )
    elif kind == "resource_request":
        r = replace(
            r,
            urgency=Urgency(b.get("urgency") or "P3"),
            category=ResourceKind(b["resource"]).value,
            quantity=_round_dec(float(b["quantity"])),
            unit=canonical_text(b["unit"]) or "X",
            item=canonical_text(b["item"]) or "X",
            text=canonical_text(b.get("note") or ""),
        )
    else:  # status
        hours = b.get("power_hours_left")
        r = replace(
            r,
            state=NspState(b["state"]),
            power=PowerSource(b["power_source"]),
            hours=round(float(hours), 2) + 0.0 if hours is not None else None,
            staff=int(b.get("staff_present", 0)),
            volunteers=int(b.get("volunteers_present", 0)),
            visitors=int(b.get("visitors_last_hour", 0)),
            text=canonical_text(b.get("note") or ""),
        )
    return fit(r, max_chars)


def fit(r: ShortReport, max_chars: int = MAX_CHARS) -> ShortReport:
    """Cut the free texts so the short form fits ``max_chars``: the description first (down
    to 24 characters), then the address (to 30) and the item, then the description again;
    a cut text ends with '..'. Raises ShortFormTooLong when the fixed fields alone are
    too long."""

    def over(x: ShortReport) -> int:
        return len(_body(x)) + len(" *00") - max_chars

    steps = (("text", 24), ("address", 30), ("item", 24), ("text", 3), ("address", 3))
    for name, keep in steps:
        excess = over(r)
        if excess <= 0:
            return r
        value = getattr(r, name)
        if not value or len(value) <= keep:
            continue
        room = max(len(value) - excess, keep)
        changes: dict[str, Any] = {name: _cut(value, room) or value[:1] + TRUNCATED}
        r = replace(r, **changes)
    if over(r) > 0:
        raise ShortFormTooLong(
            f"the fixed fields need {len(encode(r, check_length=False))} characters, "
            f"more than {max_chars}"
        )
    return r


def _location(r: ShortReport) -> str:
    out = r.address or ""
    if r.lat is not None and r.lon is not None:
        out += ":" + _fmt_coord(r.lat, r.lon)
    return out


def _head(r: ShortReport) -> str:
    kind = KIND_CODES[r.kind]
    parts = [f"{r.short_code}-{r.seq}", kind]
    if r.kind == "help_request":
        assert r.urgency and r.category and r.people is not None and r.vulnerable is not None
        parts += [
            r.urgency.value,
            HELP_CATEGORY_CODES[HelpCategory(r.category)],
            f"{r.people}P",
            f"{r.vulnerable}K",
        ]
    elif r.kind == "situation_report":
        assert r.severity and r.category
        parts += [
            SEVERITY_CODES[r.severity],
            SITUATION_CATEGORY_CODES[SituationCategory(r.category)],
        ]
        if r.people is not None:
            parts.append(f"{r.people}P")
    elif r.kind == "resource_request":
        assert r.urgency and r.category and r.quantity is not None and r.unit
        parts += [
            r.urgency.value,
            RESOURCE_CODES[ResourceKind(r.category)],
            _fmt_dec(r.quantity),
            r.unit,
        ]
    else:
        assert r.state and r.power and r.staff is not None
        parts += [STATE_CODES[r.state], POWER_CODES[r.power]]
        if r.hours is not None:
            parts.append(f"{_fmt_dec(r.hours) if r.hours > 0 else '0'}U")
        parts += [f"{r.staff}M", f"{r.volunteers}V", f"{r.visitors}B"]
    return " ".join(parts)


def _body(r: ShortReport) -> str:
    head = _head(r)
    if r.kind in ("help_request", "situation_report"):
        return f"{head}/{_location(r)}/{r.text}"
    # The note of a resource request or status is optional: no note, no last '/'.
    note = f"/{r.text}" if r.text else ""
    if r.kind == "resource_request":
        return f"{head}/{r.item}{note}"
    return f"{head}{note}"


def encode(r: ShortReport, check_length: bool = True) -> str:
    """The canonical short form of ``r`` (body, space, '*', two check digits)."""
    if r.kind not in KIND_CODES:
        raise ValueError(f"no short form for kind {r.kind!r}")
    body = _body(r)
    bad = [c for c in body if c not in _VALUE]
    if bad:
        raise ValueError(f"characters outside the short-form alphabet: {sorted(set(bad))}")
    text = f"{body} *{check_digits(body)}"
    if check_length and len(text) > MAX_CHARS:
        raise ShortFormTooLong(f"{len(text)} characters, more than {MAX_CHARS}")
    return text


def encode_report(kind: str, body: Any, short_code: str, seq: int) -> str:
    return encode(to_short(kind, body, short_code, seq))


# --------------------------------------------------------------------------- decoding


def _err(field: str, nl: str, en: str, position: int | None = None, code: str = "invalid") -> None:
    raise ShortFormError(field, nl, en, position, code)


def _lookup(table: dict[Any, str], word: str, field: str, nl_name: str, en_name: str) -> Any:
    for value, code in table.items():
        if code == word:
            return value
    options = ", ".join(table.values())
    _err(
        field,
        f"{nl_name} '{word}' bestaat niet; kies uit: {options}",
        f"{en_name} '{word}' is unknown; one of: {options}",
    )


_INT = r"(?:0|[1-9][0-9]*)"
_DEC = r"(?:0\.(?:[0-9]?[1-9])|[1-9][0-9]*(?:\.[0-9]?[1-9])?)"
_HEAD = re.compile(r"^([A-Z][A-Z0-9]{1,5})-([1-9][0-9]{0,18}) ([A-Z]+)(?: (.*))?$")
_COORD = re.compile(r"^(-?[0-9]{1,2}\.[0-9]{5}),(-?[0-9]{1,3}\.[0-9]{5})$")


def _int(token: str, suffix: str, field: str, nl_name: str, en_name: str) -> int:
    m = re.fullmatch(rf"({_INT}){suffix}", token)
    if m is None:
        _err(
            field,
            f"{nl_name}: '{token}' is geen getal gevolgd door '{suffix}'",
            f"{en_name}: '{token}' is not a number followed by '{suffix}'",
        )
        raise AssertionError  # unreachable
    return int(m[1])


def _free(value: str, field: str, nl_name: str, en_name: str, required: bool) -> str:
    if required and not value:
        _err(field, f"{nl_name} ontbreekt", f"{en_name} is missing")
    core = value.removesuffix(TRUNCATED)
    if core != value and (not core or core[-1] in " .,-"):
        _err(field, f"{nl_name}: afkapteken '..' staat verkeerd", f"{en_name}: misplaced '..'")
    if not _is_canonical_text(core):
        _err(
            field,
            f"{nl_name} is niet in de vaste schrijfwijze (dubbele spatie of leesteken, "
            "of spatie aan begin of eind)",
            f"{en_name} is not in canonical form (double space or punctuation, or "
            "leading/trailing space)",
        )
    return value


def _parse_location(value: str, required: bool) -> tuple[str | None, float | None, float | None]:
    if not value:
        if required:
            _err("location", "locatie ontbreekt", "location is missing")
        return None, None, None
    address, sep, coords = value.partition(":")
    lat = lon = None
    if sep:
        m = _COORD.match(coords)
        if m is None:
            _err(
                "location",
                f"coördinaten '{coords}' zijn niet 'breedte,lengte' met 5 decimalen",
                f"coordinates '{coords}' are not 'lat,lon' with 5 decimals",
            )
            raise AssertionError
        lat, lon = float(m[1]) + 0.0, float(m[2]) + 0.0
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            _err("location", "coördinaten buiten bereik", "coordinates out of range")
        if _fmt_coord(lat, lon) != coords:
            _err("location", "coördinaten niet in vaste schrijfwijze", "coordinates not canonical")
    addr = _free(address, "location", "adres", "address", required=not sep) or None
    return addr, lat, lon


def decode(text: str) -> ShortReport:
    """Parse a short form strictly; raises ShortFormError (Dutch and English message)."""
    # Only ASCII a-z is taken as upper case: str.upper() would also turn e.g. 'ſ' into 'S'
    # or 'ﬀ' into 'FF' and so accept characters nobody should have typed.
    text = text.strip().translate(_ASCII_UPPER)
    if not text:
        _err("text", "leeg bericht", "empty message", code="empty")
    if len(text) > MAX_CHARS:
        _err(
            "text",
            f"te lang: {len(text)} tekens, hoogstens {MAX_CHARS}",
            f"too long: {len(text)} characters, at most {MAX_CHARS}",
            code="too_long",
        )
    m = _CHECK_SUFFIX.search(text)
    if m is None:
        _err(
            "check",
            "controlecode ontbreekt: het bericht moet eindigen op spatie, '*' en twee cijfers",
            "check code missing: the message must end with a space, '*' and two digits",
            code="check_missing",
        )
        raise AssertionError
    body, check = text[: m.start()], m[1]
    digits = _digits(body)
    for i, ch in enumerate(body if not (digits.isascii() and digits.isdigit()) else ""):
        if ch not in _VALUE:
            _err(
                "text",
                f"teken {i + 1} ('{ch}') hoort niet in een kort bericht",
                f"character {i + 1} ('{ch}') is not allowed in a short form",
                position=i,
                code="bad_character",
            )
    if int(digits + check) % 97 != 1:
        _err(
            "check",
            "controlecode klopt niet: een teken is verkeerd overgenomen of twee tekens zijn "
            "verwisseld",
            "check code does not match: a character was copied wrongly or two characters "
            "were swapped",
            code="check_failed",
        )
    return _parse_body(body)


def _parse_body(body: str) -> ShortReport:
    slots = body.split("/")
    m = _HEAD.match(slots[0])
    if m is None:
        _err(
            "head",
            "begin klopt niet: verwacht 'CODE-VOLGNUMMER SOORT ...', bijvoorbeeld 'OSC-17 HULP'",
            "start is wrong: expected 'CODE-SEQ KIND ...', e.g. 'OSC-17 HULP'",
        )
        raise AssertionError
    code, seq, kind_word, rest = m[1], int(m[2]), m[3], (m[4] or "")
    kind = _lookup(KIND_CODES, kind_word, "kind", "soort", "kind")
    tokens = rest.split(" ") if rest else []
    n_slots = 2 if kind == "status" else 3
    if kind in ("status", "resource_request") and len(slots) == n_slots - 1:
        slots.append("")  # no note
    if len(slots) != n_slots:
        _err(
            "text",
            f"een {kind_word}-bericht heeft {n_slots - 1} keer '/', niet {len(slots) - 1}",
            f"a {kind_word} message has {n_slots - 1} '/', not {len(slots) - 1}",
        )
    r = ShortReport(short_code=code, seq=seq, kind=kind)
    if kind == "help_request":
        if len(tokens) != 4:
            _err(
                "head",
                "hulpvraag: verwacht urgentie, categorie, personen en kwetsbaren, "
                "bijv. 'P1 MEDISCH 2P 1K'",
                "help request: expected urgency, category, people and vulnerable, "
                "e.g. 'P1 MEDISCH 2P 1K'",
            )
        urgency = _urgency(tokens[0])
        category = _lookup(HELP_CATEGORY_CODES, tokens[1], "category", "categorie", "category")
        people = _int(tokens[2], "P", "people", "personen", "people")
        vulnerable = _int(tokens[3], "K", "vulnerable", "kwetsbaren", "vulnerable")
        if people < 1 or vulnerable > people:
            _err(
                "people",
                "aantal personen moet minstens 1 zijn en kwetsbaren niet meer dan personen",
                "people must be at least 1 and vulnerable at most people",
            )
        addr, lat, lon = _parse_location(slots[1], required=True)
        r = replace(
            r,
            urgency=urgency,
            category=category.value,
            people=people,
            vulnerable=vulnerable,
            address=addr,
            lat=lat,
            lon=lon,
            text=_free(slots[2], "text", "omschrijving", "description", required=True),
        )
    elif kind == "situation_report":
        if len(tokens) not in (2, 3):
            _err(
                "head",
                "beeld: verwacht ernst, categorie en eventueel getroffenen, "
                "bijv. 'HOOG STROOM 40P'",
                "situation: expected severity, category and optionally people affected, "
                "e.g. 'HOOG STROOM 40P'",
            )
        severity = _lookup(SEVERITY_CODES, tokens[0], "severity", "ernst", "severity")
        category = _lookup(SITUATION_CATEGORY_CODES, tokens[1], "category", "categorie", "category")
        affected = (
            _int(tokens[2], "P", "people", "getroffenen", "people affected")
            if len(tokens) == 3
            else None
        )
        addr, lat, lon = _parse_location(slots[1], required=False)
        r = replace(
            r,
            severity=severity,
            category=category.value,
            people=affected,
            address=addr,
            lat=lat,
            lon=lon,
            text=_free(slots[2], "text", "omschrijving", "description", required=True),
        )
    elif kind == "resource_request":
        if len(tokens) < 4:
            _err(
                "head",
                "middel: verwacht urgentie, soort, hoeveelheid en eenheid, "
                "bijv. 'P2 BRANDSTOF 200 LITER'",
                "resource: expected urgency, kind, quantity and unit, "
                "e.g. 'P2 BRANDSTOF 200 LITER'",
            )
        urgency = _urgency(tokens[0])
        resource = _lookup(RESOURCE_CODES, tokens[1], "category", "soort middel", "resource")
        if not re.fullmatch(_DEC, tokens[2]):
            _err(
                "quantity",
                f"hoeveelheid '{tokens[2]}' is geen getal (hoogstens 2 decimalen, geen "
                "voorloopnullen)",
                f"quantity '{tokens[2]}' is not a number (at most 2 decimals, no leading zeros)",
            )
        unit = _free(" ".join(tokens[3:]), "unit", "eenheid", "unit", required=True)
        r = replace(
            r,
            urgency=urgency,
            category=resource.value,
            quantity=float(tokens[2]),
            unit=unit,
            item=_free(slots[1], "item", "wat", "item", required=True),
            text=_free(slots[2], "text", "toelichting", "note", required=False),
        )
    else:
        if len(tokens) not in (5, 6):
            _err(
                "head",
                "status: verwacht toestand, stroombron, eventueel uren stroom, medewerkers, "
                "vrijwilligers, bezoekers, bijv. 'OPEN AGGREGAAT 12U 2M 3V 40B'",
                "status: expected state, power source, optional hours of power, staff, "
                "volunteers, visitors, e.g. 'OPEN AGGREGAAT 12U 2M 3V 40B'",
            )
        state = _lookup(STATE_CODES, tokens[0], "state", "toestand", "state")
        power = _lookup(POWER_CODES, tokens[1], "power", "stroombron", "power source")
        hours = None
        if len(tokens) == 6:
            hm = re.fullmatch(rf"(0|{_DEC})U", tokens[2])
            if hm is None:
                _err(
                    "hours",
                    f"uren stroom '{tokens[2]}' is geen getal gevolgd door 'U'",
                    f"hours of power '{tokens[2]}' is not a number followed by 'U'",
                )
                raise AssertionError
            hours = float(hm[1]) + 0.0
        t = tokens[-3:]
        r = replace(
            r,
            state=state,
            power=power,
            hours=hours,
            staff=_int(t[0], "M", "staff", "medewerkers", "staff"),
            volunteers=_int(t[1], "V", "volunteers", "vrijwilligers", "volunteers"),
            visitors=_int(t[2], "B", "visitors", "bezoekers", "visitors"),
            text=_free(slots[1], "text", "toelichting", "note", required=False),
        )
    # The canonical form is unique: anything that parses but re-encodes differently (e.g.
    # '2.50' for '2.5') is refused rather than silently changed.
    if _body(r) != body:
        _err(
            "text",
            "bericht is niet in de vaste schrijfwijze",
            "message is not in canonical form",
        )
    return r


def _urgency(token: str) -> Urgency:
    try:
        return Urgency(token)
    except ValueError:
        _err(
            "urgency",
            f"urgentie '{token}' bestaat niet; kies uit P1, P2, P3, P4",
            f"urgency '{token}' is unknown; one of P1, P2, P3, P4",
        )
        raise AssertionError from None


def _kinds() -> str:
    return ", ".join(KIND_CODES)


# --------------------------------------------------------------------------- back to a body


def to_body(r: ShortReport) -> dict[str, Any]:
    """The upward body a decoded short form stands for (for the CP console form)."""
    location: dict[str, Any] | None = None
    if r.address is not None or r.lat is not None:
        location = {"address": r.address}
        if r.lat is not None:
            location.update(lat=r.lat, lon=r.lon)
        location = {k: v for k, v in location.items() if v is not None}
    if r.kind == "help_request":
        return {
            "category": r.category,
            "urgency": r.urgency,
            "location": location,
            "people_involved": r.people,
            "vulnerable_people": r.vulnerable,
            "description": r.text,
        }
    if r.kind == "situation_report":
        out: dict[str, Any] = {
            "category": r.category,
            "severity": r.severity,
            "description": r.text,
        }
        if location:
            out["location"] = location
        if r.people is not None:
            out["people_affected"] = r.people
        return out
    if r.kind == "resource_request":
        return {
            "resource": r.category,
            "item": r.item,
            "quantity": r.quantity,
            "unit": r.unit,
            "urgency": r.urgency,
            "note": r.text or None,
        }
    return {
        "state": r.state,
        "power_source": r.power,
        "power_hours_left": r.hours,
        "staff_present": r.staff,
        "volunteers_present": r.volunteers,
        "visitors_last_hour": r.visitors,
        "note": r.text or None,
    }


# --------------------------------------------------------------------------- read-out


def spell(code: str) -> str:
    """'OSC7' → 'Otto Simon Cornelis zeven' (Dutch spelling alphabet, digits as words)."""
    return " ".join(SPELLING.get(c, c) for c in code.upper() if c != " ")


def _say_number(n: float) -> str:
    return _fmt_dec(n) if isinstance(n, float) else str(n)


def readout(r: ShortReport) -> list[str]:
    """The short form as a radio operator speaks it: one line per item, in that order.

    The receiving operator types the fields into the CP form, which rebuilds the canonical
    short form and checks the two check digits (read out last).
    """
    text = encode(r)
    check = text[-2:]
    lines = [
        f"Melding van {spell(r.short_code)}",
        f"volgnummer {spell(str(r.seq))}",
        f"soort {KIND_CODES[r.kind]}",
    ]
    if r.urgency is not None:
        lines.append(f"urgentie {spell(r.urgency.value)}")
    if r.severity is not None:
        lines.append(f"ernst {SEVERITY_CODES[r.severity]}")
    if r.kind == "help_request":
        lines.append(f"categorie {HELP_CATEGORY_CODES[HelpCategory(r.category or '')]}")
        lines.append(f"{r.people} personen, waarvan {r.vulnerable} kwetsbaar")
    elif r.kind == "situation_report":
        lines.append(f"categorie {SITUATION_CATEGORY_CODES[SituationCategory(r.category or '')]}")
        if r.people is not None:
            lines.append(f"{r.people} getroffenen")
    elif r.kind == "resource_request":
        lines.append(f"middel {RESOURCE_CODES[ResourceKind(r.category or '')]}")
        lines.append(f"hoeveelheid {_say_number(r.quantity or 0)} {r.unit}")
        lines.append(f"wat: {r.item}")
    else:
        assert r.state is not None and r.power is not None
        lines.append(f"toestand {STATE_CODES[r.state]}, stroom {POWER_CODES[r.power]}")
        if r.hours is not None:
            lines.append(f"nog {_say_number(r.hours)} uur stroom")
        lines.append(f"{r.staff} medewerkers, {r.volunteers} vrijwilligers, {r.visitors} bezoekers")
    if r.kind in ("help_request", "situation_report"):
        if r.address:
            lines.append(f"adres {r.address}")
        if r.lat is not None and r.lon is not None:
            lines.append(
                f"coördinaten {spell(_fmt_coord(r.lat, r.lon).split(',')[0])} "
                f"komma {spell(_fmt_coord(r.lat, r.lon).split(',')[1])}"
            )
    if r.text:
        label = "tekst" if r.kind in ("help_request", "situation_report") else "toelichting"
        lines.append(f"{label}: {r.text}")
    lines.append(f"controle {spell(check)}")
    return lines


# --------------------------------------------------------------------------- down-going read-out

STATE_WORDS: Final = {
    "stored": "ONTVANGEN",
    "acknowledged": "BEVESTIGD, WORDT BEHANDELD",
    "dispatched": "HULP IS ONDERWEG",
    "in_progress": "HULP IS BEZIG",
    "resolved": "AFGEHANDELD",
    "closed": "GESLOTEN",
    "closed_duplicate": "GESLOTEN, AL GEMELD",
    "closed_not_needed": "GESLOTEN, NIET NODIG",
    "received_not_processed": "ONTVANGEN, WORDT NAGEKEKEN",
}
DISPATCHED_RESOURCE: Final = "WORDT GELEVERD"


def state_readout(
    short_code: str, seq: int, state: str, hhmm: str, note: str | None = None
) -> list[str]:
    """What the CP operator says over the radio for a state change of one report."""
    lines = [
        f"Aan {spell(short_code)}, hier CP",
        f"uw melding volgnummer {spell(str(seq))}",
        f"status {STATE_WORDS.get(state, state.upper())}",
        f"om {hhmm}",
    ]
    if note:
        lines.append(f"toelichting: {_cut(canonical_text(note), 80)}")
    lines.append("over")
    return lines


def bulletin_readout(
    bulletin_id: str, version: int, urgency: str, title: str, text: str, hhmm: str
) -> list[str]:
    """An urgent bulletin in words for the radio (title first, text cut to what one says).
    The code and version let NSP staff record "via portofoon ontvangen" for it."""
    return [
        "Aan alle NSP's, hier CP",
        f"bericht urgentie {spell(urgency)}, van {hhmm}",
        f"berichtcode {bulletin_id.upper()}, versie {version}",
        f"onderwerp: {canonical_text(title)}",
        f"tekst: {_cut(canonical_text(text), 240)}",
        "over",
    ]
