"""Grouping skips locating candidates that cannot match (``GroupingHook._best_per_item``):
it must choose exactly what locating and deciding every candidate chooses.

The skips are exact rules derived from ``decide`` (text floors, the best score a location can
give), not heuristics; a change to ``decide``, ``location_score`` or the thresholds that
breaks one of them shows here as a different match, on random reports and random settings.
"""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from service.triage.grouping import (
    Features,
    GroupingHook,
    Match,
    decide,
    family_of,
    location_score,
    place_may_match,
)
from service.triage.normalise import text_similarities
from service.triage.settings import TriageSettings

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)

TEXTS = [
    "water spuit uit grond leiding kapot",
    "leiding kapot water op straat",
    "brand in schuur achter woning",
    "rook uit schuur mogelijk aggregaat brand",
    "oudere man pijn op borst",
    "man met pijn op de borst kortademig",
    "gerucht kraanwater niet drinkbaar",
    "kraanwater niet meer drinkbaar gerucht",
    "wanneer komt stroom terug",
    "",
]
KINDS = [
    ("situation_report", "water"),
    ("situation_report", "infrastructure"),
    ("situation_report", "fire"),
    ("situation_report", "rumour"),
    ("situation_report", "information_need"),
    ("situation_report", "public_mood"),
    ("situation_report", "other"),
    ("help_request", "fire"),
    ("help_request", "medical"),
    ("help_request", "other"),
]


@st.composite
def texts(draw: Any) -> str:
    """One of a few texts, some words left out: text scores spread finely, so two members of
    an item often score close to each other."""
    words = draw(st.sampled_from(TEXTS)).split()
    kept = draw(st.lists(st.booleans(), min_size=len(words), max_size=len(words)))
    return " ".join(w for w, k in zip(words, kept, strict=True) if k or len(words) < 3)


@st.composite
def reports(draw: Any, item_id: int | None) -> Features:
    kind, category = draw(st.sampled_from(KINDS))
    # Few streets, numbers, towns and spots, so that candidates often share an address or a
    # spot, or differ in only one of them: where the skips decide.
    street = draw(st.sampled_from([None, "kerkstraat", "kerkstraat", "kerkstaat"]))
    number = draw(st.one_of(st.none(), st.integers(1, 4), st.integers(1, 12))) if street else None
    located = draw(st.booleans())
    lat = 51.765 + draw(st.integers(0, 12)) * 0.0002 if located else None
    lon = 5.518 + draw(st.integers(0, 12)) * 0.0002 if located else None
    estimated = not located and street is not None and draw(st.booleans())
    place = draw(st.sampled_from([None, "pl:station", "~at:nsp-1", "~oss"]))
    f = Features(
        message_id=f"m{draw(st.integers(0, 10**9))}",
        kind=kind,
        family=family_of(kind, category),
        category=category,
        cls="P2",
        life_threatening=False,
        nsp_id="nsp-1",
        received_at=T0 + timedelta(minutes=draw(st.integers(0, 30))),
        lat=lat,
        lon=lon,
        cell=None,
        bucket=street,
        street=street,
        number=number,
        town=draw(st.sampled_from([None, "oss", "oss", "~oss", "~lith"])) if street else None,
        place=place,
        address=None,
        text_norm=draw(texts()),
        description="",
        people=1,
        vulnerable=0,
        item_id=item_id,
        est_lat=51.766 if estimated else None,
        est_lon=5.519 if estimated else None,
        unit=draw(st.sampled_from([None, None, "a", "b"])) if number is not None else None,
    )
    return f


@st.composite
def triage_settings(draw: Any) -> TriageSettings:
    score = st.floats(0.0, 1.0, allow_nan=False).map(lambda x: round(x, 2))
    return TriageSettings(
        min_text_score=draw(score),
        min_text_score_same_address=draw(score),
        unknown_location_text_score=draw(score),
        min_location_score=draw(score),
        location_weight=draw(score),
        match_threshold=draw(score),
    )


def every_candidate_decided(
    hook: GroupingHook, r: Features, running: list[tuple[int, Features]]
) -> dict[int, tuple[Match, str]]:
    """The reference: every candidate located and decided, the best per item (first on a
    tie)."""
    cfg = hook.settings
    texts = text_similarities(r.text_norm, [c.text_norm for _, c in running])
    per_item: dict[int, tuple[Match, str]] = {}
    for (item_id, c), text in zip(running, texts, strict=True):
        loc = location_score(r, c, cfg, hook.gazetteer)
        if not place_may_match(r, c, loc, cfg):
            continue
        m = decide(r, c, loc, text, cfg)
        if m is not None and (item_id not in per_item or m.score > per_item[item_id][0].score):
            per_item[item_id] = (m, c.message_id)
    return per_item


@st.composite
def like(draw: Any, base: Features, item_id: int | None) -> Features:
    """A report like ``base``, a few things redrawn: the dense near-duplicates of a backlog,
    where an item's members compete and the skips matter most."""
    other = draw(reports(item_id))
    keep = draw(st.lists(st.booleans(), min_size=6, max_size=6))
    return dataclasses.replace(
        base,
        message_id=other.message_id,
        item_id=item_id,
        received_at=other.received_at,
        kind=base.kind if keep[0] else other.kind,
        family=base.family if keep[0] else other.family,
        category=base.category if keep[0] else other.category,
        number=base.number if keep[1] or base.street is None else other.number,
        lat=base.lat if keep[2] else other.lat,
        lon=base.lon if keep[2] else other.lon,
        text_norm=base.text_norm if keep[3] else other.text_norm,
        town=base.town if keep[4] or base.street is None else other.town,
        unit=base.unit if keep[5] or base.number is None else other.unit,
    )


@st.composite
def cases(draw: Any) -> tuple[Features, list[Features]]:
    base = draw(reports(None))
    r = draw(st.one_of(st.just(base), like(base, None), reports(None)))
    pool = draw(
        st.lists(
            st.integers(1, 4).flatmap(
                lambda item: st.one_of(like(base, item), like(base, item), reports(item))
            ),
            min_size=1,
            max_size=30,
        )
    )
    return r, pool


@settings(max_examples=1500, deadline=None)
@given(cfg=st.one_of(st.just(TriageSettings()), triage_settings()), case=cases())
def test_skipping_candidates_changes_no_match(
    cfg: TriageSettings, case: tuple[Features, list[Features]]
) -> None:
    r, pool = case
    hook = GroupingHook("cp-test", cfg)
    running, _ = hook._running(r, pool)
    assert hook._best_per_item(r, running) == every_candidate_decided(hook, r, running)


def at_kerkstraat_5(message_id: str, text: str, item_id: int | None) -> Features:
    return Features(
        message_id=message_id,
        kind="situation_report",
        family="fire",
        category="fire",
        cls="P2",
        life_threatening=False,
        nsp_id="nsp-1",
        received_at=T0,
        lat=None,
        lon=None,
        cell=None,
        bucket="kerkstraat",
        street="kerkstraat",
        number=5,
        town="oss",
        place=None,
        address=None,
        text_norm=text,
        description="",
        people=1,
        vulnerable=0,
        item_id=item_id,
    )


def test_a_better_member_later_in_the_pool_still_wins() -> None:
    # Both members at r's address, texts close: the second is skipped only if the best
    # score a location can give is misjudged (the random cases above rarely come this close).
    r = at_kerkstraat_5("r", "brand in schuur achter woning", None)
    first = at_kerkstraat_5("first", "brand in schuur", 1)
    second = at_kerkstraat_5("second", "brand in schuur achter", 1)
    hook = GroupingHook("cp-test", TriageSettings())
    running, _ = hook._running(r, [first, second])
    per_item = hook._best_per_item(r, running)
    assert per_item == every_candidate_decided(hook, r, running)
    assert per_item[1][1] == "second"


def test_reports_without_comparable_places_keep_their_own_text_floor() -> None:
    # Neither names a street or a spot: only unknown_location_text_score applies, here the
    # lowest floor, so the candidate must not be skipped by the others.
    cfg = TriageSettings(
        min_text_score=0.95, min_text_score_same_address=0.95, unknown_location_text_score=0.5
    )

    def somewhere(message_id: str, text: str, item_id: int | None) -> Features:
        f = at_kerkstraat_5(message_id, text, item_id)
        f.bucket = f.street = f.town = None
        f.number = None
        f.place = "~oss"
        return f

    r = somewhere("r", "brand in schuur achter woning", None)
    c = somewhere("c", "brand in schuur", 1)
    hook = GroupingHook("cp-test", cfg)
    running, _ = hook._running(r, [c])
    per_item = hook._best_per_item(r, running)
    assert per_item == every_candidate_decided(hook, r, running)
    assert per_item[1][1] == "c"
