"""The short form (schemas/shortform.py): canonical round trip, strict decoding, check code.

Coverage, honestly: ``N_REPORTS`` reports from a seeded generator plus ``HYPOTHESIS_REPORTS``
from hypothesis (which shrinks a failure), all four kinds, random free text with accents,
separators, symbols and newlines, counts, coordinates, codes and sequence numbers.

* Every report: the decode of the untouched short form equals the report.
* Adjacent transpositions: all of them for the first ``FULL_REPORTS`` reports of each
  generator; for the others those at both ends (code, separator, '*', both check digits)
  and ``SWAPS`` sampled positions.
* Single substitutions by each of the 42 alphabet characters, '*' and a lower-case letter:
  at every position for the first ``FULL_REPORTS`` reports; for the others at the first
  character, both check digits and ``SUBST_POSITIONS`` sampled positions.
* ``test_check_algebra_exhaustive`` covers the rest by proof: for every pair of character
  values and every position weight of the MOD 97-10 sum (any length), a substitution or an
  adjacent swap changes the sum.
"""

from __future__ import annotations

import random
import string
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from stdnum.iso7064 import mod_97_10

from schemas import shortform as sf
from schemas.bodies import (
    HelpCategory,
    NspState,
    PowerSource,
    ResourceKind,
    Severity,
    SituationCategory,
)

N_REPORTS = 2000  # plain seeded generator
HYPOTHESIS_REPORTS = 300  # hypothesis (shrinks a failure to a minimal report)
FULL_REPORTS = 10
SUBST_POSITIONS = 2
SWAPS = 16
SUBSTITUTES = sf.ALPHABET + "*a"

# What staff type: Dutch letters with accents and ligatures, digits, punctuation including
# the separators '/' and ':' and the '*', spaces and newlines, a few symbols and emoji.
_TYPED = (
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    "éëèêïöüçñßĳĲ€&+%@#()[]!?;:/\\_*'\"…–—.,- \n\t😀°²½"
)
_free_text = st.text(alphabet=st.sampled_from(_TYPED), min_size=1, max_size=200).filter(
    lambda t: sf.canonical_text(t) != ""
)
_short_code = st.builds(
    str.__add__,
    st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=1, max_size=5),
)
_seq = st.integers(min_value=1, max_value=10**9)
_coord = st.tuples(
    st.floats(min_value=-90, max_value=90, allow_nan=False),
    st.floats(min_value=-180, max_value=180, allow_nan=False),
)


@st.composite
def _location(draw: st.DrawFn, required: bool) -> dict[str, object] | None:
    choice = draw(st.sampled_from(["address", "coords", "both"] + ([] if required else ["none"])))
    if choice == "none":
        return None
    loc: dict[str, object] = {}
    if choice in ("address", "both"):
        loc["address"] = draw(_free_text.map(lambda t: t[:300]))
    if choice in ("coords", "both"):
        loc["lat"], loc["lon"] = draw(_coord)
    return loc


@st.composite
def reports(draw: st.DrawFn) -> sf.ShortReport:
    kind = draw(st.sampled_from(list(sf.KIND_CODES)))
    body: dict[str, object]
    if kind == "help_request":
        people = draw(st.integers(1, 10_000))
        body = {
            "category": draw(st.sampled_from(list(HelpCategory))).value,
            "urgency": draw(st.sampled_from(["P1", "P2", "P3", "P4"])),
            "location": draw(_location(required=True)),
            "people_involved": people,
            "vulnerable_people": draw(st.integers(0, people)),
            "description": draw(_free_text),
        }
    elif kind == "situation_report":
        body = {
            "category": draw(st.sampled_from(list(SituationCategory))).value,
            "severity": draw(st.sampled_from(list(Severity))).value,
            "location": draw(_location(required=False)),
            "people_affected": draw(st.none() | st.integers(0, 10_000_000)),
            "description": draw(_free_text),
        }
    elif kind == "resource_request":
        body = {
            "resource": draw(st.sampled_from(list(ResourceKind))).value,
            "item": draw(_free_text.map(lambda t: t[:200])),
            "quantity": draw(st.floats(min_value=0.001, max_value=1_000_000)),
            "unit": draw(_free_text.map(lambda t: t[:30])),
            "urgency": draw(st.sampled_from(["P1", "P2", "P3", "P4"])),
            "note": draw(st.none() | _free_text),
        }
    else:
        body = {
            "state": draw(st.sampled_from(list(NspState))).value,
            "power_source": draw(st.sampled_from(list(PowerSource))).value,
            "power_hours_left": draw(st.none() | st.floats(min_value=0, max_value=10_000)),
            "staff_present": draw(st.integers(0, 10_000)),
            "volunteers_present": draw(st.integers(0, 10_000)),
            "visitors_last_hour": draw(st.integers(0, 1_000_000)),
            "note": draw(st.none() | _free_text),
        }
    return sf.to_short(kind, body, draw(_short_code), draw(_seq))


def _refused(text: str) -> sf.ShortFormError:
    try:
        sf.decode(text)
    except sf.ShortFormError as exc:
        return exc
    raise AssertionError(f"accepted a corrupted short form: {text!r}")


_stats = {"reports": 0, "substitutions": 0, "transpositions": 0}


def _mutations_refused(text: str, full: bool, rng: random.Random) -> None:
    n = len(text)
    # adjacent transpositions: all for the first reports, else the ends (code, check
    # digits, separator) and a sample
    swaps = (
        range(n - 1)
        if full
        else sorted(
            {0, 1, n - 5, n - 4, n - 3, n - 2, *rng.sample(range(n - 1), min(SWAPS, n - 1))}
        )
    )
    for i in swaps:
        if text[i] != text[i + 1]:
            _refused(text[:i] + text[i + 1] + text[i] + text[i + 2 :])
            _stats["transpositions"] += 1
    positions = (
        range(n)
        if full
        else sorted({0, n - 1, n - 2, *rng.sample(range(n), min(SUBST_POSITIONS, n))})
    )
    for i in positions:
        for c in SUBSTITUTES:
            if c.upper() != text[i]:
                _refused(text[:i] + c + text[i + 1 :])
                _stats["substitutions"] += 1


def _check_report(r: sf.ShortReport, full: bool) -> None:
    text = sf.encode(r)
    assert len(text) <= sf.MAX_CHARS
    assert len(text.encode("ascii")) <= sf.LORA_MAX_BYTES
    assert sf.decode(text) == r
    assert sf.decode(text.lower()) == r  # a typed lower-case copy is the same text
    _stats["reports"] += 1
    _mutations_refused(text, full=full, rng=random.Random(text))


@settings(
    max_examples=HYPOTHESIS_REPORTS,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(r=reports())
def test_round_trip_and_every_single_error_refused(r: sf.ShortReport) -> None:
    _check_report(r, full=_stats["reports"] < FULL_REPORTS)


def _random_text(rng: random.Random, max_size: int) -> str:
    while True:
        text = "".join(rng.choice(_TYPED) for _ in range(rng.randint(1, max_size)))
        if sf.canonical_text(text):
            return text


def _random_location(rng: random.Random, required: bool) -> dict[str, object] | None:
    choice = rng.choice(["address", "coords", "both"] + ([] if required else ["none"]))
    if choice == "none":
        return None
    loc: dict[str, object] = {}
    if choice != "coords":
        loc["address"] = _random_text(rng, 80)
    if choice != "address":
        loc["lat"], loc["lon"] = rng.uniform(-90, 90), rng.uniform(-180, 180)
    return loc


def _random_report(rng: random.Random) -> sf.ShortReport:
    """The same space as ``reports()`` without hypothesis' per-draw cost, for volume."""
    kind = rng.choice(list(sf.KIND_CODES))
    note = _random_text(rng, 200) if rng.random() < 0.7 else None
    body: dict[str, object]
    if kind == "help_request":
        people = rng.choice([1, 1, 2, 3, rng.randint(1, 10_000)])
        body = {
            "category": rng.choice(list(HelpCategory)).value,
            "urgency": rng.choice(["P1", "P2", "P3", "P4"]),
            "location": _random_location(rng, required=True),
            "people_involved": people,
            "vulnerable_people": rng.randint(0, people),
            "description": _random_text(rng, 300),
        }
    elif kind == "situation_report":
        body = {
            "category": rng.choice(list(SituationCategory)).value,
            "severity": rng.choice(list(Severity)).value,
            "location": _random_location(rng, required=False),
            "people_affected": rng.choice([None, rng.randint(0, 10_000_000)]),
            "description": _random_text(rng, 300),
        }
    elif kind == "resource_request":
        body = {
            "resource": rng.choice(list(ResourceKind)).value,
            "item": _random_text(rng, 200),
            "quantity": rng.choice([1, 200, 2.5, rng.uniform(0.001, 1_000_000)]),
            "unit": _random_text(rng, 30),
            "urgency": rng.choice(["P1", "P2", "P3", "P4"]),
            "note": note,
        }
    else:
        body = {
            "state": rng.choice(list(NspState)).value,
            "power_source": rng.choice(list(PowerSource)).value,
            "power_hours_left": rng.choice([None, 0, 12, rng.uniform(0, 10_000)]),
            "staff_present": rng.randint(0, 10_000),
            "volunteers_present": rng.randint(0, 50),
            "visitors_last_hour": rng.randint(0, 1_000_000),
            "note": note,
        }
    code = rng.choice(string.ascii_uppercase) + "".join(
        rng.choice(string.ascii_uppercase + string.digits) for _ in range(rng.randint(1, 5))
    )
    return sf.to_short(kind, body, code, rng.choice([1, 2, 17, rng.randint(1, 10**12)]))


def test_thousands_of_generated_reports() -> None:
    rng = random.Random(20261202)
    for i in range(N_REPORTS):
        _check_report(_random_report(rng), full=i < FULL_REPORTS)


def test_property_run_covered_enough() -> None:
    """The enumeration really covered what it claims (after the tests above in file order;
    run alone, it runs the seeded enumeration itself and counts only that)."""
    total = N_REPORTS + HYPOTHESIS_REPORTS
    if _stats["reports"] == 0:
        test_thousands_of_generated_reports()
        total = N_REPORTS
    assert _stats["reports"] >= total * 0.9
    assert _stats["transpositions"] > total * 15
    assert _stats["substitutions"] > total * 5 * 40


def test_check_algebra_exhaustive() -> None:
    """For every pair of alphabet values and every position weight (10^k mod 97 repeats with
    period 96, so 96 positions cover every length), a substitution or an adjacent swap
    changes the MOD 97 sum: no single error of these two kinds can pass, at any length."""
    values = [int(v) for v in sf._VALUE.values()]
    weights = {pow(100, k, 97) for k in range(96)} | {pow(10, k, 97) for k in range(96)}
    for a in values:
        for b in values:
            if a == b:
                continue
            for w in weights:
                assert (a - b) * w % 97 != 0  # substitution of a character
                assert (a * 100 + b - (b * 100 + a)) * w % 97 != 0  # adjacent swap
    # the check digits themselves are decimal digits of the same number
    for a in range(10):
        for b in range(10):
            if a != b:
                for w in weights:
                    assert (a - b) * w % 97 != 0
                    assert (a * 10 + b - (b * 10 + a)) * w % 97 != 0


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(alphabet=st.sampled_from(sf.ALPHABET + "*\u00e9a_"), max_size=12)
    | st.text(max_size=12)
)
def test_fast_canonical_check_agrees_with_canonical_text(text: str) -> None:
    assert sf._is_canonical_text(text) == (sf.canonical_text(text) == text)


@settings(max_examples=300, deadline=None)
@given(body=st.text(alphabet=st.sampled_from(sf.ALPHABET), min_size=1, max_size=160))
def test_check_is_python_stdnum_mod_97_10(body: str) -> None:
    check = sf.check_digits(body)
    digits = sf._digits(body)
    assert mod_97_10.is_valid(digits + check)
    assert sf.check_ok(body, check)


def test_example_and_messages_in_dutch() -> None:
    r = sf.to_short(
        "help_request",
        {
            "category": "medical",
            "urgency": "P1",
            "location": {"address": "Kerkstraat 12, Oss", "lat": 51.7642, "lon": 5.5201},
            "people_involved": 2,
            "vulnerable_people": 1,
            "description": "Meneer (82) aan zuurstof: accu bijna leeg!",
        },
        "OSC",
        17,
    )
    text = sf.encode(r)
    assert text.startswith("OSC-17 HULP P1 MEDISCH 2P 1K/KERKSTRAAT 12, OSS:51.76420,5.52010/")
    assert "MENEER 82 AAN ZUURSTOF. ACCU BIJNA LEEG." in text
    i = text.index("ZUURSTOF")
    wrong = text[:i] + "ZUURSTFO" + text[i + 8 :]
    err = _refused(wrong)
    assert err.code == "check_failed"
    assert str(err) == (
        "controlecode klopt niet: een teken is verkeerd overgenomen of twee tekens zijn verwisseld"
    )
    assert "swapped" in err.en
    assert _refused(text[:-4]).code == "check_missing"
    # only ASCII letters are upper-cased: 'ſ'.upper() == 'S' must not sneak in
    assert _refused(text.replace("S", "ſ", 1)).code == "bad_character"
    err = _refused("OSC-17 HULP P1 MEDISCH 2P 1K/X/Y_Z *00")
    assert err.code == "bad_character" and err.position == 32 and "teken 33" in err.nl
    # a well-checked text with a wrong field still names the field
    body = "OSC-17 HULP P9 MEDISCH 2P 1K/X/Y"
    err = _refused(f"{body} *{sf.check_digits(body)}")
    assert err.field == "urgency" and "P1, P2, P3, P4" in err.nl
    body = "OSC-17 HULP P1 MEDISCH 1P 2K/X/Y"
    err = _refused(f"{body} *{sf.check_digits(body)}")
    assert err.field == "people"
    body = "OSC-17 MIDDEL P2 BRANDSTOF 2.50 LITER/DIESEL"
    err = _refused(f"{body} *{sf.check_digits(body)}")
    assert err.field == "quantity"


def test_long_report_is_cut_and_marked() -> None:
    r = sf.to_short(
        "situation_report",
        {
            "category": "power",
            "severity": "high",
            "location": {"address": "Lange Straatnaam " * 20},
            "description": "woord " * 200,
        },
        "AB",
        1,
    )
    text = sf.encode(r)
    assert len(text) <= sf.MAX_CHARS
    assert r.text_truncated and r.address_truncated
    assert sf.decode(text) == r
    assert sf.to_body(sf.decode(text))["description"] == r.text


def test_text_with_nothing_left_still_gives_a_short_form() -> None:
    r = sf.to_short(
        "situation_report",
        {"category": "rumour", "severity": "low", "description": "😀😀"},
        "AB",
        3,
    )
    assert (
        sf.encode(r)
        == f"AB-3 BEELD LAAG GERUCHT//- *{sf.check_digits('AB-3 BEELD LAAG GERUCHT//-')}"
    )
    assert sf.decode(sf.encode(r)) == r


def test_readout_spells_codes_with_the_dutch_alphabet() -> None:
    r = sf.to_short(
        "resource_request",
        {"resource": "fuel", "item": "diesel", "quantity": 200, "unit": "liter", "urgency": "P2"},
        "OSY",
        7,
    )
    lines = sf.readout(r)
    assert lines[0] == "Melding van Otto Simon Ypsilon"
    assert lines[1] == "volgnummer zeven"
    assert lines[-1].startswith("controle ")
    check = sf.encode(r)[-2:]
    assert lines[-1] == "controle " + sf.spell(check)
    assert sf.spell("Q1") == "Quirinus één"


def test_decode_is_fast_enough_for_bulk_use() -> None:
    r = sf.to_short(
        "help_request",
        {
            "category": "fire",
            "urgency": "P1",
            "location": {"address": "x"},
            "description": "y" * 300,
        },
        "AB",
        1,
    )
    text = sf.encode(r)
    start = time.perf_counter()
    for _ in range(1000):
        sf.decode(text)
    assert time.perf_counter() - start < 2
