"""The durable upstream outbox: one row per item and target, written in the transaction of the
change that caused it, then worked off by the forwarder.

    pending ──2xx──▶ delivered
       │  └─ newer summary waiting ──▶ superseded (kept; only the newest summary goes up)
       └─ permanent 4xx, or still failing at give_up_at ──▶ dead ──operator retry──▶ pending

Order per target: P1 items (priority 0) before summaries (priority 1), each oldest first.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from noodcore.backoff import backoff_delay
from noodcore.db import table_of
from schemas import utcnow
from service.upstream import events
from service.upstream.models import UpstreamOutbox
from service.upstream.node import take_lock

_outbox = table_of(UpstreamOutbox)

PENDING, DELIVERED, SUPERSEDED, DEAD = "pending", "delivered", "superseded", "dead"
STATES = (PENDING, DELIVERED, SUPERSEDED, DEAD)
PRIORITY = {"p1_item": 0, "summary": 1}


@dataclass(frozen=True)
class OutboxItem:
    id: int
    idempotency_key: str
    target: str
    kind: str
    payload: str
    attempts: int
    next_attempt_at: datetime
    give_up_at: datetime


@dataclass(frozen=True)
class NewItem:
    """One item to queue for every target (``enqueue_many``)."""

    kind: str
    key: str
    ref: str
    payload: dict[str, Any] | str
    exercise: str | None = None  # the item belongs to that exercise (purged with it)


def enqueue(
    conn: Connection,
    targets: list[str],
    kind: str,
    key: str,
    ref: str,
    payload: dict[str, Any] | str,
    give_up_after: timedelta,
    exercise: str | None = None,
) -> int:
    """Queue one item for every target in the caller's transaction; returns rows added.
    See ``enqueue_many``."""
    return enqueue_many(conn, targets, [NewItem(kind, key, ref, payload, exercise)], give_up_after)


def enqueue_many(
    conn: Connection, targets: list[str], items: list[NewItem], give_up_after: timedelta
) -> int:
    """Queue ``items`` for every target in the caller's transaction, in one look-up and one
    insert (a reconnect backlog brings hundreds of P1s per ingest batch, and each extra round
    trip per P1 delays the acks of all of them); returns rows added.

    An item already queued for a target (same key) is left as it is, so a relayed item that
    arrives twice is still sent once.
    """
    if not targets or not items:
        return 0
    take_lock(conn)
    now = utcnow()
    keys = sorted({i.key for i in items})
    existing = {
        (row.idempotency_key, row.target)
        for row in conn.execute(
            sa.select(_outbox.c.idempotency_key, _outbox.c.target).where(
                _outbox.c.idempotency_key.in_(keys), _outbox.c.target.in_(targets)
            )
        )
    }
    rows = []
    for item in items:
        text = (
            item.payload
            if isinstance(item.payload, str)
            else json.dumps(item.payload, separators=(",", ":"))
        )
        for target in targets:
            if (item.key, target) in existing:
                continue
            existing.add((item.key, target))  # the same key twice in ``items``: once
            rows.append(
                {
                    "idempotency_key": item.key,
                    "target": target,
                    "kind": item.kind,
                    "priority": PRIORITY[item.kind],
                    "ref": item.ref[:63],
                    "payload": text,
                    "created_at": now,
                    "state": PENDING,
                    "attempts": 0,
                    "next_attempt_at": now,
                    "give_up_at": now + give_up_after,
                    "exercise_id": item.exercise,
                }
            )
    if rows:
        conn.execute(sa.insert(_outbox), rows)
    return len(rows)


def coalesce_summaries(engine: Engine, target: str) -> int:
    """Mark waiting summaries older than the newest waiting one as superseded."""
    waiting = (
        _outbox.c.target == target,
        _outbox.c.state == PENDING,
        _outbox.c.kind == "summary",
    )
    with engine.connect() as conn:
        newest = conn.execute(
            sa.select(_outbox.c.id, _outbox.c.idempotency_key)
            .where(*waiting)
            .order_by(_outbox.c.id.desc())
            .limit(2)
        ).all()
    if len(newest) < 2:  # the common case: no write, no lock
        return 0
    with engine.begin() as conn:
        result = conn.execute(
            sa.update(_outbox)
            .where(*waiting, _outbox.c.id < newest[0].id)
            .values(state=SUPERSEDED, superseded_by=newest[0].idempotency_key)
        )
        return int(result.rowcount or 0)


def queue_head(engine: Engine, target: str, limit: int) -> list[OutboxItem]:
    """The next items for ``target`` in sending order (the first may not be due yet)."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(_outbox)
            .where(_outbox.c.target == target, _outbox.c.state == PENDING)
            .order_by(_outbox.c.priority, _outbox.c.id)
            .limit(limit)
        ).all()
    return [
        OutboxItem(
            row.id,
            row.idempotency_key,
            row.target,
            row.kind,
            row.payload,
            row.attempts,
            row.next_attempt_at,
            row.give_up_at,
        )
        for row in rows
    ]


def mark_delivered(engine: Engine, delivered: list[tuple[OutboxItem, int]]) -> None:
    now = utcnow()
    with engine.begin() as conn:
        for item, status_code in delivered:
            conn.execute(
                sa.update(_outbox)
                .where(_outbox.c.id == item.id, _outbox.c.state == PENDING)
                .values(
                    state=DELIVERED,
                    attempts=_outbox.c.attempts + 1,
                    last_attempt_at=now,
                    delivered_at=now,
                    last_status_code=status_code,
                    last_error=None,
                )
            )


def backoff_seconds(attempts: int, base: float, cap: float) -> float:
    """Exponential backoff with jitter (``noodcore.backoff``): the region that comes back is
    not hit by every CP at the same moment."""
    return backoff_delay(attempts, base, cap, jitter=True)


def mark_failed(
    engine: Engine,
    item: OutboxItem,
    error: str,
    status_code: int | None,
    permanent: bool,
    base: float,
    cap: float,
) -> bool:
    """Record a failed attempt; returns True when the item is now dead."""
    now = utcnow()
    attempts = item.attempts + 1
    dead = permanent or now >= item.give_up_at
    values: dict[str, Any] = {
        "attempts": attempts,
        "last_attempt_at": now,
        "last_status_code": status_code,
        "last_error": error[:2000],
    }
    if dead:
        values.update(state=DEAD, dead_at=now)
    else:
        values["next_attempt_at"] = now + timedelta(seconds=backoff_seconds(attempts, base, cap))
    with engine.begin() as conn:
        if dead:
            # An operator must see this on the dashboard at once, not find it in a log.
            events.publish_event(
                conn,
                events.UPSTREAM,
                {
                    "action": "dead_letter",
                    "outbox_id": item.id,
                    "idempotency_key": item.idempotency_key,
                    "target": item.target,
                    "kind": item.kind,
                    "error": error[:500],
                },
            )
        conn.execute(
            sa.update(_outbox)
            .where(_outbox.c.id == item.id, _outbox.c.state == PENDING)
            .values(**values)
        )
    return dead


class NotRetryable(Exception):
    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.state = state


def retry_dead(
    conn: Connection,
    actor: str,
    give_up_after: timedelta,
    item_id: int | None = None,
    target: str | None = None,
) -> list[int]:
    """Put dead items back in the queue (one, or all, optionally per target)."""
    take_lock(conn)
    if item_id is not None:
        state = conn.execute(
            sa.select(_outbox.c.state).where(_outbox.c.id == item_id)
        ).scalar_one_or_none()
        if state is None:
            raise KeyError(item_id)
        if state != DEAD:
            raise NotRetryable(state)
    where = [_outbox.c.state == DEAD]
    if item_id is not None:
        where.append(_outbox.c.id == item_id)
    if target is not None:
        where.append(_outbox.c.target == target)
    ids = list(conn.execute(sa.select(_outbox.c.id).where(*where).order_by(_outbox.c.id)).scalars())
    if ids:
        now = utcnow()
        conn.execute(
            sa.update(_outbox)
            .where(_outbox.c.id.in_(ids))
            .values(
                state=PENDING,
                next_attempt_at=now,
                give_up_at=now + give_up_after,
                dead_at=None,
                retried_by=actor[:200],
                retried_at=now,
            )
        )
    return ids
