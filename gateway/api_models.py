"""Request and response shapes of the gateway's local HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gateway.inbox import DeadLetter, StoredBulletin, StoredTask
from gateway.outbox import AckEvent, EntryState, OutboxEntry
from schemas import UP_KINDS, BulletinText, HandlingState, Urgency
from schemas.common import EXERCISE_MARK, ID_PATTERN

# Receipts and task updates are made by the gateway itself (on storing a bulletin or task, and
# through the task endpoints), never posted as raw reports.
# Kinds the gateway writes itself (confirmations, aid and ledger changes) are not posted as reports.
OWN_KINDS = (
    "receipt",
    "task_update",
    "volunteer_roster",
    "assignment_update",
    "stock_entry",
    "facility_receipt",
)
REPORT_KINDS: tuple[str, ...] = tuple(k for k in UP_KINDS if k not in OWN_KINDS)


class ReportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(
        description=f"One of: {', '.join(REPORT_KINDS)}.", examples=["situation_report"]
    )
    body: dict[str, Any] = Field(
        description="The report itself; its fields depend on the kind (see the message schemas)."
    )
    exercise: str | None = Field(
        default=None,
        pattern=ID_PATTERN,
        description="Made in this exercise (oefening): the CP marks it OEFENING everywhere. "
        "Leave out for a real report. The gateway never adds it by itself, not even in "
        "exercise mode: a report is exercise only when its sender says so.",
    )


def exercise_mark(exercise: str | None) -> str | None:
    return EXERCISE_MARK if exercise else None


class ReportCreated(BaseModel):
    message_id: str
    seq: int
    kind: str
    state: EntryState
    created_at: datetime
    exercise: str | None = None
    exercise_mark: str | None = None

    @classmethod
    def of(cls, entry: OutboxEntry) -> ReportCreated:
        return cls(
            message_id=entry.message_id,
            seq=entry.seq,
            kind=entry.kind,
            state=entry.state,
            created_at=entry.created_at,
            exercise=entry.exercise,
            exercise_mark=exercise_mark(entry.exercise),
        )


class AckEventOut(BaseModel):
    state: HandlingState
    note: str | None
    duplicate: bool
    stored_at: datetime = Field(description="CP time at which the CP stored the message.")
    cp_time: datetime = Field(description="CP time of this step.")
    received_at: datetime = Field(description="Gateway time at which this step arrived.")

    @classmethod
    def of(cls, event: AckEvent) -> AckEventOut:
        return cls(
            state=event.state,
            note=event.note,
            duplicate=event.duplicate,
            stored_at=event.stored_at,
            cp_time=event.cp_time,
            received_at=event.received_at,
        )


class ReportOut(BaseModel):
    message_id: str
    seq: int
    kind: str
    state: EntryState = Field(
        description="queued: not sent yet; sent: sent, no CP confirmation yet; stored: the CP "
        "has it."
    )
    created_at: datetime = Field(description="Gateway time at which the report was accepted.")
    heartbeat: bool
    publish_count: int
    last_published_at: datetime | None
    last_error: str | None = Field(description="Why the broker refused the last send, if it did.")
    cp_stored_at: datetime | None = Field(description="CP time at which the CP stored it.")
    cp_state: HandlingState | None
    cp_note: str | None
    cp_updated_at: datetime | None
    body: dict[str, Any]
    exercise: str | None = Field(default=None, description="Exercise id; null = real.")
    exercise_mark: str | None = None

    @classmethod
    def of(cls, entry: OutboxEntry) -> ReportOut:
        return cls(
            message_id=entry.message_id,
            seq=entry.seq,
            kind=entry.kind,
            state=entry.state,
            created_at=entry.created_at,
            heartbeat=entry.heartbeat,
            publish_count=entry.publish_count,
            last_published_at=entry.last_published_at,
            last_error=entry.last_error,
            cp_stored_at=entry.cp_stored_at,
            cp_state=entry.cp_state,
            cp_note=entry.cp_note,
            cp_updated_at=entry.cp_updated_at,
            body=entry.body,
            exercise=entry.exercise,
            exercise_mark=exercise_mark(entry.exercise),
        )


class ReportDetail(ReportOut):
    history: list[AckEventOut] = Field(description="Every step the CP reported, oldest first.")


class LinkOut(BaseModel):
    connected: bool
    since: datetime | None = Field(
        description="When the link last came up (connected) or went down (not connected)."
    )
    last_error: str | None
    last_error_at: datetime | None
    pending_count: int = Field(description="Reports the CP has not confirmed yet.")
    counts: dict[str, int]
    broker: str
    last_connected_at: datetime | None
    last_disconnected_at: datetime | None
    refused_count: int = Field(description="Sends the broker refused since the gateway started.")
    dead_letter_count: int = Field(description="Downward messages rejected as invalid.")
    cut: bool = Field(
        default=False, description="The link was cut on purpose (an exercise's link cut)."
    )


class ExerciseModeIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    exercise_id: str = Field(pattern=ID_PATTERN, max_length=63)
    name: str | None = Field(default=None, max_length=200)
    by: str | None = Field(default=None, max_length=100)


class ExerciseModeOut(BaseModel):
    active: bool
    exercise_id: str | None = None
    name: str | None = None
    since: datetime | None = None
    set_by: str | None = None
    mark: str | None = Field(default=None, description="OEFENING OEFENING OEFENING when active.")


class BulletinOut(BaseModel):
    bulletin_id: str
    version: int
    urgency: Urgency
    valid_from: datetime
    valid_until: datetime | None
    language: str = Field(description="Language of headline/text/instruction below.")
    headline: str
    text: str
    instruction: str | None
    texts: list[BulletinText]
    received_at: datetime
    exercise: str | None = None
    exercise_mark: str | None = None

    @classmethod
    def of(cls, stored: StoredBulletin, language: str) -> BulletinOut:
        b = stored.bulletin
        chosen = next(
            (t for t in b.texts if t.language.split("-")[0] == language),
            next(t for t in b.texts if t.language.startswith("nl")),
        )
        return cls(
            bulletin_id=b.bulletin_id,
            version=b.version,
            urgency=b.urgency,
            valid_from=b.valid_from,
            valid_until=b.valid_until,
            language=chosen.language,
            headline=chosen.headline,
            text=chosen.text,
            instruction=chosen.instruction,
            texts=b.texts,
            received_at=stored.received_at,
            exercise=b.exercise,
            exercise_mark=exercise_mark(b.exercise),
        )


class TaskOut(BaseModel):
    task_id: str
    revision: int
    title: str
    details: str | None
    due_at: datetime | None
    cancelled: bool = Field(description="The CP called the task off.")
    received_at: datetime
    done: bool = Field(description="Staff marked it done.")
    done_at: datetime | None
    done_by: str | None
    note: str | None
    exercise: str | None = None
    exercise_mark: str | None = None

    @classmethod
    def of(cls, stored: StoredTask) -> TaskOut:
        t = stored.task
        return cls(
            task_id=t.task_id,
            revision=t.revision,
            title=t.title,
            details=t.details,
            due_at=t.due_at,
            cancelled=t.cancelled,
            received_at=stored.received_at,
            done=stored.done,
            done_at=stored.done_at,
            done_by=stored.done_by,
            note=stored.note,
            exercise=t.exercise,
            exercise_mark=exercise_mark(t.exercise),
        )


class TaskDoneIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    by: str | None = Field(default=None, max_length=100, description="Name or initials.")
    note: str | None = Field(default=None, max_length=1000)


class DeadLetterOut(BaseModel):
    id: int
    received_at: datetime
    topic: str
    payload: str
    reason: str

    @classmethod
    def of(cls, d: DeadLetter) -> DeadLetterOut:
        return cls(
            id=d.id, received_at=d.received_at, topic=d.topic, payload=d.payload, reason=d.reason
        )
