"""The outbox: durability, gap-free numbering, identical retries, coalescing, acks."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import text

from gateway.outbox import AckOutcome, Outbox, UnknownKindError
from schemas import AckMessage, HandlingState, new_message_id, parse_up

ROOT = Path(__file__).resolve().parents[2]
NSP = "nsp-test"

STATUS: dict[str, Any] = {"state": "open", "power_source": "generator", "staff_present": 2}
SITREP: dict[str, Any] = {
    "category": "water",
    "severity": "high",
    "description": "Geen drinkwater meer in de Kerkstraat",
    "location": {"address": "Kerkstraat 12, Oss"},
}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "outbox.db"


@pytest.fixture
def outbox(db: Path) -> Any:
    ob = Outbox(db, NSP)
    yield ob
    ob.close()


def ack(
    message_id: str,
    state: HandlingState = HandlingState.STORED,
    *,
    sent_at: datetime | None = None,
    stored_at: datetime | None = None,
    note: str | None = None,
    ack_id: str | None = None,
    seq: int | None = None,
    nsp_id: str = NSP,
) -> AckMessage:
    now = datetime.now(UTC)
    return AckMessage.model_validate(
        {
            "message_id": ack_id or new_message_id(),
            "sent_at": sent_at or now,
            "cp_id": "cp-test",
            "nsp_id": nsp_id,
            "body": {
                "ref_message_id": message_id,
                "ref_seq": seq,
                "state": state,
                "stored_at": stored_at or now,
                "note": note,
            },
        }
    )


def test_connections_use_wal_and_full_sync(outbox: Outbox) -> None:
    with outbox.engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
        assert conn.execute(text("PRAGMA busy_timeout")).scalar() > 0


def test_enqueued_row_survives_a_killed_process(db: Path) -> None:
    # The writer is SIGKILLed right after enqueue() returned: no close, no checkpoint.
    script = textwrap.dedent(
        f"""
        import sys, time
        from pathlib import Path
        from gateway.outbox import Outbox
        ob = Outbox(Path({str(db)!r}), {NSP!r})
        for _ in range(3):
            e = ob.enqueue("situation_report", {SITREP!r})
            print(e.message_id, e.seq, flush=True)
        time.sleep(60)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        accepted = [proc.stdout.readline().split() for _ in range(3)]
    finally:
        proc.kill()
        proc.wait(10)
    assert all(len(a) == 2 for a in accepted), accepted

    reopened = Outbox(db, NSP)
    try:
        for message_id, seq in accepted:
            entry = reopened.get(message_id)
            assert entry is not None and entry.seq == int(seq) and entry.state == "queued"
        assert reopened.enqueue("status", STATUS).seq == 4
    finally:
        reopened.close()


def test_seq_is_gap_free_and_increasing_across_reopen(db: Path) -> None:
    seqs = []
    for _ in range(3):
        ob = Outbox(db, NSP)
        seqs += [ob.enqueue("situation_report", SITREP).seq for _ in range(4)]
        with pytest.raises(ValidationError):
            ob.enqueue("situation_report", {**SITREP, "severity": "apocalyptic"})
        ob.close()
    assert seqs == list(range(1, 13))
    ob = Outbox(db, NSP)
    assert [e.seq for e in ob.pending(limit=100)] == list(range(1, 13))
    assert ob.last_seq() == 12
    ob.close()


def test_unknown_kind_is_refused_without_using_a_seq(outbox: Outbox) -> None:
    with pytest.raises(UnknownKindError):
        outbox.enqueue("gossip", {})
    assert outbox.enqueue("status", STATUS).seq == 1


def test_envelope_is_built_once_and_identical_on_every_read(db: Path) -> None:
    ob = Outbox(db, NSP)
    entry = ob.enqueue("situation_report", SITREP)
    message = parse_up(entry.envelope)
    assert message.message_id == entry.message_id
    assert message.seq == entry.seq and message.nsp_id == NSP
    assert message.kind == "situation_report"
    ob.mark_published([entry.message_id])
    ob.close()

    ob = Outbox(db, NSP)
    first = ob.pending()[0]
    ob.mark_published([first.message_id])
    again = ob.pending()[0]
    assert first.envelope == again.envelope == entry.envelope
    assert again.publish_count == 2 and again.state == "sent"
    ob.close()


def test_pending_is_in_seq_order_and_skips_stored(outbox: Outbox) -> None:
    entries = [outbox.enqueue("situation_report", SITREP) for _ in range(5)]
    outbox.apply_ack(ack(entries[1].message_id))
    outbox.apply_ack(ack(entries[3].message_id))
    assert [e.seq for e in outbox.pending()] == [1, 3, 5]
    assert [e.seq for e in outbox.pending(limit=1, after_seq=1)] == [3]
    assert outbox.counts() == {"queued": 3, "sent": 0, "stored": 2}


def test_heartbeats_coalesce_while_one_is_undelivered(outbox: Outbox) -> None:
    change = outbox.enqueue("status", STATUS)
    beat = outbox.enqueue("status", {**STATUS, "heartbeat": True})
    again = outbox.enqueue("status", {**STATUS, "heartbeat": True})
    assert again.coalesced and again.message_id == beat.message_id
    outbox.mark_published([beat.message_id])  # sent but not stored: still undelivered
    assert outbox.enqueue("status", {**STATUS, "heartbeat": True}).coalesced

    # A status change is never coalesced.
    change2 = outbox.enqueue("status", {**STATUS, "state": "limited"})
    assert not change2.coalesced and change2.seq == 3

    outbox.apply_ack(ack(beat.message_id))
    fresh = outbox.enqueue("status", {**STATUS, "heartbeat": True})
    assert not fresh.coalesced and fresh.seq == 4
    assert [e.seq for e in outbox.pending()] == [change.seq, 3, 4]


def test_latest_status_is_the_last_one_entered_by_staff(outbox: Outbox) -> None:
    assert outbox.latest_status() is None
    outbox.enqueue("status", STATUS)
    outbox.enqueue("status", {**STATUS, "state": "limited", "power_hours_left": 5})
    outbox.enqueue("status", {**STATUS, "heartbeat": True})
    latest = outbox.latest_status()
    assert latest is not None
    assert latest.state == "limited" and latest.power_hours_left == 5 and not latest.heartbeat


def test_first_ack_stores_with_cp_time_and_redelivery_changes_nothing(outbox: Outbox) -> None:
    entry = outbox.enqueue("situation_report", SITREP)
    outbox.mark_published([entry.message_id])
    cp_time = datetime(2026, 1, 2, 14, 2, tzinfo=UTC)
    first = ack(entry.message_id, stored_at=cp_time, seq=entry.seq)
    assert outbox.apply_ack(first) == AckOutcome.STORED
    assert outbox.apply_ack(first) == AckOutcome.DUPLICATE  # QoS 1 redelivery
    # The CP acks the gateway's retry again, as a new ack message.
    assert outbox.apply_ack(ack(entry.message_id)) == AckOutcome.DUPLICATE

    stored = outbox.get(entry.message_id)
    assert stored is not None
    assert stored.state == "stored" and stored.cp_stored_at == cp_time
    assert stored.cp_state == HandlingState.STORED
    assert [h.state for h in outbox.history(entry.message_id)] == [HandlingState.STORED]
    assert outbox.pending() == []


def test_later_states_update_and_build_a_timeline(outbox: Outbox) -> None:
    entry = outbox.enqueue(
        "help_request",
        {
            "category": "medical",
            "urgency": "P1",
            "location": {"address": "Markt 1, Oss"},
            "description": "Man onwel geworden",
        },
    )
    t0 = datetime(2026, 1, 2, 14, 2, tzinfo=UTC)
    outbox.apply_ack(ack(entry.message_id, sent_at=t0, stored_at=t0))
    dispatched = ack(
        entry.message_id,
        HandlingState.DISPATCHED,
        sent_at=t0 + timedelta(minutes=3),
        stored_at=t0,
        note="Ambulance onderweg",
    )
    assert outbox.apply_ack(dispatched) == AckOutcome.UPDATED
    assert outbox.apply_ack(dispatched) == AckOutcome.DUPLICATE
    # Arrives late but happened earlier at the CP: history yes, current state no.
    acknowledged = ack(
        entry.message_id, HandlingState.ACKNOWLEDGED, sent_at=t0 + timedelta(minutes=1)
    )
    assert outbox.apply_ack(acknowledged) == AckOutcome.STALE
    # A re-ack of a retry must not turn 'dispatched' back into 'stored'.
    assert outbox.apply_ack(ack(entry.message_id, sent_at=t0 + timedelta(minutes=9))) == (
        AckOutcome.DUPLICATE
    )

    current = outbox.get(entry.message_id)
    assert current is not None
    assert current.cp_state == HandlingState.DISPATCHED
    assert current.cp_note == "Ambulance onderweg"
    assert current.cp_stored_at == t0
    assert [h.state for h in outbox.history(entry.message_id)] == [
        HandlingState.STORED,
        HandlingState.ACKNOWLEDGED,
        HandlingState.DISPATCHED,
    ]

    resolved = ack(entry.message_id, HandlingState.RESOLVED, sent_at=t0 + timedelta(minutes=30))
    assert outbox.apply_ack(resolved) == AckOutcome.UPDATED
    assert outbox.get(entry.message_id).cp_state == HandlingState.RESOLVED  # type: ignore[union-attr]


def test_a_later_state_as_first_ack_also_means_stored(outbox: Outbox) -> None:
    entry = outbox.enqueue("situation_report", SITREP)
    assert outbox.apply_ack(ack(entry.message_id, HandlingState.ACKNOWLEDGED)) == (
        AckOutcome.STORED
    )
    got = outbox.get(entry.message_id)
    assert got is not None and got.state == "stored"
    assert got.cp_state == HandlingState.ACKNOWLEDGED


def test_ack_for_unknown_message(outbox: Outbox) -> None:
    assert outbox.apply_ack(ack(new_message_id())) == AckOutcome.UNKNOWN


def test_list_entries_filters_newest_first(outbox: Outbox) -> None:
    for _ in range(3):
        outbox.enqueue("situation_report", SITREP)
    outbox.enqueue("status", STATUS)
    items, total = outbox.list_entries(kind="situation_report", limit=2)
    assert total == 3 and [e.seq for e in items] == [3, 2]
    items, total = outbox.list_entries(state="queued", offset=3)
    assert total == 4 and [e.seq for e in items] == [1]
    assert json.loads(items[0].envelope)["body"] == items[0].body
