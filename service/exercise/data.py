"""Open, close, export and purge an exercise (oefening) at the CP.

Invariants:

* Purge deletes exactly the rows whose ``exercise_id`` is the exercise's (and the rows that
  hang off them: an exercise item's audit trail and state acks, an exercise bulletin's
  versions and receipts, an exercise task's per-NSP copies). A row without an exercise id is
  never touched: the WHERE clause of every delete names the exercise id or ids taken from
  rows that carry it. This is the only place the CP deletes data, and only on an admin's
  explicit command, after the exercise was closed.
* An open exercise cannot be purged (close it first), so nothing the exercise still makes
  can arrive between export and purge from the CP's side; late gateway resends of a purged
  exercise are stored again, marked, and a second purge removes them.
* Export reads everything the purge would delete, in one transaction, so an export taken
  just before a purge holds what the purge removed.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from noodcore.db import table_of
from schemas import utcnow
from schemas.common import EXERCISE_MARK
from service.bulletins.models import BulletinReceipt, BulletinRecord, BulletinVersion
from service.exercise.models import Exercise
from service.models import DeadLetter, Message
from service.region.models import RegionUrgent
from service.tasks.models import NspTask, NspTaskTarget
from service.triage.models import (
    GroupingPending,
    StateAckOutbox,
    TriageAudit,
    TriageItem,
    TriageReport,
)
from service.upstream.models import StreamEvent, UpstreamOutbox

EXERCISES = table_of(Exercise)
MESSAGES = table_of(Message)
DEAD = table_of(DeadLetter)
ITEMS = table_of(TriageItem)
REPORTS = table_of(TriageReport)
PENDING = table_of(GroupingPending)
AUDIT = table_of(TriageAudit)
STATE_ACKS = table_of(StateAckOutbox)
BULLETINS = table_of(BulletinRecord)
VERSIONS = table_of(BulletinVersion)
RECEIPTS = table_of(BulletinReceipt)
TASKS = table_of(NspTask)
TARGETS = table_of(NspTaskTarget)
UP_OUTBOX = table_of(UpstreamOutbox)
URGENT = table_of(RegionUrgent)
EVENTS = table_of(StreamEvent)


class ExerciseError(Exception):
    """Refused: ``status`` is the HTTP status that says why (404, 409, 422)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class ExerciseState:
    exercise_id: str
    name: str
    opened_at: datetime
    opened_by: str
    closed_at: datetime | None
    closed_by: str | None
    purged_at: datetime | None
    purged_by: str | None
    purged_counts: dict[str, Any] | None
    counts: dict[str, int]

    @property
    def state(self) -> Literal["open", "closed", "purged"]:
        if self.purged_at is not None:
            return "purged"
        return "closed" if self.closed_at is not None else "open"


def _row(conn: Connection, exercise_id: str) -> Any:
    return conn.execute(sa.select(EXERCISES).where(EXERCISES.c.exercise_id == exercise_id)).first()


def counts(conn: Connection, exercise_id: str) -> dict[str, int]:
    """How many rows of each kind the exercise has now."""

    def n(table: sa.Table) -> int:
        return int(
            conn.execute(
                sa.select(sa.func.count()).where(table.c.exercise_id == exercise_id)
            ).scalar_one()
        )

    return {
        "messages": n(MESSAGES),
        "dead_letters": n(DEAD),
        "items": n(ITEMS),
        "reports": n(REPORTS),
        "bulletins": n(BULLETINS),
        "tasks": n(TASKS),
        "upstream_items": n(UP_OUTBOX),
        "region_p1_items": n(URGENT),
    }


def _state(conn: Connection, row: Any) -> ExerciseState:
    return ExerciseState(
        **dict(row._mapping),
        counts=counts(conn, row.exercise_id),
    )


def open_exercise(engine: Engine, exercise_id: str, name: str, actor: str) -> ExerciseState:
    with engine.begin() as conn:
        if _row(conn, exercise_id) is not None:
            raise ExerciseError(409, f"exercise {exercise_id!r} exists already; pick a new id")
        conn.execute(
            sa.insert(EXERCISES).values(
                exercise_id=exercise_id, name=name, opened_at=utcnow(), opened_by=actor
            )
        )
        return _state(conn, _row(conn, exercise_id))


def get(engine: Engine, exercise_id: str) -> ExerciseState:
    with engine.connect() as conn:
        row = _row(conn, exercise_id)
        if row is None:
            raise ExerciseError(404, f"no exercise {exercise_id!r}")
        return _state(conn, row)


def list_all(engine: Engine) -> list[ExerciseState]:
    with engine.connect() as conn:
        rows = conn.execute(sa.select(EXERCISES).order_by(EXERCISES.c.opened_at.desc())).all()
        return [_state(conn, r) for r in rows]


def open_ids(conn: Connection) -> list[tuple[str, str]]:
    """(id, name) of every open exercise, oldest first."""
    return [
        (r.exercise_id, r.name)
        for r in conn.execute(
            sa.select(EXERCISES.c.exercise_id, EXERCISES.c.name)
            .where(EXERCISES.c.closed_at.is_(None))
            .order_by(EXERCISES.c.opened_at)
        )
    ]


def require_open(conn: Connection, exercise_id: str) -> None:
    """For something the CP makes in an exercise (bulletin, task): the exercise must be open."""
    row = _row(conn, exercise_id)
    if row is None:
        raise ExerciseError(422, f"no exercise {exercise_id!r}; open it first")
    if row.closed_at is not None:
        raise ExerciseError(422, f"exercise {exercise_id!r} is closed")


def close(engine: Engine, exercise_id: str, actor: str) -> ExerciseState:
    with engine.begin() as conn:
        row = _row(conn, exercise_id)
        if row is None:
            raise ExerciseError(404, f"no exercise {exercise_id!r}")
        if row.closed_at is None:
            conn.execute(
                sa.update(EXERCISES)
                .where(EXERCISES.c.exercise_id == exercise_id)
                .values(closed_at=utcnow(), closed_by=actor)
            )
        return _state(conn, _row(conn, exercise_id))


def _ids(conn: Connection, column: Any, table: sa.Table, exercise_id: str) -> list[Any]:
    return [r[0] for r in conn.execute(sa.select(column).where(table.c.exercise_id == exercise_id))]


def _rows(conn: Connection, stmt: Any) -> list[dict[str, Any]]:
    out = []
    for r in conn.execute(stmt):
        row = dict(r._mapping)
        for k, v in row.items():
            if isinstance(v, bytes):
                row[k] = v.decode("utf-8", errors="replace")
            elif isinstance(v, datetime):
                row[k] = v.isoformat()
        out.append(row)
    return out


def export(engine: Engine, exercise_id: str) -> dict[str, Any]:
    """Everything the exercise made, as JSON-ready rows per table (what purge deletes)."""
    with engine.begin() as conn:
        row = _row(conn, exercise_id)
        item_ids = _ids(conn, ITEMS.c.id, ITEMS, exercise_id)
        bulletin_ids = _ids(conn, BULLETINS.c.bulletin_id, BULLETINS, exercise_id)
        task_ids = _ids(conn, TASKS.c.task_id, TASKS, exercise_id)
        by_ex = {
            "messages": MESSAGES,
            "dead_letters": DEAD,
            "items": ITEMS,
            "reports": REPORTS,
            "bulletins": BULLETINS,
            "tasks": TASKS,
            "upstream_items": UP_OUTBOX,
            "region_p1_items": URGENT,
        }
        data: dict[str, Any] = {
            "exercise": _rows(
                conn, sa.select(EXERCISES).where(EXERCISES.c.exercise_id == exercise_id)
            )[0]
            if row is not None
            else {"exercise_id": exercise_id, "name": None},
            "mark": EXERCISE_MARK,
        }
        for name, table in by_ex.items():
            data[name] = _rows(
                conn,
                sa.select(table)
                .where(table.c.exercise_id == exercise_id)
                .order_by(*table.primary_key.columns),
            )
        data["audit"] = _rows(
            conn, sa.select(AUDIT).where(AUDIT.c.item_id.in_(item_ids)).order_by(AUDIT.c.id)
        )
        data["bulletin_versions"] = _rows(
            conn,
            sa.select(VERSIONS)
            .where(VERSIONS.c.bulletin_id.in_(bulletin_ids))
            .order_by(VERSIONS.c.id),
        )
        data["task_targets"] = _rows(
            conn, sa.select(TARGETS).where(TARGETS.c.task_id.in_(task_ids)).order_by(TARGETS.c.id)
        )
    return data


CSV_COLUMNS = (
    "mark",
    "exercise_id",
    "table",
    "id",
    "kind",
    "nsp_id",
    "at",
    "urgency",
    "state",
    "text",
)


def export_csv(data: dict[str, Any]) -> str:
    """The messages and queue items of an export as one CSV, every line marked OEFENING."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(CSV_COLUMNS)
    ex = data["exercise"]["exercise_id"]
    for m in data["messages"]:
        body = m["body"] or {}
        text = body.get("description") or body.get("item") or body.get("note") or ""
        w.writerow(
            (
                EXERCISE_MARK,
                ex,
                "message",
                m["message_id"],
                m["kind"],
                m["nsp_id"],
                m["received_at"],
                m["urgency"] or "",
                "",
                text,
            )
        )
    for i in data["items"]:
        w.writerow(
            (
                EXERCISE_MARK,
                ex,
                "item",
                i["id"],
                i["item_type"],
                " ".join(i["nsp_ids"] or []),
                i["first_seen"],
                i["top_class"],
                i["state"],
                i["description"],
            )
        )
    return out.getvalue()


def purge(engine: Engine, exercise_id: str, actor: str) -> dict[str, int]:
    """Delete the exercise's data (see the module invariants); returns what it deleted."""
    with engine.begin() as conn:
        row = _row(conn, exercise_id)
        if row is not None and row.closed_at is None:
            raise ExerciseError(409, f"exercise {exercise_id!r} is still open; close it first")
        if row is None and not any(counts(conn, exercise_id).values()):
            # A region (or a CP that never opened it) holds an exercise's data without its
            # row: that data can be purged; an id nothing carries is a typing error.
            raise ExerciseError(404, f"no exercise {exercise_id!r} and no data carrying it")
        # Its reports still waiting for the grouping process (service/triage/grouper.py) go
        # first: a grouping transaction holding them ends (and its items are seen below)
        # before anything else is deleted, and none is placed after the purge.
        conn.execute(
            sa.delete(PENDING).where(
                PENDING.c.message_id.in_(
                    sa.select(MESSAGES.c.message_id).where(MESSAGES.c.exercise_id == exercise_id)
                )
            )
        )
        item_ids = _ids(conn, ITEMS.c.id, ITEMS, exercise_id)
        bulletin_ids = _ids(conn, BULLETINS.c.bulletin_id, BULLETINS, exercise_id)
        task_ids = _ids(conn, TASKS.c.task_id, TASKS, exercise_id)
        deleted: dict[str, int] = {}

        def delete(name: str, table: sa.Table, where: Any) -> None:
            n = int(conn.execute(sa.delete(table).where(where)).rowcount or 0)
            deleted[name] = deleted.get(name, 0) + n

        for start in range(0, max(len(item_ids), 1), 500):
            chunk = item_ids[start : start + 500]
            delete("audit", AUDIT, AUDIT.c.item_id.in_(chunk))
            delete("state_acks", STATE_ACKS, STATE_ACKS.c.item_id.in_(chunk))
        delete("bulletin_receipts", RECEIPTS, RECEIPTS.c.bulletin_id.in_(bulletin_ids))
        delete("bulletin_versions", VERSIONS, VERSIONS.c.bulletin_id.in_(bulletin_ids))
        delete("task_targets", TARGETS, TARGETS.c.task_id.in_(task_ids))
        for name, table in (
            ("reports", REPORTS),
            ("items", ITEMS),
            ("messages", MESSAGES),
            ("dead_letters", DEAD),
            ("bulletins", BULLETINS),
            ("tasks", TASKS),
            ("upstream_items", UP_OUTBOX),
            ("region_p1_items", URGENT),
        ):
            delete(name, table, table.c.exercise_id == exercise_id)
        delete("stream_events", EVENTS, EVENTS.c.data["exercise"].as_string() == exercise_id)
        if row is not None:
            conn.execute(
                sa.update(EXERCISES)
                .where(EXERCISES.c.exercise_id == exercise_id)
                .values(purged_at=utcnow(), purged_by=actor, purged_counts=deleted)
            )
        return deleted
