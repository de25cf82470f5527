"""What the CP sends down and the gateway keeps: bulletins, tasks, and rejected messages.

Bulletins arrive retained, so every reconnect delivers the current versions again; storing
is therefore idempotent per (bulletin_id, version) and an older version never replaces a
newer one. A newly stored version is confirmed to the CP with a ``receipt`` in the same
transaction, so the receipt cannot be lost between the two writes. Tasks work the same way:
a new task revision is confirmed with a ``task_update`` (received), and staff marking a task
done (or taking that back) is a ``task_update`` committed together with the local state.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from sqlalchemy import func
from sqlmodel import Session, col, select

from gateway.models import BulletinRow, DeadLetterRow, TaskProgressRow, TaskRow
from gateway.outbox import Outbox, OutboxEntry
from schemas import (
    Bulletin,
    BulletinMessage,
    Receipt,
    Task,
    TaskMessage,
    TaskState,
    TaskUpdate,
    utcnow,
)

log = logging.getLogger(__name__)

MAX_DEAD_LETTER_PAYLOAD = 16_384


class StoreOutcome(StrEnum):
    NEW = "new"  # stored (first or newer version)
    SAME = "same"  # this version/message was already stored
    OLDER = "older"  # an older version than the stored one; ignored


@dataclass(frozen=True)
class StoredBulletin:
    bulletin: Bulletin
    received_at: datetime


@dataclass(frozen=True)
class StoredTask:
    task: Task
    received_at: datetime
    cp_sent_at: datetime
    done: bool = False
    done_at: datetime | None = None
    done_by: str | None = None
    note: str | None = None


class TaskNotFoundError(LookupError):
    pass


class TaskStateError(ValueError):
    """The change does not fit the task's state (e.g. 'done' on a cancelled task)."""


@dataclass(frozen=True)
class DeadLetter:
    id: int
    received_at: datetime
    topic: str
    payload: str
    reason: str


class Inbox:
    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox
        self._engine = outbox.engine

    # ------------------------------------------------------------------ bulletins

    def store_bulletin(self, message: BulletinMessage) -> StoreOutcome:
        bulletin = message.body
        now = utcnow()
        for_us = bulletin.target_nsps is None or self._outbox.nsp_id in bulletin.target_nsps
        with self._outbox.write() as tx:
            row = tx.session.get(BulletinRow, bulletin.bulletin_id)
            if row is not None and row.version > bulletin.version:
                return StoreOutcome.OLDER
            if row is not None and row.version == bulletin.version:
                return StoreOutcome.SAME
            row = row or BulletinRow(
                bulletin_id=bulletin.bulletin_id,
                version=bulletin.version,
                withdrawn=bulletin.withdrawn,
                for_us=for_us,
                urgency=bulletin.urgency.value,
                valid_from=bulletin.valid_from,
                body="",
                cp_message_id=message.message_id,
                cp_sent_at=message.sent_at,
                received_at=now,
            )
            row.version = bulletin.version
            row.withdrawn = bulletin.withdrawn
            row.for_us = for_us
            row.urgency = bulletin.urgency.value
            row.valid_from = bulletin.valid_from
            row.valid_until = bulletin.valid_until
            row.body = bulletin.model_dump_json()
            row.cp_message_id = message.message_id
            row.cp_sent_at = message.sent_at
            row.received_at = now
            tx.session.add(row)
            if for_us:
                receipt = Receipt(
                    bulletin_id=bulletin.bulletin_id, version=bulletin.version, shown_at=now
                )
                self._outbox.enqueue_in(tx, "receipt", receipt)
        log.info(
            "bulletin %s version %s stored%s",
            bulletin.bulletin_id,
            bulletin.version,
            "" if for_us else " (not addressed to this NSP)",
        )
        return StoreOutcome.NEW

    def current_bulletins(self, now: datetime | None = None) -> list[StoredBulletin]:
        """Bulletins to show: addressed to this NSP, not withdrawn, not expired.

        Not-yet-valid bulletins are shown too (the screen shows 'valid from'): a Pi that
        lost its clock would otherwise hide everything.
        """
        now = now or utcnow()
        with Session(self._engine) as session:
            rows = session.exec(
                select(BulletinRow)
                .where(BulletinRow.for_us == True)  # noqa: E712
                .where(BulletinRow.withdrawn == False)  # noqa: E712
                .where(
                    (col(BulletinRow.valid_until).is_(None)) | (col(BulletinRow.valid_until) > now)
                )
                .order_by(col(BulletinRow.urgency), col(BulletinRow.valid_from).desc())
            ).all()
        return [StoredBulletin(Bulletin.model_validate_json(r.body), r.received_at) for r in rows]

    # ------------------------------------------------------------------ tasks

    def store_task(self, message: TaskMessage) -> StoreOutcome:
        task = message.body
        with self._outbox.write() as tx:
            row = tx.session.get(TaskRow, task.task_id)
            if row is not None and row.cp_message_id == message.message_id:
                return StoreOutcome.SAME
            if row is not None:
                known = Task.model_validate_json(row.body)
                # The revision orders changes; within one revision the CP's clock does.
                if known.revision > task.revision or (
                    known.revision == task.revision and row.cp_sent_at > message.sent_at
                ):
                    return StoreOutcome.OLDER
            row = row or TaskRow(
                task_id=task.task_id,
                body="",
                cp_message_id=message.message_id,
                cp_sent_at=message.sent_at,
                received_at=utcnow(),
            )
            row.body = task.model_dump_json()
            row.due_at = task.due_at
            row.cp_message_id = message.message_id
            row.cp_sent_at = message.sent_at
            row.received_at = utcnow()
            tx.session.add(row)
            confirmation = TaskUpdate(
                task_id=task.task_id,
                revision=task.revision,
                state=TaskState.RECEIVED,
                at=row.received_at,
            )
            self._outbox.enqueue_in(tx, "task_update", confirmation)
        log.info("task %s stored: %s", task.task_id, task.title)
        return StoreOutcome.NEW

    def tasks(self) -> list[StoredTask]:
        """All tasks, those with the earliest due time first, undated ones last."""
        with Session(self._engine) as session:
            rows = session.exec(
                select(TaskRow).order_by(
                    col(TaskRow.due_at).is_(None),
                    col(TaskRow.due_at),
                    col(TaskRow.received_at).desc(),
                )
            ).all()
            progress = {p.task_id: p for p in session.exec(select(TaskProgressRow)).all()}
        out = []
        for r in rows:
            p = progress.get(r.task_id)
            out.append(
                StoredTask(
                    Task.model_validate_json(r.body),
                    r.received_at,
                    r.cp_sent_at,
                    done=bool(p and p.done),
                    done_at=p.done_at if p else None,
                    done_by=p.done_by if p else None,
                    note=p.note if p else None,
                )
            )
        return out

    def set_task_done(
        self, task_id: str, done: bool, by: str | None = None, note: str | None = None
    ) -> tuple[StoredTask, OutboxEntry | None]:
        """Staff mark a task done (or take that back); the CP is told through the outbox.

        Marking it as it already is changes nothing and sends nothing (a double click).
        """
        now = utcnow()
        with self._outbox.write() as tx:
            row = tx.session.get(TaskRow, task_id)
            if row is None:
                raise TaskNotFoundError(task_id)
            task = Task.model_validate_json(row.body)
            if task.cancelled:
                raise TaskStateError(f"task {task_id!r} was cancelled by the CP")
            progress = tx.session.get(TaskProgressRow, task_id)
            entry = None
            if (progress.done if progress else False) != done:
                progress = progress or TaskProgressRow(task_id=task_id, updated_at=now)
                progress.done = done
                progress.done_at = now if done else None
                progress.done_by = by if done else None
                progress.note = note
                progress.updated_at = now
                tx.session.add(progress)
                update = TaskUpdate(
                    task_id=task_id,
                    revision=task.revision,
                    state=TaskState.DONE if done else TaskState.REOPENED,
                    at=now,
                    by=by,
                    note=note,
                )
                entry = self._outbox.enqueue_in(tx, "task_update", update)
            stored = StoredTask(
                task,
                row.received_at,
                row.cp_sent_at,
                done=done,
                done_at=progress.done_at if progress else None,
                done_by=progress.done_by if progress else None,
                note=progress.note if progress else None,
            )
        log.info("task %s marked %s by %s", task_id, "done" if done else "not done", by)
        return stored, entry

    # ------------------------------------------------------------------ dead letters

    def add_dead_letter(self, topic: str, payload: bytes, reason: str) -> None:
        text = payload[:MAX_DEAD_LETTER_PAYLOAD].decode("utf-8", errors="replace")
        with self._outbox.write() as tx:
            tx.session.add(
                DeadLetterRow(received_at=utcnow(), topic=topic, payload=text, reason=reason)
            )

    def dead_letters(self, limit: int = 50) -> list[DeadLetter]:
        with Session(self._engine) as session:
            rows = session.exec(
                select(DeadLetterRow).order_by(col(DeadLetterRow.id).desc()).limit(limit)
            ).all()
        return [DeadLetter(r.id or 0, r.received_at, r.topic, r.payload, r.reason) for r in rows]

    def dead_letter_count(self) -> int:
        with Session(self._engine) as session:
            return int(session.exec(select(func.count()).select_from(DeadLetterRow)).one())
