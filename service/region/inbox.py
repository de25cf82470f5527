"""Region role: accept summaries and P1 items from CPs, each idempotency key once.

    POST /api/v1/region/items ─▶ accept() ─▶ region_summary / region_urgent (+ region_cp)
                                          ├▶ stream event (summary, p1)
                                          └▶ upstream outbox, same key (relay to national)

Everything for one item commits in one transaction, so an item is either fully taken in
(stored, announced, queued for the national level) or not at all and the CP retries.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from noodcore.db import table_of
from schemas import utcnow
from schemas.common import EXERCISE_MARK
from schemas.upstream import SummaryUpstream, UpstreamItem, UrgentItemUpstream
from service.exercise.marks import mark_text
from service.region.models import RegionCp, RegionSummary, RegionUrgent
from service.upstream import events, outbox
from service.upstream.node import take_lock

_summaries = table_of(RegionSummary)
_cps = table_of(RegionCp)
_urgent = table_of(RegionUrgent)


class KeyReused(Exception):
    """The idempotency key is known with different content: a sender bug, never merged."""


@dataclass(frozen=True)
class Accepted:
    status: Literal["stored", "duplicate"]
    kind: str
    idempotency_key: str
    current: bool = False


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def accept(
    engine: Engine,
    item: UpstreamItem,
    sender: str | None,
    relay_targets: list[str],
    give_up_after: timedelta,
) -> Accepted:
    payload = item.model_dump(mode="json")
    table = _summaries if item.kind == "summary" else _urgent
    with engine.begin() as conn:
        take_lock(conn)
        existing = conn.execute(
            sa.select(table.c.id, table.c.payload).where(
                table.c.idempotency_key == item.idempotency_key
            )
        ).first()
        if existing is not None:
            if _canonical(existing.payload) != _canonical(payload):
                raise KeyReused(
                    f"idempotency key {item.idempotency_key!r} was already used for different "
                    "content"
                )
            conn.execute(
                sa.update(table)
                .where(table.c.id == existing.id)
                .values(receive_count=table.c.receive_count + 1)
            )
            return Accepted("duplicate", item.kind, item.idempotency_key)
        now = utcnow()
        current = False
        if isinstance(item, SummaryUpstream):
            current = _store_summary(conn, item, payload, sender, now)
            data = {**payload["body"], "current": current, "received_at": now.isoformat()}
            events.publish_event(conn, events.SUMMARY, data)
        else:
            _store_urgent(conn, item, payload, sender, now)
            events.publish_event(conn, events.P1, urgent_event(item))
        if isinstance(item, SummaryUpstream):
            ref = str(item.body.seq)
        else:
            ref = item.body.message.message_id
        outbox.enqueue(
            conn,
            relay_targets,
            item.kind,
            item.idempotency_key,
            ref,
            item.model_dump_json(),
            give_up_after,
        )
        return Accepted("stored", item.kind, item.idempotency_key, current)


def _store_summary(
    conn: sa.Connection,
    item: SummaryUpstream,
    payload: dict[str, Any],
    sender: str | None,
    now: Any,
) -> bool:
    """Store; make it the CP's current summary when it is newer. Returns whether it is."""
    s = item.body
    row_id = conn.execute(
        sa.insert(_summaries)
        .values(
            idempotency_key=item.idempotency_key,
            cp_id=s.cp_id,
            instance_id=s.instance_id,
            seq=s.seq,
            produced_at=s.produced_at,
            received_at=now,
            received_from=sender,
            receive_count=1,
            payload=payload,
        )
        .returning(_summaries.c.id)
    ).scalar_one()
    cur = conn.execute(sa.select(_cps).where(_cps.c.cp_id == s.cp_id)).first()
    values = {
        "summary_row_id": row_id,
        "instance_id": s.instance_id,
        "seq": s.seq,
        "produced_at": s.produced_at,
        "received_at": now,
    }
    if cur is None:
        conn.execute(sa.insert(_cps).values(cp_id=s.cp_id, **values))
        return True
    # Same database: the sequence number decides (a late retry of an old summary must not
    # replace a newer one). A new database restarted seq at 1: its clock decides.
    newer = s.seq > cur.seq if s.instance_id == cur.instance_id else s.produced_at > cur.produced_at
    if newer:
        conn.execute(sa.update(_cps).where(_cps.c.cp_id == s.cp_id).values(**values))
    return newer


def _store_urgent(
    conn: sa.Connection,
    item: UrgentItemUpstream,
    payload: dict[str, Any],
    sender: str | None,
    now: Any,
) -> None:
    u = item.body
    m = u.message
    conn.execute(
        sa.insert(_urgent).values(
            idempotency_key=item.idempotency_key,
            cp_id=u.cp_id,
            message_id=m.message_id,
            nsp_id=m.nsp_id,
            kind=m.kind,
            category=m.body.category if m.kind == "help_request" else m.body.resource,
            cp_received_at=u.received_at,
            received_at=now,
            received_from=sender,
            receive_count=1,
            payload=payload,
            exercise_id=u.exercise or m.exercise,
        )
    )


def urgent_event(item: UrgentItemUpstream) -> dict[str, Any]:
    """The same ``p1`` event shape a CP publishes, so one dashboard serves both roles."""
    u = item.body
    m = u.message
    if m.kind == "help_request":
        category, text = m.body.category.value, m.body.description
        location = m.body.location.model_dump(mode="json", exclude_none=True)
    else:
        category, text, location = m.body.resource.value, m.body.item, None
    return {
        "cp_id": u.cp_id,
        "message_id": m.message_id,
        "nsp_id": m.nsp_id,
        "nsp_name": u.nsp.name,
        "kind": m.kind,
        "urgency": "P1",
        "category": category,
        "text": mark_text(text, u.exercise or m.exercise),
        "location": location,
        "received_at": u.received_at.isoformat(),
        "exercise": u.exercise or m.exercise,
        "mark": EXERCISE_MARK if (u.exercise or m.exercise) else None,
    }
