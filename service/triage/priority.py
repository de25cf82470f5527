"""A deterministic priority score per queue item, with its reasons as data and as one line.

    score = class base + category + people + corroboration + NSP power + handling + waiting

Every term is a ``Reason`` with its points, so the operator sees why an item is where it is.
The class bases are 1000 apart (P1 3000 … P4 0) and the other terms are bounded, so the class
decides first; waiting time keeps raising an item, so nothing starves, but a non-P1 item never
reaches the P1 band. ``now`` is an argument: the same inputs and the same ``now`` give the same
scores and the same order, always (ties: longer waiting first, then the lower item id).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from service.triage.settings import TriageSettings

CLASS_BASE = {"P1": 3000, "P2": 2000, "P3": 1000, "P4": 0}
NON_P1_CAP = 2999

CLASS_TEXT = {
    "P1": ("life-threatening", "levensbedreigend"),
    "P2": ("urgent", "urgent"),
    "P3": ("normal", "normaal"),
    "P4": ("information", "informatie"),
}

# (points, English, Dutch) per category of any kind.
CATEGORY: dict[str, tuple[int, str, str]] = {
    "medical": (100, "medical", "medisch"),
    "fire": (100, "fire", "brand"),
    "vulnerable_person": (80, "vulnerable person", "kwetsbare persoon"),
    "missing_person": (80, "missing person", "vermist persoon"),
    "crime": (60, "crime", "misdrijf"),
    "health": (70, "health", "gezondheid"),
    "safety": (60, "safety", "veiligheid"),
    "water": (50, "water", "water"),
    "power": (30, "power", "stroom"),
    "infrastructure": (40, "infrastructure", "infrastructuur"),
    "public_mood": (10, "public mood", "stemming"),
    "rumour": (20, "rumour", "gerucht"),
    "information_need": (10, "information need", "informatiebehoefte"),
    "fuel": (60, "fuel", "brandstof"),
    "medicine": (80, "medicine", "medicijnen"),
    "food": (30, "food", "voedsel"),
    "staff": (20, "staff", "personeel"),
    "equipment": (20, "equipment", "materieel"),
    "other": (0, "other", "overig"),
}

HANDLING_POINTS = {
    "new": (0, "", ""),
    "acknowledged": (0, "", ""),
    # Someone is on it: still open work, but below what nobody has picked up yet.
    "dispatched": (-400, "help dispatched", "hulp onderweg"),
    "in_progress": (-400, "in progress", "in behandeling"),
}


@dataclass(frozen=True)
class Reason:
    code: str
    points: float
    text: str
    text_nl: str


@dataclass(frozen=True)
class Priority:
    score: float
    reasons: tuple[Reason, ...]

    @property
    def line(self) -> str:
        return " · ".join(r.text for r in self.reasons if r.text)

    @property
    def line_nl(self) -> str:
        return " · ".join(r.text_nl for r in self.reasons if r.text_nl)


@dataclass(frozen=True)
class NspPower:
    power_source: str | None
    hours_left: float | None


def _minutes(delta_seconds: float) -> str:
    minutes = max(0, int(delta_seconds // 60))
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


def score_item(
    item: Any,
    now: datetime,
    settings: TriageSettings,
    power: Mapping[str, NspPower] | None = None,
) -> Priority:
    """Score one item (a ``TriageItem`` or any object with the same attributes)."""
    reasons: list[Reason] = []
    cls = item.top_class if item.top_class in CLASS_BASE else "P3"
    cat_points, cat_en, cat_nl = CATEGORY.get(item.category, (0, item.category, item.category))
    level_en, level_nl = CLASS_TEXT[cls]
    if item.life_threatening:
        level_en, level_nl = "life-threatening", "levensbedreigend"
    reasons.append(
        Reason(
            "class", CLASS_BASE[cls], f"{cls} {cat_en}, {level_en}", f"{cls} {cat_nl}, {level_nl}"
        )
    )
    if cat_points:
        reasons.append(Reason("category", cat_points, "", ""))

    people = int(item.people_involved or 0)
    vulnerable = int(item.vulnerable_people or 0)
    if people > 1 or vulnerable:
        pts = min(100, 10 * max(0, people - 1)) + min(125, 25 * vulnerable)
        en = f"{people} {'person' if people == 1 else 'people'}" + (
            f", {vulnerable} vulnerable" if vulnerable else ""
        )
        nl = f"{people} {'persoon' if people == 1 else 'personen'}" + (
            f", {vulnerable} kwetsbaar" if vulnerable else ""
        )
        reasons.append(Reason("people", pts, en, nl))

    reports = int(item.report_count or 0)
    nsps = len(item.nsp_ids or [])
    if item.item_type == "incident" and reports > 0:
        pts = min(100, 20 * max(0, reports - 1)) + min(90, 30 * max(0, nsps - 1))
        plural = nsps != 1
        en = f"{reports} report{'s' if reports != 1 else ''} from {nsps} NSP{'s' if plural else ''}"
        nl_nsps = f"{nsps} NSP's" if plural else f"{nsps} NSP"
        nl = f"{reports} melding{'en' if reports != 1 else ''} van {nl_nsps}"
        reasons.append(Reason("corroboration", pts, en, nl))

    if item.item_type == "resource_request" and power:
        for nsp_id in item.nsp_ids or []:
            p = power.get(nsp_id)
            if (
                p is not None
                and p.power_source in ("generator", "battery")
                and p.hours_left is not None
                and p.hours_left < settings.fuel_hours_threshold
            ):
                pts = 1000 if item.category == "fuel" else 200
                src_nl = "aggregaat" if p.power_source == "generator" else "accu"
                reasons.append(
                    Reason(
                        "nsp_power",
                        pts,
                        f"NSP on {p.power_source}, {p.hours_left:g} h of power left",
                        f"NSP op {src_nl}, nog {p.hours_left:g} uur stroom",
                    )
                )
                break

    h_points, h_en, h_nl = HANDLING_POINTS.get(item.state, (0, "", ""))
    if h_points or h_en:
        reasons.append(Reason("handling", h_points, h_en, h_nl))

    if item.duplicate_status == "pending" and item.possible_duplicate_of is not None:
        reasons.append(
            Reason(
                "possible_duplicate",
                0,
                f"possible duplicate of #{item.possible_duplicate_of}, operator decides",
                f"mogelijk dubbel met #{item.possible_duplicate_of}, operator beslist",
            )
        )

    waited = (now - item.first_seen).total_seconds()
    aging = round(max(0.0, waited) / 3600 * settings.aging_points_per_hour, 2)
    reasons.append(
        Reason("waiting", aging, f"waiting {_minutes(waited)}", f"wacht {_minutes(waited)}")
    )

    score = sum(r.points for r in reasons)
    if cls != "P1" and not item.life_threatening and score > NON_P1_CAP:
        reasons.append(Reason("cap", NON_P1_CAP - score, "kept below P1", "onder P1 gehouden"))
        score = NON_P1_CAP
    return Priority(round(score, 2), tuple(reasons))


def order(
    items: Sequence[Any],
    now: datetime,
    settings: TriageSettings,
    power: Mapping[str, NspPower] | None = None,
) -> list[tuple[Any, Priority]]:
    """Items with their priority, highest first; a total order, so it never varies."""
    scored = [(item, score_item(item, now, settings, power)) for item in items]
    scored.sort(key=lambda ip: (-ip[1].score, ip[0].first_seen, ip[0].id))
    return scored
