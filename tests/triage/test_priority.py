"""The priority score: deterministic given "now", explainable, and aging without starvation."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from service.triage.priority import NspPower, order, score_item
from service.triage.settings import TriageSettings

NOW = datetime(2026, 11, 23, 18, 0, tzinfo=UTC)


@dataclass
class Item:
    id: int
    first_seen: datetime
    top_class: str = "P3"
    category: str = "water"
    item_type: str = "incident"
    life_threatening: bool = False
    people_involved: int = 1
    vulnerable_people: int = 0
    report_count: int = 1
    nsp_ids: list[str] = field(default_factory=lambda: ["nsp-a"])
    state: str = "new"
    possible_duplicate_of: int | None = None
    duplicate_status: str | None = None


def test_aging_lifts_an_old_low_item_above_a_fresh_one_of_the_same_class() -> None:
    settings = TriageSettings(aging_points_per_hour=250)
    fresh = Item(
        2,
        NOW,
        category="medical",
        people_involved=4,
        vulnerable_people=2,
        report_count=3,
        nsp_ids=["nsp-a", "nsp-b"],
    )
    # What the fresh one has more than the old one, in points, decides when aging wins.
    lead = score_item(fresh, NOW, settings).score - score_item(Item(1, NOW), NOW, settings).score
    assert lead > 0
    catch_up = timedelta(hours=lead / settings.aging_points_per_hour)

    before = Item(1, NOW - catch_up + timedelta(minutes=5))
    assert [i.id for i, _ in order([before, fresh], NOW, settings)] == [2, 1]
    after = Item(1, NOW - catch_up - timedelta(minutes=5))
    ranked = order([after, fresh], NOW, settings)
    assert [i.id for i, _ in ranked] == [1, 2]
    waiting = next(r for r in ranked[0][1].reasons if r.code == "waiting")
    assert waiting.points > lead and "waiting" in ranked[0][1].line

    # A faster aging setting gets there sooner: the time is configuration.
    quick = TriageSettings(aging_points_per_hour=1000)
    halfway = Item(1, NOW - catch_up / 2)
    assert order([halfway, fresh], NOW, quick)[0][0].id == 1
    assert order([halfway, fresh], NOW, settings)[0][0].id == 2


def test_aging_never_lifts_a_non_p1_item_above_a_fresh_p1() -> None:
    settings = TriageSettings()
    ancient = Item(
        1,
        NOW - timedelta(days=3),
        top_class="P4",
        category="rumour",
        report_count=20,
        nsp_ids=[f"n{i}" for i in range(8)],
    )
    p1 = Item(2, NOW, top_class="P1", category="other", life_threatening=True)
    ranked = order([ancient, p1], NOW, settings)
    assert [i.id for i, _ in ranked] == [2, 1]
    assert ranked[1][1].score == 2999 and ranked[1][1].reasons[-1].code == "cap"


def test_reasons_are_data_and_one_line() -> None:
    item = Item(
        7,
        NOW - timedelta(minutes=12),
        top_class="P1",
        category="medical",
        life_threatening=True,
        report_count=3,
        nsp_ids=["a", "b"],
    )
    p = score_item(item, NOW, TriageSettings())
    assert p.line == "P1 medical, life-threatening · 3 reports from 2 NSPs · waiting 12 min"
    assert p.line_nl == "P1 medisch, levensbedreigend · 3 meldingen van 2 NSP's · wacht 12 min"
    assert p.score == sum(r.points for r in p.reasons)
    assert {r.code for r in p.reasons} >= {"class", "category", "corroboration", "waiting"}


def test_generator_running_dry_raises_the_nsps_resource_request() -> None:
    settings = TriageSettings(fuel_hours_threshold=2)
    fuel = Item(
        1, NOW, top_class="P3", category="fuel", item_type="resource_request", nsp_ids=["dry"]
    )
    water = Item(
        2, NOW, top_class="P2", category="water", item_type="resource_request", nsp_ids=["ok"]
    )
    power = {"dry": NspPower("generator", 1.5), "ok": NspPower("generator", 20)}
    assert [i.id for i, _ in order([fuel, water], NOW, settings, power)] == [1, 2]
    assert [i.id for i, _ in order([fuel, water], NOW, settings, {})] == [2, 1]
    at_threshold = {"dry": NspPower("generator", 2.0)}
    assert not any(
        r.code == "nsp_power" for r in score_item(fuel, NOW, settings, at_threshold).reasons
    )


def test_order_is_a_total_order_independent_of_input_order() -> None:
    settings = TriageSettings()
    items = [Item(i, NOW - timedelta(minutes=i % 3)) for i in range(1, 10)]
    first = [i.id for i, _ in order(items, NOW, settings)]
    assert first == [i.id for i, _ in order(list(reversed(items)), NOW, settings)]
    # equal scores: longer waiting first, then lower id
    assert first == [2, 5, 8, 1, 4, 7, 3, 6, 9]
