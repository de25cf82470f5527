"""The gateway side of ``ack_batch``: one message acks many rows, idempotently, and the
gateway announces the capability (an older CP that knows no capabilities is not sent it in
a last will)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gateway.down import DownHandler, DownOutcome
from gateway.inbox import Inbox
from gateway.outbox import Outbox, batch_item_ack_id
from schemas import Presence, new_message_id, topics

CP, NSP = "cp-test", "nsp-test"


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[tuple[Outbox, DownHandler]]:
    outbox = Outbox(tmp_path / "gw.db", NSP)
    yield outbox, DownHandler(CP, NSP, outbox, Inbox(outbox))
    outbox.close()


def report(outbox: Outbox, n: int) -> list[tuple[str, int]]:
    out = []
    for i in range(n):
        e = outbox.enqueue(
            "situation_report",
            {"category": "water", "severity": "low", "description": f"Melding {i}"},
        )
        out.append((e.message_id, e.seq))
    return out


def batch(rows: list[tuple[str, int]], message_id: str | None = None) -> tuple[str, bytes]:
    at = datetime.now(UTC).isoformat()
    msg = {
        "message_id": message_id or new_message_id(),
        "sent_at": at,
        "cp_id": CP,
        "nsp_id": NSP,
        "kind": "ack_batch",
        "body": {"acks": [{"ref_message_id": m, "ref_seq": s, "stored_at": at} for m, s in rows]},
    }
    return topics.down(CP, NSP, "ack_batch"), json.dumps(msg).encode()


def test_one_batch_acks_every_row_once(parts: tuple[Outbox, DownHandler]) -> None:
    outbox, down = parts
    rows = report(outbox, 5)
    topic, payload = batch(rows)
    assert down.handle(topic, payload) == DownOutcome.APPLIED
    assert {outbox.get(m).state for m, _ in rows} == {"stored"}  # type: ignore[union-attr]
    assert outbox.pending_count() == 0
    # Each row's timeline has exactly one event, under its own id.
    ids = {e.ack_message_id for m, _ in rows for e in outbox.history(m)}
    assert len(ids) == 5
    # Redelivered by the broker: nothing changes.
    assert down.handle(topic, payload) == DownOutcome.IGNORED
    assert sum(len(outbox.history(m)) for m, _ in rows) == 5


def test_batch_naming_only_unknown_rows_is_rejected(parts: tuple[Outbox, DownHandler]) -> None:
    outbox, down = parts
    known = report(outbox, 1)
    topic, payload = batch([(new_message_id(), 7)])
    assert down.handle(topic, payload) == DownOutcome.REJECTED
    # A batch with one unknown row still applies the rest.
    topic, payload = batch([*known, (new_message_id(), 9)])
    assert down.handle(topic, payload) == DownOutcome.APPLIED
    assert outbox.get(known[0][0]).state == "stored"  # type: ignore[union-attr]


def test_ack_batch_on_the_ack_topic_is_rejected(parts: tuple[Outbox, DownHandler]) -> None:
    outbox, down = parts
    _, payload = batch(report(outbox, 1))
    assert down.handle(topics.down(CP, NSP, "ack"), payload) == DownOutcome.REJECTED


def test_item_ack_ids_are_distinct_and_stable() -> None:
    batch_id = new_message_id()
    ids = [batch_item_ack_id(batch_id, i) for i in range(2000)]
    assert len(set(ids)) == 2000 and all(len(i) == 26 for i in ids)
    assert ids == [batch_item_ack_id(batch_id, i) for i in range(2000)]


def test_presence_carries_capabilities_only_when_online() -> None:
    online = json.loads(
        Presence(nsp_id=NSP, online=True, capabilities=["ack_batch"]).model_dump_json()
    )
    assert online["capabilities"] == ["ack_batch"]
    # The last will reads exactly as before, so an older CP still accepts it.
    assert "capabilities" not in json.loads(Presence(nsp_id=NSP, online=False).model_dump_json())
