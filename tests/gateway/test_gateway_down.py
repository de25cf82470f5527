"""Downward messages: bulletins (versions, targets, receipts), tasks, acks, dead letters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.down import DownHandler, DownOutcome
from gateway.inbox import Inbox
from gateway.outbox import Outbox
from schemas import new_message_id, topics

CP, NSP = "cp-test", "nsp-test"
NOW = datetime.now(UTC)


@pytest.fixture
def parts(tmp_path: Path) -> Iterator[tuple[Outbox, Inbox, DownHandler]]:
    outbox = Outbox(tmp_path / "gw.db", NSP)
    inbox = Inbox(outbox)
    yield outbox, inbox, DownHandler(CP, NSP, outbox, inbox)
    outbox.close()


def bulletin(
    version: int, *, bulletin_id: str = "water-1", sent_at: datetime | None = None, **body: Any
) -> tuple[str, bytes]:
    msg = {
        "message_id": new_message_id(),
        "sent_at": (sent_at or NOW).isoformat(),
        "cp_id": CP,
        "kind": "bulletin",
        "body": {
            "bulletin_id": bulletin_id,
            "version": version,
            "valid_from": (NOW - timedelta(hours=1)).isoformat(),
            "texts": [
                {"language": "nl", "headline": f"Water v{version}", "text": "Tappunt bij de kerk"},
                {"language": "en", "headline": f"Water v{version}", "text": "Tap at the church"},
            ],
            **body,
        },
    }
    return topics.bulletin(CP, bulletin_id), json.dumps(msg).encode()


def task(title: str, sent_at: datetime, message_id: str | None = None) -> tuple[str, bytes]:
    msg = {
        "message_id": message_id or new_message_id(),
        "sent_at": sent_at.isoformat(),
        "cp_id": CP,
        "nsp_id": NSP,
        "kind": "task",
        "body": {"task_id": "truck-1", "title": title},
    }
    return topics.down(CP, NSP, "task"), json.dumps(msg).encode()


def receipts(outbox: Outbox) -> list[dict[str, Any]]:
    return [e.body for e in outbox.pending() if e.kind == "receipt"]


def test_bulletin_versions_and_receipts(parts: tuple[Outbox, Inbox, DownHandler]) -> None:
    outbox, inbox, down = parts
    assert down.handle(*bulletin(2)) == DownOutcome.APPLIED
    assert down.handle(*bulletin(2)) == DownOutcome.IGNORED  # retained, redelivered
    assert down.handle(*bulletin(1)) == DownOutcome.IGNORED  # older
    [current] = inbox.current_bulletins()
    assert current.bulletin.version == 2
    assert [(r["bulletin_id"], r["version"]) for r in receipts(outbox)] == [("water-1", 2)]

    assert down.handle(*bulletin(3, withdrawn=True)) == DownOutcome.APPLIED
    assert inbox.current_bulletins() == []
    assert [r["version"] for r in receipts(outbox)] == [2, 3]


def test_expired_and_foreign_bulletins_are_not_shown(
    parts: tuple[Outbox, Inbox, DownHandler],
) -> None:
    outbox, inbox, down = parts
    down.handle(
        *bulletin(1, bulletin_id="old", valid_until=(NOW - timedelta(minutes=1)).isoformat())
    )
    down.handle(*bulletin(1, bulletin_id="elsewhere", target_nsps=["nsp-other"]))
    down.handle(*bulletin(1, bulletin_id="ours", target_nsps=[NSP], urgency="P1"))
    down.handle(*bulletin(1, bulletin_id="all"))
    assert [b.bulletin.bulletin_id for b in inbox.current_bulletins()] == ["ours", "all"]
    assert "elsewhere" not in {r["bulletin_id"] for r in receipts(outbox)}

    # A new version retargeted away from us supersedes what we showed.
    down.handle(*bulletin(2, bulletin_id="ours", target_nsps=["nsp-other"]))
    assert [b.bulletin.bulletin_id for b in inbox.current_bulletins()] == ["all"]


def test_tasks_keep_the_latest_by_cp_time(parts: tuple[Outbox, Inbox, DownHandler]) -> None:
    _, inbox, down = parts
    mid = new_message_id()
    assert down.handle(*task("Watertruck om 15:00", NOW, mid)) == DownOutcome.APPLIED
    assert down.handle(*task("Watertruck om 15:00", NOW, mid)) == DownOutcome.IGNORED
    assert down.handle(*task("Watertruck om 16:00", NOW + timedelta(minutes=5))) == (
        DownOutcome.APPLIED
    )
    assert down.handle(*task("Watertruck om 14:00", NOW - timedelta(minutes=5))) == (
        DownOutcome.IGNORED
    )
    assert [t.task.title for t in inbox.tasks()] == ["Watertruck om 16:00"]


def test_ack_is_applied(parts: tuple[Outbox, Inbox, DownHandler]) -> None:
    outbox, _, down = parts
    entry = outbox.enqueue("status", {"state": "open", "power_source": "grid"})
    ack = {
        "message_id": new_message_id(),
        "sent_at": NOW.isoformat(),
        "cp_id": CP,
        "nsp_id": NSP,
        "kind": "ack",
        "body": {"ref_message_id": entry.message_id, "stored_at": NOW.isoformat()},
    }
    payload = json.dumps(ack).encode()
    assert down.handle(topics.down(CP, NSP, "ack"), payload) == DownOutcome.APPLIED
    assert down.handle(topics.down(CP, NSP, "ack"), payload) == DownOutcome.IGNORED
    assert outbox.get(entry.message_id).state == "stored"  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("topic", "payload", "reason"),
    [
        (topics.down(CP, NSP, "ack"), b"{not json", "invalid message"),
        (topics.down(CP, NSP, "ack"), b'{"kind": "ack"}', "message_id"),
        (topics.down(CP, "nsp-other", "task"), task("x", NOW)[1], "not a downward topic"),
        (topics.down(CP, NSP, "ack"), task("x", NOW)[1], "a 'task' on a 'ack' topic"),
        (topics.bulletin(CP, "other-id"), bulletin(1)[1], "bulletin_id does not match"),
        (topics.bulletin("cp-else", "water-1"), bulletin(1)[1], "not a topic of this"),
        ("something/else", b"{}", "not a topic of this"),
    ],
)
def test_invalid_messages_become_dead_letters(
    parts: tuple[Outbox, Inbox, DownHandler], topic: str, payload: bytes, reason: str
) -> None:
    _, inbox, down = parts
    assert down.handle(topic, payload) == DownOutcome.REJECTED
    [dead] = inbox.dead_letters()
    assert reason in dead.reason and dead.topic == topic
    assert inbox.dead_letter_count() == 1 and down.rejected_count == 1


def test_ack_for_another_nsp_or_unknown_message_is_rejected(
    parts: tuple[Outbox, Inbox, DownHandler],
) -> None:
    outbox, inbox, down = parts
    entry = outbox.enqueue("status", {"state": "open", "power_source": "grid"})
    base = {
        "message_id": new_message_id(),
        "sent_at": NOW.isoformat(),
        "cp_id": CP,
        "kind": "ack",
        "body": {"ref_message_id": entry.message_id, "stored_at": NOW.isoformat()},
    }
    other = json.dumps({**base, "nsp_id": "nsp-other"}).encode()
    assert down.handle(topics.down(CP, NSP, "ack"), other) == DownOutcome.REJECTED
    unknown = {**base, "nsp_id": NSP, "body": {**base["body"], "ref_message_id": new_message_id()}}
    assert down.handle(topics.down(CP, NSP, "ack"), json.dumps(unknown).encode()) == (
        DownOutcome.REJECTED
    )
    assert inbox.dead_letter_count() == 2
    assert outbox.get(entry.message_id).state == "queued"  # type: ignore[union-attr]


def test_cleared_retained_bulletin_is_ignored(parts: tuple[Outbox, Inbox, DownHandler]) -> None:
    _, inbox, down = parts
    assert down.handle(topics.bulletin(CP, "water-1"), b"") == DownOutcome.IGNORED
    assert inbox.dead_letter_count() == 0
