"""Store a batch of validated messages in one transaction, idempotently.

Exact deduplication lives here: a message id already stored is not stored again, and the
caller learns its original CP receive time so the re-sent ack is identical.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine

from schemas import Presence, UpMessage
from service.models import DeadLetter, Message, Nsp

MAX_GAP_RANGES = 1000


@dataclass
class Accepted:
    """A valid upward message waiting to be stored."""

    message: UpMessage
    received_at: datetime
    transport: str


@dataclass
class PresenceSeen:
    presence: Presence
    received_at: datetime


@dataclass
class Rejected:
    """A message that failed validation; becomes a dead letter."""

    reason: str
    received_at: datetime
    transport: str
    payload: bytes
    topic: str | None = None
    nsp_id: str | None = None
    max_stored_bytes: int = 64 * 1024


BatchHook = Callable[[Connection, list[Accepted], list[PresenceSeen]], None]


@dataclass
class StoreResult:
    message_id: str
    nsp_id: str
    seq: int
    kind: str
    stored_at: datetime
    new: bool


@dataclass
class _SeqState:
    max_seq: int
    gaps: list[list[int]] = field(default_factory=list)
    conflicts: int = 0

    def see(self, seq: int) -> None:
        """Record one sequence number, keeping missing ones as inclusive ranges."""
        if seq > self.max_seq:
            if seq > self.max_seq + 1:
                self.gaps.append([self.max_seq + 1, seq - 1])
            self.max_seq = seq
            return
        for i, (lo, hi) in enumerate(self.gaps):
            if lo <= seq <= hi:
                pieces = [[lo, seq - 1]] if seq > lo else []
                if seq < hi:
                    pieces.append([seq + 1, hi])
                self.gaps[i : i + 1] = pieces
                return
        self.conflicts += 1

    def trimmed_gaps(self) -> list[list[int]]:
        # A gateway that lost its disk could create unbounded gaps; keep the newest ones.
        return self.gaps[-MAX_GAP_RANGES:]


def _insert(conn: Connection) -> Any:
    return (sqlite.insert if conn.dialect.name == "sqlite" else postgresql.insert)(Message)


def store_batch(
    engine: Engine,
    accepted: list[Accepted],
    rejected: list[Rejected],
    presences: list[PresenceSeen],
    cp_id: str,
    hooks: Sequence[BatchHook] = (),
) -> list[StoreResult]:
    """Commit a batch. Returns one result per accepted message (new or already stored).

    ``hooks`` run inside the same transaction with the newly stored messages, so whatever
    they derive (incidents, outbox rows for upstream) commits or fails together with them.
    """
    # Collapse in-batch duplicates (a QoS 1 redelivery can land in the same batch).
    unique: dict[str, Accepted] = {}
    for item in accepted:
        unique.setdefault(item.message.message_id, item)
    ids = list(unique)

    with engine.begin() as conn:
        existing = _stored_at(conn, ids)
        fresh = [a for mid, a in unique.items() if mid not in existing]
        if fresh:
            rows = [
                {
                    "message_id": a.message.message_id,
                    "kind": a.message.kind,
                    "nsp_id": a.message.nsp_id,
                    "seq": a.message.seq,
                    "sent_at": a.message.sent_at,
                    "received_at": a.received_at,
                    "skew_seconds": (a.received_at - a.message.sent_at).total_seconds(),
                    "transport": a.transport,
                    "urgency": getattr(a.message.body, "urgency", None),
                    "body": a.message.body.model_dump(mode="json"),
                }
                for a in fresh
            ]
            # ON CONFLICT DO NOTHING covers a concurrent writer (HTTP and MQTT at once).
            conn.execute(_insert(conn).on_conflict_do_nothing(index_elements=["message_id"]), rows)
        stored = _stored_at(conn, ids)
        new_ids = {a.message.message_id for a in fresh} - set(existing)
        new_items = [unique[m] for m in ids if m in new_ids]
        _update_nsps(conn, new_items, presences, cp_id)
        for hook in hooks:
            hook(conn, new_items, presences)
        if rejected:
            conn.execute(sa.insert(DeadLetter), [_dead_letter_row(r) for r in rejected])

    results = []
    for item in accepted:
        m = item.message
        results.append(
            StoreResult(
                message_id=m.message_id,
                nsp_id=m.nsp_id,
                seq=m.seq,
                kind=m.kind,
                stored_at=stored[m.message_id],
                new=m.message_id in new_ids and item is unique[m.message_id],
            )
        )
    return results


def _stored_at(conn: Connection, ids: list[str]) -> dict[str, datetime]:
    out: dict[str, datetime] = {}
    table = Message.__table__  # type: ignore[attr-defined]
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = conn.execute(
            sa.select(table.c.message_id, table.c.received_at).where(table.c.message_id.in_(chunk))
        )
        out.update({mid: at for mid, at in rows})
    return out


def _update_nsps(
    conn: Connection, new: list[Accepted], presences: list[PresenceSeen], cp_id: str
) -> None:
    by_nsp: dict[str, list[Accepted]] = {}
    for a in new:
        by_nsp.setdefault(a.message.nsp_id, []).append(a)
    nsp_ids = set(by_nsp) | {p.presence.nsp_id for p in presences}
    if not nsp_ids:
        return
    table = Nsp.__table__  # type: ignore[attr-defined]
    known = {
        row.nsp_id: row
        for row in conn.execute(sa.select(table).where(table.c.nsp_id.in_(sorted(nsp_ids))))
    }
    for nsp_id in sorted(nsp_ids):
        row = known.get(nsp_id)
        values: dict[str, Any] = {}
        if row is None:
            conn.execute(
                sa.insert(table).values(
                    nsp_id=nsp_id,
                    cp_id=cp_id,
                    message_count=0,
                    max_seq=0,
                    gaps=[],
                    seq_conflicts=0,
                    last_status_seq=0,
                    registered=False,
                )
            )
        items = sorted(by_nsp.get(nsp_id, []), key=lambda a: a.received_at)
        if items:
            state = _SeqState(
                max_seq=row.max_seq if row else 0,
                gaps=[list(g) for g in (row.gaps if row else [])],
                conflicts=row.seq_conflicts if row else 0,
            )
            for a in sorted(items, key=lambda a: a.message.seq):
                state.see(a.message.seq)
            last = items[-1]
            values.update(
                max_seq=state.max_seq,
                gaps=state.trimmed_gaps(),
                seq_conflicts=state.conflicts,
                message_count=(row.message_count if row else 0) + len(items),
                last_seen=last.received_at,
                skew_seconds=(last.received_at - last.message.sent_at).total_seconds(),
            )
            if row is None or row.first_seen is None:
                values["first_seen"] = items[0].received_at
            statuses = [a for a in items if a.message.kind == "status"]
            if statuses:
                newest = max(statuses, key=lambda a: a.message.seq)
                # A status that arrives late (reconnect backlog) must not replace a newer one.
                if row is None or newest.message.seq > row.last_status_seq:
                    values["last_status"] = newest.message.body.model_dump(mode="json")
                    values["last_status_at"] = newest.received_at
                    values["last_status_seq"] = newest.message.seq
        for p in sorted(
            (p for p in presences if p.presence.nsp_id == nsp_id), key=lambda p: p.received_at
        ):
            values["online"] = p.presence.online
            values["presence_changed_at"] = p.received_at
            values.setdefault("last_seen", p.received_at)
        if values:
            conn.execute(sa.update(table).where(table.c.nsp_id == nsp_id).values(**values))


def _dead_letter_row(r: Rejected) -> dict[str, Any]:
    truncated = len(r.payload) > r.max_stored_bytes
    return {
        "received_at": r.received_at,
        "transport": r.transport,
        "topic": r.topic[:1024] if r.topic else None,
        "nsp_id": r.nsp_id[:200] if r.nsp_id else None,
        "reason": r.reason,
        "payload": r.payload[: r.max_stored_bytes],
        "payload_size": len(r.payload),
        "truncated": truncated,
    }
