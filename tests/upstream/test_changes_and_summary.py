"""Summaries and significant changes at the CP, on a real database, through the real store."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Session

from noodcore.db import table_of
from schemas import Presence, parse_up, utcnow
from schemas.upstream import SummaryTrigger
from service.api.nsps import nsp_out
from service.bulletins.drafts import BulletinDraft
from service.bulletins.reach import record_receipts
from service.bulletins.versions import add_version, create, withdraw
from service.db import make_engine, migrate
from service.models import Message, Nsp
from service.store import Accepted, PresenceSeen, store_batch
from service.triage.grouping import GroupingHook
from service.triage.models import TriageReport
from service.triage.settings import TriageSettings
from service.triage.workflow import ItemState, change_state, merge
from service.upstream.changes import UpstreamChanges
from service.upstream.models import StreamEvent, UpstreamOutbox, UpstreamSummary
from service.upstream.node import ensure_node, summary_due
from service.upstream.summary import SummaryConfig, build_content, liveness
from tests.support import wait_until
from tests.upstream.support import help_request, msg, resource_request, situation, status

CP = "cp-u"
TARGETS = ["http://127.0.0.1:9/api/v1/region/items", "http://127.0.0.1:10/x"]


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    eng = make_engine(database_url)
    migrate(eng)
    ensure_node(eng)
    yield eng
    eng.dispose()


def config(silent_after: float = 900, low_power_hours: float = 4) -> SummaryConfig:
    return SummaryConfig(
        cp_id=CP,
        silent_after=timedelta(seconds=silent_after),
        low_power_hours=low_power_hours,
        max_items=50,
        information_window=timedelta(hours=24),
    )


def changes_for(cfg: SummaryConfig | None = None) -> UpstreamChanges:
    return UpstreamChanges(cfg or config(), TARGETS, timedelta(hours=1))


def store(
    engine: Engine,
    changes: UpstreamChanges | None,
    *messages: dict[str, Any],
    presences: list[Presence] | None = None,
    extra_hooks: list[Any] | None = None,
) -> None:
    now = utcnow()
    accepted = [Accepted(parse_up(json.dumps(m)), now, "http") for m in messages]
    seen = [PresenceSeen(p, now) for p in presences or []]
    hooks = ([changes.ingest_hook] if changes else []) + list(extra_hooks or [])
    store_batch(engine, accepted, [], seen, CP, hooks)


def rows(engine: Engine, model: Any, *where: Any) -> list[Any]:
    table = table_of(model)
    with engine.connect() as conn:
        return list(conn.execute(sa.select(table).where(*where).order_by(table.c.id)))


def event_types(engine: Engine) -> list[str]:
    return [r.type for r in rows(engine, StreamEvent)]


def test_p1_commits_with_its_outbox_rows_event_and_the_summary_it_is_owed(
    engine: Engine,
) -> None:
    changes = changes_for()
    p1 = help_request("nsp-a", 1)
    store(engine, changes, p1)

    outbox = rows(engine, UpstreamOutbox)
    assert {r.target for r in outbox} == set(TARGETS), "one row per upstream target"
    assert {r.idempotency_key for r in outbox} == {f"{CP}:p1:{p1['message_id']}"}
    assert all(r.state == "pending" and r.priority == 0 for r in outbox)
    assert event_types(engine) == ["p1", "nsp_online"]
    assert summary_due(engine) == ["new_p1", "nsp_online"], "the summary debt committed too"
    assert rows(engine, UpstreamSummary) == []

    changes.produce(engine)
    assert summary_due(engine) == []
    outbox = rows(engine, UpstreamOutbox)
    summaries = rows(engine, UpstreamSummary)
    assert [s.seq for s in summaries] == [1]
    assert set(summaries[0].triggers) == {"new_p1", "nsp_online"}
    assert summaries[0].body["help_requests"]["by_urgency"] == {"P1": 1}
    assert {r.ref for r in outbox if r.kind == "summary"} == {"1"}
    assert event_types(engine) == ["p1", "nsp_online", "summary"]
    p1_event = rows(engine, StreamEvent, table_of(StreamEvent).c.type == "p1")[0]
    assert p1_event.data["message_id"] == p1["message_id"]
    assert p1_event.data["category"] == "medical"


def test_a_batch_of_p1s_is_queued_once_per_target(engine: Engine) -> None:
    """A reconnect backlog's ingest batch holds many P1s: each gets one row per target and
    its own event; one already queued (a redelivery under a new message envelope cannot
    happen, but a relay can bring the same key) is left as it was."""
    from service.upstream import outbox as upstream_outbox

    changes = changes_for()
    p1s = [help_request(f"nsp-{i % 3}", 1 + i // 3) for i in range(9)]
    with engine.begin() as conn:  # the first one is already queued for one target
        upstream_outbox.enqueue(
            conn,
            TARGETS[:1],
            "p1_item",
            f"{CP}:p1:{p1s[0]['message_id']}",
            p1s[0]["message_id"],
            "{}",
            timedelta(hours=1),
        )
    store(engine, changes, *p1s)
    outbox = rows(engine, UpstreamOutbox)
    pairs = [(r.idempotency_key, r.target) for r in outbox]
    assert len(pairs) == len(set(pairs)) == 9 * len(TARGETS)
    first = [r for r in outbox if r.idempotency_key == f"{CP}:p1:{p1s[0]['message_id']}"]
    assert {r.target: r.payload for r in first}[TARGETS[0]] == "{}", "left as it was"
    assert (
        json.loads({r.target: r.payload for r in first}[TARGETS[1]])["body"]["message"][
            "message_id"
        ]
        == p1s[0]["message_id"]
    )
    assert event_types(engine).count("p1") == 9
    with engine.begin() as conn:  # the same key twice in one call: queued once
        item = upstream_outbox.NewItem("p1_item", f"{CP}:p1:x", "x", {"a": 1})
        assert upstream_outbox.enqueue_many(conn, TARGETS, [item, item], timedelta(hours=1)) == 2


def test_a_failing_transaction_leaves_no_outbox_row_event_or_summary(engine: Engine) -> None:
    def boom(conn: Connection, new: list[Accepted], presences: list[PresenceSeen]) -> None:
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        store(engine, changes_for(), help_request("nsp-a", 1), extra_hooks=[boom])
    assert rows(engine, Message) == []
    assert rows(engine, UpstreamOutbox) == []
    assert rows(engine, StreamEvent) == []
    assert rows(engine, UpstreamSummary) == []
    assert summary_due(engine) == []
    store(engine, changes_for(), help_request("nsp-a", 1))
    assert summary_due(engine) == ["new_p1", "nsp_online"]


def test_a_summary_reads_its_content_without_the_lock_and_keeps_a_debt_marked_meanwhile(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    """While a summary reads the store, a P1 batch commits (it takes the upstream lock, which
    on SQLite is the database's write lock): it is not held up, and the summary made before
    its commit does not clear the debt it marked, so the next summary carries it."""
    import service.upstream.changes as changes_module

    changes = changes_for()
    store(engine, changes, help_request("nsp-a", 1))
    meanwhile: list[float] = []

    def build_while_a_p1_commits(conn: Connection, cfg: SummaryConfig, now: Any) -> Any:
        content = build_content(conn, cfg, now)
        if not meanwhile:
            worker = threading.Thread(
                target=lambda: (
                    store(engine, changes, help_request("nsp-b", 1)),
                    meanwhile.append(time.monotonic()),
                ),
                daemon=True,
            )
            worker.start()
            worker.join(10)
            assert meanwhile, "the P1 batch waited for the summary being read"
        return content

    monkeypatch.setattr(changes_module, "build_content", build_while_a_p1_commits)
    first = changes.produce(engine)
    assert first is not None and first.help_requests.by_urgency == {"P1": 1}
    assert "new_p1" in summary_due(engine), "the debt marked meanwhile is still owed"
    second = changes.produce(engine)
    assert second is not None and second.help_requests.by_urgency == {"P1": 2}
    assert summary_due(engine) == []
    assert changes.produce(engine) is None
    assert [s.seq for s in rows(engine, UpstreamSummary)] == [1, 2]


def test_an_insignificant_batch_makes_no_summary(engine: Engine) -> None:
    changes = changes_for()
    store(engine, changes, status("nsp-a", 1, hours=20))
    assert summary_due(engine) == ["nsp_online"]  # first heard of
    assert changes.produce(engine) is not None
    store(engine, changes, situation("nsp-a", 2, "water", "Druk valt weg"), status("nsp-a", 3))
    store(engine, changes, help_request("nsp-a", 4, urgency="P2"))
    assert summary_due(engine) == []
    assert changes.produce(engine) is None, "nothing owed, nothing made"
    assert event_types(engine) == ["nsp_online", "summary"]


def test_power_state_and_presence_transitions_make_events_and_summaries(engine: Engine) -> None:
    changes = changes_for()
    for seq, hours, state in [
        (1, 10, "open"),
        (2, 3, "open"),  # below 4 h
        (3, 2, "open"),  # still low: nothing new
        (4, 30, "open"),  # refuelled
        (5, 1, "open"),  # low again: counts again
        (6, 1, "closed"),
    ]:
        store(engine, changes, status("nsp-a", seq, hours=hours, state=state))
        changes.produce(engine)
    for online in (False, True):
        store(engine, changes, presences=[Presence(nsp_id="nsp-a", online=online)])
        changes.produce(engine)
    types = [t for t in event_types(engine) if t != "summary"]
    assert types == [
        "nsp_online",
        "nsp_low_power",
        "nsp_low_power",
        "nsp_state",
        "nsp_offline",
        "nsp_online",
    ]
    triggers = [s.triggers for s in rows(engine, UpstreamSummary)]
    assert triggers == [
        ["nsp_online"],
        ["low_power"],
        ["low_power"],
        ["nsp_state"],
        ["nsp_offline"],
        ["nsp_online"],
    ]
    state_event = next(r for r in rows(engine, StreamEvent) if r.type == "nsp_state")
    assert state_event.data["previous"] == "open" and state_event.data["state"] == "closed"


def test_going_silent_is_seen_by_the_watch(engine: Engine) -> None:
    changes = changes_for(config(silent_after=0.3))
    store(engine, changes, status("nsp-a", 1))
    changes.produce(engine)
    triggers = wait_until(lambda: changes.watch(engine), 10, what="the NSP to go silent")
    assert triggers == [SummaryTrigger.NSP_SILENT]
    summary = changes.produce(engine)
    assert summary is not None and summary.triggers == [SummaryTrigger.NSP_SILENT]
    assert summary.nsp_counts.silent == 1
    assert event_types(engine)[-2:] == ["nsp_silent", "summary"]
    assert changes.watch(engine) == [], "silence is reported once"


def test_summary_sections(engine: Engine) -> None:
    store(
        engine,
        None,
        status("nsp-a", 1, hours=3),
        help_request("nsp-a", 2, urgency="P2", category="fire"),
        help_request("nsp-a", 5, urgency="P1"),  # seq 3 and 4 never arrived
        resource_request("nsp-a", 6, urgency="P2"),
        situation("nsp-a", 7, "information_need", "Wanneer komt de stroom terug?"),
        status("nsp-b", 1, hours=None, power_source="grid", state="limited"),
        situation("nsp-b", 2, "information_need", "wanneer komt de stroom  terug", severity="high"),
        situation("nsp-b", 3, "rumour", "Supermarkt wordt geplunderd"),
        help_request("nsp-b", 4, urgency="P3", category="other", people_involved=4),
    )
    with engine.connect() as conn:
        c = build_content(conn, config(), utcnow() + timedelta(minutes=10))
    assert (c.nsp_counts.total, c.nsp_counts.open, c.nsp_counts.limited) == (2, 1, 1)
    assert (c.nsp_counts.online, c.nsp_counts.low_power) == (2, 1)
    a = next(n for n in c.nsps if n.nsp_id == "nsp-a")
    assert a.low_power and a.power_hours_left == 3
    assert (a.missing_count, a.gaps, a.contiguous_seq) == (2, [(3, 4)], 2)
    assert c.help_requests.open_total == 3
    assert {k.value: v for k, v in c.help_requests.by_urgency.items()} == {
        "P1": 1,
        "P2": 1,
        "P3": 1,
    }
    assert {k.value: v for k, v in c.help_requests.by_category.items()} == {
        "fire": 1,
        "medical": 1,
        "other": 1,
    }
    assert [i.urgency.value for i in c.open_items] == ["P1", "P2", "P2", "P3"]
    assert c.open_items[0].reason.startswith("P1 medical; 1 vulnerable; waiting 10 min")
    assert c.open_items_total == 4
    assert c.oldest_open_item is not None and c.oldest_open_item.category == "fire"
    assert [(n.resource.value, n.quantity, n.unit) for n in c.resource_needs] == [
        ("fuel", 200, "liter")
    ]
    assert len(c.information_needs) == 1, "same question, different spelling: one group"
    q = c.information_needs[0]
    assert (q.count, q.nsp_ids, q.max_severity.value) == (2, ["nsp-a", "nsp-b"], "high")
    assert [r.text for r in c.rumours] == ["Supermarkt wordt geplunderd"]
    assert c.messages.by_kind == {
        "help_request": 3,
        "resource_request": 1,
        "situation_report": 3,
        "status": 2,
    }
    assert c.bulletin_reach is not None and c.bulletin_reach.bulletins == [], "none in force"


def test_work_the_operators_closed_is_no_longer_open_in_the_summary(engine: Engine) -> None:
    """The region hears about open work: an item resolved or closed at the CP leaves the
    summary; a merged duplicate's report lives on in the (open) item it was merged into."""
    grouping = GroupingHook(CP, TriageSettings())
    far = {"address": "Molenstraat 80, Oss", "lat": 51.78, "lon": 5.56}
    store(
        engine,
        None,
        help_request("nsp-a", 1, urgency="P2", category="fire", description="Schuurbrand"),
        help_request("nsp-a", 2, urgency="P3", category="other", location=far),
        resource_request("nsp-a", 3),
        help_request(
            "nsp-b",
            1,
            urgency="P2",
            category="crime",
            description="Inbraak",
            location={"address": "Dorpsstraat 3, Lith", "lat": 51.80, "lon": 5.43},
        ),
        extra_hooks=[grouping],
    )

    def item_of(message_id: str) -> int:
        report = table_of(TriageReport)
        with engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(report.c.item_id).where(report.c.message_id == message_id)
                ).scalar_one()
            )

    ids = {m.message_id: m for m in rows(engine, Message)}
    by_seq = {(m.nsp_id, m.seq): mid for mid, m in ids.items()}
    fire, other, fuel = (item_of(by_seq[("nsp-a", s)]) for s in (1, 2, 3))
    crime = item_of(by_seq[("nsp-b", 1)])
    assert len({fire, other, fuel, crime}) == 4

    def open_now() -> tuple[int, set[str]]:
        with engine.connect() as conn:
            c = build_content(conn, config(), utcnow())
        assert c.open_items_total == len(c.open_items)
        return c.help_requests.open_total, {i.message_id for i in c.open_items}

    assert open_now() == (3, set(by_seq.values()))
    now = utcnow()
    change_state(engine, CP, fire, ItemState.DISPATCHED, "brandweer", "op-1", now)
    assert open_now()[0] == 3, "dispatched is still open work"
    change_state(engine, CP, fire, ItemState.RESOLVED, "geblust", "op-1", now)
    change_state(engine, CP, fuel, ItemState.CLOSED_NOT_NEEDED, "al geleverd", "op-1", now)
    merge(engine, CP, crime, other, "zelfde melding", "op-1", now)
    total, open_ids = open_now()
    assert total == 2, "the merged report counts once more, in the item it joined"
    assert open_ids == {by_seq[("nsp-a", 2)], by_seq[("nsp-b", 1)]}
    change_state(engine, CP, fire, ItemState.ACKNOWLEDGED, "weer rook", "op-1", now)
    assert open_now()[0] == 3, "a reopened item is open again"


def test_bulletin_reach_in_the_summary(engine: Engine) -> None:
    """Per bulletin in force: how many of its NSPs confirmed the current version, who not."""
    store(engine, None, status("nsp-a", 1), status("nsp-b", 1), status("nsp-c", 1))

    def draft(headline: str, **over: Any) -> BulletinDraft:
        text = {"language": "nl", "headline": headline, "text": "Tappunt open van 8 tot 20."}
        return BulletinDraft.model_validate({"texts": [text], **over})

    with Session(engine) as session:
        create(session, CP, draft("Drinkwater"), "op-1", bulletin_id="water")
        create(session, CP, draft("Aggregaat", target_nsps=["nsp-c"]), "op-1", bulletin_id="power")
        create(session, CP, draft("Oud nieuws"), "op-1", bulletin_id="old")
        session.commit()
        add_version(session, CP, "water", draft("Drinkwater, nu ook bij de school"), "op-1")
        withdraw(session, CP, "old", "op-1")
        session.commit()

    def receipt(nsp: str, seq: int, bulletin: str, version: int) -> dict[str, Any]:
        return msg(
            "receipt",
            nsp,
            seq,
            bulletin_id=bulletin,
            version=version,
            shown_at=utcnow().isoformat(),
        )

    store(
        engine,
        None,
        receipt("nsp-a", 2, "water", 2),
        receipt("nsp-b", 2, "water", 1),  # behind: still shows version 1
        receipt("nsp-c", 2, "power", 1),
        receipt("nsp-a", 3, "old", 1),
        extra_hooks=[record_receipts],
    )
    with engine.connect() as conn:
        c = build_content(conn, config(), utcnow())
    assert c.bulletin_reach is not None
    got = {b.bulletin_id: b for b in c.bulletin_reach.bulletins}
    assert set(got) == {"water", "power"}, "a withdrawn bulletin is not in force"
    assert (got["water"].version, got["water"].targeted, got["water"].confirmed) == (2, 3, 1)
    assert got["water"].missing_nsp_ids == ["nsp-b", "nsp-c"]
    assert (got["power"].targeted, got["power"].confirmed, got["power"].missing_nsp_ids) == (
        1,
        1,
        [],
    )


def test_a_p1_an_operator_closes_or_reopens_makes_a_summary_due(engine: Engine) -> None:
    grouping = GroupingHook(CP, TriageSettings())
    store(engine, None, help_request("nsp-a", 1, urgency="P1"), extra_hooks=[grouping])
    store(engine, None, help_request("nsp-a", 2, urgency="P3", category="other",
                                     location={"address": "Molenstraat 80, Oss"}),
          extra_hooks=[grouping])  # fmt: skip
    report = table_of(TriageReport)
    with engine.connect() as conn:
        p1, p3 = conn.execute(sa.select(report.c.item_id).order_by(report.c.received_at)).scalars()
    now = utcnow()
    change_state(engine, CP, p1, ItemState.ACKNOWLEDGED, "gezien", "op-1", now)
    change_state(engine, CP, p3, ItemState.CLOSED_NOT_NEEDED, "opgelost", "op-1", now)
    assert summary_due(engine) == [], "still open, or not a P1: the next scheduled summary"
    change_state(engine, CP, p1, ItemState.RESOLVED, "ambulance geweest", "op-1", now)
    assert summary_due(engine) == [SummaryTrigger.P1_CLOSED.value]
    change_state(engine, CP, p1, ItemState.ACKNOWLEDGED, "toch weer klachten", "op-1", now)
    assert summary_due(engine) == [SummaryTrigger.P1_CLOSED.value, SummaryTrigger.NEW_P1.value]
    summary = changes_for().produce(engine)
    assert summary is not None
    assert {SummaryTrigger.P1_CLOSED, SummaryTrigger.NEW_P1} <= set(summary.triggers)
    assert summary.help_requests.open_total == 1 and summary_due(engine) == []


def test_requests_triage_never_placed_stay_open(engine: Engine) -> None:
    store(engine, None, help_request("nsp-a", 1), resource_request("nsp-a", 2))
    with engine.connect() as conn:
        c = build_content(conn, config(), utcnow())
    assert (c.help_requests.open_total, c.open_items_total) == (1, 2)


def test_summary_sequence_numbers_increase_by_one(engine: Engine) -> None:
    changes = changes_for()
    seqs = [changes.produce_now(engine, SummaryTrigger.MANUAL).seq for _ in range(3)]
    assert seqs == [1, 2, 3]
    assert [s.seq for s in rows(engine, UpstreamSummary)] == [1, 2, 3]


@pytest.mark.parametrize(
    ("online", "seen_ago"),
    [(None, None), (True, None), (None, 10), (True, 10), (True, 1000), (False, 10), (None, 901)],
)
def test_hot_path_liveness_agrees_with_the_nsp_api(
    online: bool | None, seen_ago: int | None
) -> None:
    now = utcnow()
    last_seen = None if seen_ago is None else now - timedelta(seconds=seen_ago)
    silent = timedelta(seconds=900)
    nsp = Nsp(nsp_id="n", cp_id=CP, online=online, last_seen=last_seen)
    nsp.first_seen = nsp.last_status_at = None
    api = nsp_out(nsp, silent)
    assert liveness(online, last_seen, utcnow(), silent) == api.liveness
