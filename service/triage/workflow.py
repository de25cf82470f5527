"""The operator's workflow: item states, legal transitions, merge, split, and the audit trail.

Every action runs in one transaction that also records the audit entry and queues the state
acks for the gateways (service.triage.acks), so the three never disagree. Items involved
are locked first (``FOR UPDATE`` on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite) so a report
the ingest worker is adding at the same moment lands in the right place.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from noodcore.db import in_values, table_of
from schemas import HandlingState
from schemas.upstream import SummaryTrigger
from service.triage.acks import enqueue_ack
from service.triage.models import TriageAudit, TriageItem, TriageReport
from service.upstream.events import state_event
from service.upstream.node import owe_summary

ITEMS = table_of(TriageItem)
REPORTS = table_of(TriageReport)
AUDIT = table_of(TriageAudit)


class ItemState(StrEnum):
    NEW = "new"
    ACKNOWLEDGED = "acknowledged"
    DISPATCHED = "dispatched"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED_DUPLICATE = "closed_duplicate"
    CLOSED_NOT_NEEDED = "closed_not_needed"


OPEN_STATES: tuple[str, ...] = ("new", "acknowledged", "dispatched", "in_progress")
_CLOSING = {ItemState.RESOLVED, ItemState.CLOSED_DUPLICATE, ItemState.CLOSED_NOT_NEEDED}

TRANSITIONS: dict[ItemState, frozenset[ItemState]] = {
    ItemState.NEW: frozenset(
        {
            ItemState.ACKNOWLEDGED,
            ItemState.DISPATCHED,
            ItemState.IN_PROGRESS,
            ItemState.CLOSED_DUPLICATE,
            ItemState.CLOSED_NOT_NEEDED,
        }
    ),
    ItemState.ACKNOWLEDGED: frozenset({ItemState.DISPATCHED, ItemState.IN_PROGRESS, *_CLOSING}),
    ItemState.DISPATCHED: frozenset({ItemState.IN_PROGRESS, *_CLOSING}),
    ItemState.IN_PROGRESS: frozenset(_CLOSING),
    # Reopening: a closed item goes back to 'acknowledged', never silently to 'new'.
    ItemState.RESOLVED: frozenset({ItemState.ACKNOWLEDGED}),
    ItemState.CLOSED_DUPLICATE: frozenset({ItemState.ACKNOWLEDGED}),
    ItemState.CLOSED_NOT_NEEDED: frozenset({ItemState.ACKNOWLEDGED}),
}

# What the gateway is told. 'new' is never sent: the ingest ack already said 'stored'.
HANDLING: dict[ItemState, HandlingState] = {
    ItemState.ACKNOWLEDGED: HandlingState.ACKNOWLEDGED,
    ItemState.DISPATCHED: HandlingState.DISPATCHED,
    ItemState.IN_PROGRESS: HandlingState.IN_PROGRESS,
    ItemState.RESOLVED: HandlingState.RESOLVED,
    ItemState.CLOSED_DUPLICATE: HandlingState.CLOSED_DUPLICATE,
    ItemState.CLOSED_NOT_NEEDED: HandlingState.CLOSED_NOT_NEEDED,
}


CLASS_RANK = {"P1": 1, "P2": 2, "P3": 3, "P4": 4}


def rep_key(cls: str, description: str) -> tuple[int, int]:
    """Orders reports for 'which one represents the item': most urgent, then most detailed."""
    return (CLASS_RANK.get(cls, 5), -len(description))


class NotFound(Exception):
    pass


class Conflict(Exception):
    """An action the item's state does not allow (HTTP 409)."""


class Invalid(Exception):
    """A request that names something it may not (HTTP 422); ``field`` says which."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    with engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            # Take the write lock before reading, so what we check is what we change.
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield conn


def lock_items(conn: Connection, ids: Sequence[int]) -> dict[int, Any]:
    stmt = (
        sa.select(ITEMS).where(in_values(conn, ITEMS.c.id, sorted(set(ids)))).order_by(ITEMS.c.id)
    )
    if conn.dialect.name != "sqlite":
        stmt = stmt.with_for_update()
    return {row.id: row for row in conn.execute(stmt)}


def _get(conn: Connection, item_id: int) -> Any:
    row = lock_items(conn, [item_id]).get(item_id)
    if row is None:
        raise NotFound(f"no item with id {item_id}")
    return row


def audit(
    conn: Connection,
    item_id: int,
    at: datetime,
    actor: str,
    action: str,
    from_state: str | None,
    to_state: str | None,
    note: str | None,
    details: dict[str, Any] | None = None,
) -> None:
    conn.execute(
        sa.insert(AUDIT).values(
            item_id=item_id,
            at=at,
            actor=actor,
            action=action,
            from_state=from_state,
            to_state=to_state,
            note=note,
            details=details or {},
        )
    )


def _ack_reports(
    conn: Connection,
    cp_id: str,
    item_id: int,
    state: ItemState,
    note: str | None,
    at: datetime,
    message_ids: Sequence[str] | None = None,
) -> int:
    """Queue a state ack for every report of the item (or the given ones)."""
    handling = HANDLING.get(state)
    if handling is None:
        return 0
    stmt = sa.select(REPORTS.c.message_id, REPORTS.c.nsp_id, REPORTS.c.received_at).where(
        REPORTS.c.item_id == item_id
    )
    if message_ids is not None:
        stmt = stmt.where(REPORTS.c.message_id.in_(list(message_ids)))
    rows = conn.execute(stmt.order_by(REPORTS.c.received_at, REPORTS.c.message_id)).all()
    for message_id, nsp_id, received_at in rows:
        enqueue_ack(
            conn,
            cp_id=cp_id,
            nsp_id=nsp_id,
            ref_message_id=message_id,
            stored_at=received_at,
            state=handling,
            note=note,
            item_id=item_id,
            at=at,
        )
    return len(rows)


def change_state(
    engine: Engine,
    cp_id: str,
    item_id: int,
    to: ItemState,
    note: str | None,
    actor: str,
    at: datetime,
) -> int:
    """Move an item to ``to``; returns how many acks were queued. 409 when not allowed."""
    with write_transaction(engine) as conn:
        item = _get(conn, item_id)
        current = ItemState(item.state)
        if item.merged_into is not None:
            raise Conflict(
                f"item {item_id} was merged into item {item.merged_into}; act on that item, "
                "or split reports out of it"
            )
        if to not in TRANSITIONS[current]:
            allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "none"
            raise Conflict(
                f"item {item_id} is '{current.value}'; it cannot go to '{to.value}' "
                f"(allowed: {allowed})"
            )
        conn.execute(
            sa.update(ITEMS)
            .where(ITEMS.c.id == item_id)
            .values(state=to.value, state_changed_at=at)
        )
        audit(conn, item_id, at, actor, "state", current.value, to.value, note)
        was_open, now_open = current.value in OPEN_STATES, to.value in OPEN_STATES
        if item.top_class == "P1" and was_open != now_open:
            # The region hears of a P1 at once; it hears at once that one is done (or back).
            trigger = SummaryTrigger.P1_CLOSED if was_open else SummaryTrigger.NEW_P1
            owe_summary(conn, [trigger.value])
        # Dashboards follow the stream: a P1 that is now 'hulp onderweg' must say so at once.
        state_event(
            conn,
            {
                "item_id": item_id,
                "top_class": item.top_class,
                "from": current.value,
                "to": to.value,
                "at": at.isoformat(),
            },
        )
        return _ack_reports(conn, cp_id, item_id, to, note, at)


def keep_separate(engine: Engine, item_id: int, note: str | None, actor: str, at: datetime) -> None:
    """The operator decided a possible duplicate is a separate incident."""
    with write_transaction(engine) as conn:
        item = _get(conn, item_id)
        if item.duplicate_status != "pending":
            raise Conflict(f"item {item_id} has no open 'possible duplicate' question")
        conn.execute(
            sa.update(ITEMS).where(ITEMS.c.id == item_id).values(duplicate_status="separate")
        )
        audit(
            conn,
            item_id,
            at,
            actor,
            "keep_separate",
            item.state,
            item.state,
            note,
            {"possible_duplicate_of": item.possible_duplicate_of},
        )


def merge(
    engine: Engine,
    cp_id: str,
    source_id: int,
    target_id: int,
    note: str | None,
    actor: str,
    at: datetime,
) -> None:
    """Move every report of ``source`` into ``target``; ``source`` closes as duplicate."""
    if source_id == target_id:
        raise Invalid("into", "an incident cannot be merged into itself")
    with write_transaction(engine) as conn:
        items = lock_items(conn, [source_id, target_id])
        for i in (source_id, target_id):
            if i not in items:
                raise NotFound(f"no item with id {i}")
        source, target = items[source_id], items[target_id]
        for row in (source, target):
            if row.item_type != "incident":
                raise Conflict(f"item {row.id} is a {row.item_type}; only incidents merge")
            if row.state not in OPEN_STATES:
                raise Conflict(
                    f"item {row.id} is '{row.state}'; reopen it before merging"
                    if row.merged_into is None
                    else f"item {row.id} was already merged into item {row.merged_into}"
                )
        if source.exercise_id != target.exercise_id:
            raise Conflict(
                "exercise (oefening) and real items never merge: item "
                f"{source_id} is {_realm(source.exercise_id)}, item {target_id} is "
                f"{_realm(target.exercise_id)}"
            )
        moved = [
            r.message_id
            for r in conn.execute(
                sa.select(REPORTS.c.message_id)
                .where(REPORTS.c.item_id == source_id)
                .order_by(REPORTS.c.received_at, REPORTS.c.message_id)
            )
        ]
        conn.execute(
            sa.update(REPORTS)
            .where(REPORTS.c.item_id == source_id)
            .values(item_id=target_id, joined_by="merge")
        )
        recompute(conn, target_id)
        conn.execute(
            sa.update(ITEMS)
            .where(ITEMS.c.id == source_id)
            .values(
                state=ItemState.CLOSED_DUPLICATE.value,
                state_changed_at=at,
                merged_into=target_id,
                report_count=0,
                duplicate_status="merged"
                if source.duplicate_status == "pending"
                else source.duplicate_status,
            )
        )
        # Questions "is X a duplicate of the source?" now concern the target.
        conn.execute(
            sa.update(ITEMS)
            .where(ITEMS.c.possible_duplicate_of == source_id, ITEMS.c.id != target_id)
            .values(possible_duplicate_of=target_id)
        )
        if target.duplicate_status == "pending" and target.possible_duplicate_of == source_id:
            conn.execute(
                sa.update(ITEMS).where(ITEMS.c.id == target_id).values(duplicate_status="merged")
            )
        details = {"source": source_id, "target": target_id, "message_ids": moved}
        audit(
            conn,
            source_id,
            at,
            actor,
            "merged_into",
            source.state,
            "closed_duplicate",
            note,
            details,
        )
        audit(conn, target_id, at, actor, "merge", target.state, target.state, note, details)
        # The moved reports now share the target's handling; tell their NSPs if it says more.
        target_state = ItemState(target.state)
        if target_state != ItemState.NEW:
            _ack_reports(conn, cp_id, target_id, target_state, note, at, moved)


def _realm(exercise_id: str | None) -> str:
    return f"from exercise {exercise_id!r}" if exercise_id else "real"


def split(
    engine: Engine,
    item_id: int,
    message_ids: Sequence[str],
    note: str | None,
    actor: str,
    at: datetime,
) -> int:
    """Take reports out of an incident into a new one; returns the new item's id.

    The grouping never puts them back: they now belong to the new incident, and later reports
    like them match them there.
    """
    wanted = sorted(set(message_ids))
    if not wanted:
        raise Invalid("message_ids", "name at least one report to split out")
    with write_transaction(engine) as conn:
        item = _get(conn, item_id)
        if item.item_type != "incident":
            raise Conflict(f"item {item_id} is a {item.item_type}; only incidents split")
        if item.merged_into is not None:
            raise Conflict(f"item {item_id} was merged into item {item.merged_into}")
        members = [
            r
            for r in conn.execute(
                sa.select(REPORTS)
                .where(REPORTS.c.item_id == item_id)
                .order_by(REPORTS.c.received_at, REPORTS.c.message_id)
            )
        ]
        member_ids = {r.message_id for r in members}
        unknown = [m for m in wanted if m not in member_ids]
        if unknown:
            raise Invalid("message_ids", f"not reports of item {item_id}: {', '.join(unknown)}")
        if len(wanted) == len(member_ids):
            raise Invalid(
                "message_ids",
                "at least one report must stay; close the incident or change its state instead",
            )
        first = next(r for r in members if r.message_id in wanted)
        new_id = conn.execute(
            sa.insert(ITEMS)
            .values(
                item_type="incident",
                family=first.family,
                category=first.category,
                state=ItemState.NEW.value,
                state_changed_at=at,
                first_seen=first.received_at,
                last_seen=first.received_at,
                report_count=0,
                nsp_ids=[],
                top_class=first.cls,
                life_threatening=False,
                people_involved=0,
                vulnerable_people=0,
                representative_message_id=first.message_id,
                description=first.description,
                split_from=item_id,
                exercise_id=item.exercise_id,
            )
            .returning(ITEMS.c.id)
        ).scalar_one()
        conn.execute(
            sa.update(REPORTS)
            .where(REPORTS.c.message_id.in_(wanted))
            .values(item_id=new_id, joined_by="split")
        )
        recompute(conn, item_id)
        recompute(conn, new_id)
        details = {"source": item_id, "new_item": new_id, "message_ids": wanted}
        audit(conn, item_id, at, actor, "split", item.state, item.state, note, details)
        audit(conn, new_id, at, actor, "split_out", None, ItemState.NEW.value, note, details)
        return int(new_id)


def recompute(conn: Connection, item_id: int) -> None:
    """Rebuild an item's aggregates from its reports (after a merge or split)."""
    rows = conn.execute(
        sa.select(REPORTS)
        .where(REPORTS.c.item_id == item_id)
        .order_by(REPORTS.c.received_at, REPORTS.c.message_id)
    ).all()
    if not rows:
        conn.execute(sa.update(ITEMS).where(ITEMS.c.id == item_id).values(report_count=0))
        return
    rep = min(rows, key=lambda r: rep_key(r.cls, r.description))
    with_address = next((r for r in rows if r.address), None)
    with_coords = next((r for r in rows if r.lat is not None), None)
    conn.execute(
        sa.update(ITEMS)
        .where(ITEMS.c.id == item_id)
        .values(
            first_seen=rows[0].received_at,
            last_seen=max(r.received_at for r in rows),
            report_count=len(rows),
            nsp_ids=sorted({r.nsp_id for r in rows}),
            top_class=rep.cls,
            life_threatening=any(r.life_threatening for r in rows),
            people_involved=max(r.people for r in rows),
            vulnerable_people=max(r.vulnerable for r in rows),
            representative_message_id=rep.message_id,
            description=rep.description,
            address=with_address.address[:300] if with_address else None,
            lat=with_coords.lat if with_coords else None,
            lon=with_coords.lon if with_coords else None,
        )
    )
