"""The durable outbox: every upward message, from acceptance at the NSP until the CP stored it.

Invariants:

* ``enqueue`` allocates the per-NSP sequence number and inserts the row in one committed
  transaction, so sequence numbers are gap-free and strictly increasing across restarts, and
  the row is on disk (WAL, synchronous=FULL) before the call returns.
* The envelope (with its message id) is built once and stored as the exact JSON that is
  published; retries send identical bytes, so the CP can recognise them.
* Only a CP ``ack`` marks a row ``stored``; a broker PUBACK does not (a broker that dies
  loses messages it had already acknowledged). An ack in state ``received_not_processed``
  (the CP keeps the message as a dead letter) marks it ``stored`` as well, so it is not
  resent; its ``cp_state`` tells the staff, and a later ``stored`` ack (re-processed at the
  CP) replaces it.
* A write that the database refuses (full disk, I/O error) is remembered in
  ``last_write_error`` until a later write succeeds, so the health check reports what staff
  just experienced; ``probe_write`` finds out without waiting for staff to try.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, cast

from pydantic import BaseModel
from sqlalchemy import func, text, update
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select

from gateway import schema
from gateway.db import make_engine
from gateway.models import (
    SCHEMA_VERSION,
    AckEventRow,
    ExerciseModeRow,
    HealthProbeRow,
    MetaRow,
    OutboxRow,
)
from schemas import (
    UP_KINDS,
    UP_MESSAGE_TYPES,
    Ack,
    AckBatchMessage,
    AckMessage,
    HandlingState,
    Status,
    make_up,
    utcnow,
)

log = logging.getLogger(__name__)

EntryState = Literal["queued", "sent", "stored"]
ENTRY_STATES: tuple[EntryState, ...] = ("queued", "sent", "stored")

_SEQ_KEY = "seq"
PROBE_BYTES = 16 * 1024


class UnknownKindError(ValueError):
    def __init__(self, kind: str) -> None:
        super().__init__(f"unknown kind {kind!r}; expected one of: {', '.join(UP_KINDS)}")
        self.kind = kind


def body_model(kind: str) -> type[BaseModel]:
    """The body model of an upward kind, taken from the envelope contract."""
    if kind not in UP_MESSAGE_TYPES:
        raise UnknownKindError(kind)
    annotation = UP_MESSAGE_TYPES[kind].model_fields["body"].annotation
    return cast(type[BaseModel], annotation)


@dataclass(frozen=True)
class OutboxEntry:
    """A detached snapshot of an outbox row, safe to hand to other threads."""

    message_id: str
    seq: int
    kind: str
    envelope: str
    heartbeat: bool
    created_at: datetime
    state: EntryState
    publish_count: int
    last_published_at: datetime | None
    last_error: str | None
    cp_stored_at: datetime | None
    cp_state: HandlingState | None
    cp_note: str | None
    cp_updated_at: datetime | None
    # True when enqueue() created nothing because an undelivered heartbeat already waits;
    # the entry is then that waiting heartbeat.
    coalesced: bool = field(default=False, compare=False)

    @property
    def body(self) -> dict[str, Any]:
        return cast(dict[str, Any], json.loads(self.envelope)["body"])

    @property
    def exercise(self) -> str | None:
        """The exercise the report was made in (None: a real report)."""
        return cast(str | None, json.loads(self.envelope).get("exercise"))

    @property
    def sent_at(self) -> str:
        """The gateway clock at creation, as written in the envelope."""
        return cast(str, json.loads(self.envelope)["sent_at"])

    @classmethod
    def from_row(cls, row: OutboxRow, *, coalesced: bool = False) -> OutboxEntry:
        return cls(
            message_id=row.message_id,
            seq=row.seq,
            kind=row.kind,
            envelope=row.envelope,
            heartbeat=row.heartbeat,
            created_at=row.created_at,
            state=cast(EntryState, row.state),
            publish_count=row.publish_count,
            last_published_at=row.last_published_at,
            last_error=row.last_error,
            cp_stored_at=row.cp_stored_at,
            cp_state=HandlingState(row.cp_state) if row.cp_state else None,
            cp_note=row.cp_note,
            cp_updated_at=row.cp_updated_at,
            coalesced=coalesced,
        )


@dataclass(frozen=True)
class AckEvent:
    """One step of a message's timeline at the CP."""

    state: HandlingState
    note: str | None
    duplicate: bool
    stored_at: datetime
    cp_time: datetime
    received_at: datetime
    ack_message_id: str


class AckOutcome(StrEnum):
    STORED = "stored"  # first ack: the row is now stored at the CP
    UPDATED = "updated"  # a later handling state replaced the current one
    STALE = "stale"  # recorded in the history, but older than the current state
    DUPLICATE = "duplicate"  # seen before, or a re-ack of a retry; nothing changed
    UNKNOWN = "unknown"  # refers to a message this outbox does not have


@dataclass
class Transaction:
    """A write transaction on the gateway database, see ``Outbox.write``."""

    session: Session
    created: list[OutboxEntry] = field(default_factory=list)


class Outbox:
    """Durable outbox of one NSP gateway."""

    def __init__(self, db_path: Path, nsp_id: str, clock_offset: timedelta = timedelta(0)) -> None:
        self.nsp_id = nsp_id
        self.db_path = db_path
        # Only for drills and tests (settings.clock_offset_seconds): a gateway clock that is off.
        self.clock_offset = clock_offset
        self.engine = make_engine(db_path)
        # One process writes this file; a lock (rather than BEGIN IMMEDIATE) keeps the
        # read-check-insert of heartbeat coalescing atomic across API, MQTT and timer threads.
        self._write_lock = threading.RLock()
        self._listeners: list[Callable[[], None]] = []
        # (when, what) of the last write the database refused; None after a good write.
        self.last_write_error: tuple[datetime, str] | None = None
        self._probed_at = -math.inf
        schema.upgrade(self.engine)  # versioned migrations (gateway/schema.py)
        with self.write() as tx:
            for key, value in ((_SEQ_KEY, 0), ("schema_version", SCHEMA_VERSION)):
                if tx.session.get(MetaRow, key) is None:
                    tx.session.add(MetaRow(key=key, value=value))

    def close(self) -> None:
        self.engine.dispose()

    def add_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (cheaply, e.g. set an Event) after a commit that enqueued rows."""
        self._listeners.append(callback)

    @contextmanager
    def write(self) -> Iterator[Transaction]:
        """A serialised write transaction, committed on normal exit, rolled back on error."""
        try:
            with (
                self._write_lock,
                Session(self.engine, expire_on_commit=False) as session,
                session.begin(),
            ):
                tx = Transaction(session)
                yield tx
        except OperationalError as exc:
            self.last_write_error = (utcnow(), str(exc.orig))
            log.error("outbox write failed: %s", exc.orig)
            raise
        self.last_write_error = None
        if tx.created:
            for callback in self._listeners:
                try:
                    callback()
                except Exception:
                    log.exception("outbox listener failed")

    # ------------------------------------------------------------------ enqueue

    def enqueue(
        self, kind: str, body: BaseModel | Mapping[str, Any], exercise: str | None = None
    ) -> OutboxEntry:
        """Validate, number and durably store an upward message; raises ValidationError.
        ``exercise``: made in that exercise (the envelope carries it); None: real."""
        with self.write() as tx:
            return self.enqueue_in(tx, kind, body, exercise)

    def enqueue_in(
        self,
        tx: Transaction,
        kind: str,
        body: BaseModel | Mapping[str, Any],
        exercise: str | None = None,
    ) -> OutboxEntry:
        """``enqueue`` inside a caller's transaction (e.g. a bulletin and its receipt)."""
        validated = body_model(kind).model_validate(body)
        is_heartbeat = isinstance(validated, Status) and validated.heartbeat
        session = tx.session
        if is_heartbeat and exercise is None:
            # A days-long outage must not pile up hundreds of heartbeats: one waiting
            # heartbeat already tells the CP the NSP is alive when the link returns.
            waiting = session.exec(
                select(OutboxRow)
                .where(OutboxRow.heartbeat == True)  # noqa: E712
                .where(OutboxRow.state != "stored")
                .order_by(col(OutboxRow.seq).desc())
            ).first()
            if waiting is not None:
                return OutboxEntry.from_row(waiting, coalesced=True)
        seq = session.execute(
            update(MetaRow)
            .where(col(MetaRow.key) == _SEQ_KEY)
            .values(value=MetaRow.value + 1)
            .returning(col(MetaRow.value))
        ).scalar_one()
        message = make_up(
            kind,
            self.nsp_id,
            seq,
            validated,
            sent_at=utcnow() + self.clock_offset,
            exercise=exercise,
        )
        row = OutboxRow(
            message_id=message.message_id,
            seq=seq,
            kind=kind,
            envelope=message.model_dump_json(),
            heartbeat=is_heartbeat and exercise is None,
            created_at=message.sent_at,
            state="queued",
        )
        session.add(row)
        session.flush()
        entry = OutboxEntry.from_row(row)
        tx.created.append(entry)
        return entry

    # ------------------------------------------------------------------ exercise mode

    def exercise_mode(self) -> ExerciseModeRow | None:
        """The staff screen's exercise mode, or None (normal operation)."""
        with Session(self.engine, expire_on_commit=False) as session:
            return session.get(ExerciseModeRow, 1)

    def set_exercise_mode(
        self, exercise_id: str | None, name: str | None = None, by: str | None = None
    ) -> ExerciseModeRow | None:
        """Enter (an id) or leave (None) exercise mode; returns the new mode."""
        with self.write() as tx:
            row = tx.session.get(ExerciseModeRow, 1)
            if exercise_id is None:
                if row is not None:
                    tx.session.delete(row)
                return None
            if row is None or row.exercise_id != exercise_id:
                if row is not None:
                    tx.session.delete(row)
                    tx.session.flush()
                row = ExerciseModeRow(id=1, exercise_id=exercise_id, since=utcnow())
            row.name, row.set_by = name, by
            tx.session.add(row)
            tx.session.flush()
            tx.session.expunge(row)
            return row

    # ------------------------------------------------------------------ publishing

    def pending(self, limit: int = 100, after_seq: int = 0) -> list[OutboxEntry]:
        """Rows the CP has not stored yet, in sequence order, starting after ``after_seq``."""
        with Session(self.engine) as session:
            rows = session.exec(
                select(OutboxRow)
                .where(OutboxRow.state != "stored")
                .where(OutboxRow.seq > after_seq)
                .order_by(col(OutboxRow.seq))
                .limit(limit)
            ).all()
            return [OutboxEntry.from_row(r) for r in rows]

    def pending_urgent(self, limit: int = 100) -> list[OutboxEntry]:
        """P1 help and resource requests the CP has not stored yet, in sequence order: the
        publisher sends them before the rest (a backlog after a reconnect, or a P1 made
        while one drains). The envelope is pydantic's compact JSON, where the text
        '"urgency":"P1"' can only be the field itself (quotes inside strings are escaped)."""
        with Session(self.engine) as session:
            rows = session.exec(
                select(OutboxRow)
                .where(OutboxRow.state != "stored")
                .where(col(OutboxRow.kind).in_(("help_request", "resource_request")))
                .where(col(OutboxRow.envelope).contains('"urgency":"P1"'))
                .order_by(col(OutboxRow.seq))
                .limit(limit)
            ).all()
            return [OutboxEntry.from_row(r) for r in rows]

    def mark_published(self, message_ids: Iterable[str], at: datetime | None = None) -> None:
        """Record that these rows were handed to the MQTT client (once more)."""
        ids = list(message_ids)
        if not ids:
            return
        with self.write() as tx:
            tx.session.execute(
                update(OutboxRow)
                .where(col(OutboxRow.message_id).in_(ids))
                .values(
                    publish_count=OutboxRow.publish_count + 1,
                    last_published_at=at or utcnow(),
                )
            )
            tx.session.execute(
                update(OutboxRow)
                .where(col(OutboxRow.message_id).in_(ids))
                .where(col(OutboxRow.state) == "queued")
                .values(state="sent")
            )

    def record_publish_error(self, message_id: str, error: str) -> None:
        with self.write() as tx:
            tx.session.execute(
                update(OutboxRow)
                .where(col(OutboxRow.message_id) == message_id)
                .values(last_error=error[:1000])
            )

    # ------------------------------------------------------------------ acks

    def apply_ack(self, message: AckMessage) -> AckOutcome:
        """Apply a CP ack. Idempotent: a redelivered ack changes nothing."""
        with self.write() as tx:
            return self._apply(tx.session, message.message_id, message.sent_at, message.body)

    def apply_ack_batch(self, message: AckBatchMessage) -> list[AckOutcome]:
        """Apply every stored-ack of an ``AckBatch`` in one transaction (one outcome each).
        Idempotent like ``apply_ack``: each item is recorded under its own ack id, derived
        from the batch's message id and its position (``batch_item_ack_id``)."""
        with self.write() as tx:
            return [
                self._apply(
                    tx.session,
                    batch_item_ack_id(message.message_id, i),
                    message.sent_at,
                    Ack(
                        ref_message_id=item.ref_message_id,
                        ref_seq=item.ref_seq,
                        stored_at=item.stored_at,
                        duplicate=item.duplicate,
                    ),
                )
                for i, item in enumerate(message.body.acks)
            ]

    def _apply(self, session: Session, ack_id: str, sent_at: datetime, ack: Ack) -> AckOutcome:
        now = utcnow()
        row = session.get(OutboxRow, ack.ref_message_id)
        if row is None:
            log.warning("ack %s for unknown message %s", ack_id, ack.ref_message_id)
            return AckOutcome.UNKNOWN
        if ack.ref_seq is not None and ack.ref_seq != row.seq:
            log.warning(
                "ack for %s names seq %s, the outbox has seq %s; applying by message id",
                row.message_id,
                ack.ref_seq,
                row.seq,
            )
        seen = session.exec(select(AckEventRow).where(AckEventRow.ack_message_id == ack_id)).first()
        if seen is not None:
            return AckOutcome.DUPLICATE
        first = row.state != "stored"
        not_processed = HandlingState.RECEIVED_NOT_PROCESSED
        # Re-processed at the CP after a dead letter: 'stored' is news then.
        recovered = ack.state == HandlingState.STORED and row.cp_state == not_processed.value
        if not first and ack.state == HandlingState.STORED and not recovered:
            # The CP re-acks every retry it receives; that is no news for the timeline.
            return AckOutcome.DUPLICATE
        if (
            not first
            and ack.state == not_processed
            and row.cp_state
            not in (
                None,
                not_processed.value,
            )
        ):
            return AckOutcome.STALE  # never undoes a real handling state
        session.add(
            AckEventRow(
                ack_message_id=ack_id,
                message_id=row.message_id,
                state=ack.state.value,
                note=ack.note,
                duplicate=ack.duplicate,
                stored_at=ack.stored_at,
                cp_sent_at=sent_at,
                received_at=now,
            )
        )
        if first or recovered:
            # A dead-lettered message counts as 'stored' here too: the CP has it and the
            # gateway must stop resending (cp_state tells the staff it is not processed).
            row.state = "stored"
            row.cp_stored_at = ack.stored_at
            row.last_error = None
        # Acks can arrive out of order (a retry's re-ack after a 'dispatched'); the CP's
        # own clock orders them, and 'stored' never overrides a later handling state.
        newer = (
            recovered
            or row.cp_state is None
            or row.cp_state == HandlingState.STORED.value
            or row.cp_updated_at is None
            or sent_at >= row.cp_updated_at
        )
        if newer:
            row.cp_state = ack.state.value
            row.cp_note = ack.note
            row.cp_updated_at = sent_at
        session.add(row)
        if first:
            return AckOutcome.STORED
        return AckOutcome.UPDATED if newer else AckOutcome.STALE

    # ------------------------------------------------------------------ reading

    def get(self, message_id: str) -> OutboxEntry | None:
        with Session(self.engine) as session:
            row = session.get(OutboxRow, message_id)
            return OutboxEntry.from_row(row) if row is not None else None

    def get_many(self, message_ids: Iterable[str]) -> list[OutboxEntry]:
        """The entries that exist among ``message_ids``, in sequence order."""
        ids = list(message_ids)
        if not ids:
            return []
        with Session(self.engine) as session:
            rows = session.exec(
                select(OutboxRow)
                .where(col(OutboxRow.message_id).in_(ids))
                .order_by(col(OutboxRow.seq))
            ).all()
            return [OutboxEntry.from_row(r) for r in rows]

    def list_entries(
        self,
        *,
        kind: str | None = None,
        state: EntryState | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> tuple[list[OutboxEntry], int]:
        """Newest first; also returns the total number of matching rows."""
        query = select(OutboxRow)
        count = select(func.count()).select_from(OutboxRow)
        if kind is not None:
            query = query.where(OutboxRow.kind == kind)
            count = count.where(col(OutboxRow.kind) == kind)
        if state is not None:
            query = query.where(OutboxRow.state == state)
            count = count.where(col(OutboxRow.state) == state)
        query = query.order_by(col(OutboxRow.seq).desc()).offset(offset).limit(limit)
        with Session(self.engine) as session:
            rows = session.exec(query).all()
            total = session.exec(count).one()
            return [OutboxEntry.from_row(r) for r in rows], int(total)

    def history(self, message_id: str) -> list[AckEvent]:
        """The CP's acks for a message, in the CP's order."""
        with Session(self.engine) as session:
            rows = session.exec(
                select(AckEventRow)
                .where(AckEventRow.message_id == message_id)
                .order_by(col(AckEventRow.cp_sent_at), col(AckEventRow.id))
            ).all()
            return [
                AckEvent(
                    state=HandlingState(r.state),
                    note=r.note,
                    duplicate=r.duplicate,
                    stored_at=r.stored_at,
                    cp_time=r.cp_sent_at,
                    received_at=r.received_at,
                    ack_message_id=r.ack_message_id,
                )
                for r in rows
            ]

    def counts(self) -> dict[EntryState, int]:
        """Number of rows per state (every state present, zero when empty)."""
        with Session(self.engine) as session:
            rows = session.exec(
                select(OutboxRow.state, func.count()).group_by(col(OutboxRow.state))
            ).all()
        result: dict[EntryState, int] = dict.fromkeys(ENTRY_STATES, 0)
        for state, n in rows:
            result[cast(EntryState, state)] = int(n)
        return result

    def pending_count(self) -> int:
        counts = self.counts()
        return counts["queued"] + counts["sent"]

    def last_seq(self) -> int:
        with Session(self.engine) as session:
            meta = session.get(MetaRow, _SEQ_KEY)
            return meta.value if meta is not None else 0

    def latest_status(self) -> Status | None:
        """The last status the staff entered (heartbeats are copies, so they are skipped)."""
        with Session(self.engine) as session:
            row = session.exec(
                select(OutboxRow)
                .where(OutboxRow.kind == "status")
                .where(OutboxRow.heartbeat == False)  # noqa: E712
                .order_by(col(OutboxRow.seq).desc())
            ).first()
        if row is None:
            return None
        return Status.model_validate(json.loads(row.envelope)["body"])

    def probe_write(self, min_interval: float = 0) -> None:
        """Commit a tiny write (the ``health_probe`` marker); raises (and records) what a
        report's write would hit: a full disk, a read-only file. Does nothing when the last
        probe is less than ``min_interval`` seconds ago (an SD card wears with every write)."""
        now = time.monotonic()
        if now - self._probed_at < min_interval:
            return
        self._probed_at = now
        with self.write() as tx:
            # As large as a big report, inserted and deleted: the pages must be allocated
            # and the commit written, as for a report; a tiny update could still fit when a
            # report no longer does.
            probe = HealthProbeRow(payload=bytes(PROBE_BYTES))
            tx.session.add(probe)
            tx.session.flush()
            tx.session.delete(probe)

    def ping(self) -> None:
        """Raise when the database cannot be read."""
        with Session(self.engine) as session:
            session.execute(text("SELECT 1"))


def batch_item_ack_id(batch_id: str, index: int) -> str:
    """The ack id the gateway records for item ``index`` of an ``AckBatch``: the batch's
    ULID with its last 4 (random) characters replaced by the index in Crockford base32, so
    it is unique per item, stable across redeliveries, and fits the 26-character column."""
    digits = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
    tail = ""
    for _ in range(4):
        index, r = divmod(index, 32)
        tail = digits[r] + tail
    return batch_id[:22] + tail
