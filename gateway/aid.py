"""Citizen aid at the NSP: the volunteer register, assignments, and what goes up about them.

Invariants, and why:

* A volunteer's personal data (first name, contact, languages, skills, availability) is kept
  in this gateway's database only. Upward go ``volunteer_roster`` counts and, on an
  assignment, pseudonymous refs: ``v-`` + the first 16 hex digits of HMAC-SHA256(local
  secret, local id). The secret is made on first use and never leaves the gateway, so the
  CP can see "the same volunteer" across updates but cannot recover or guess who it is.
* Every change that the CP must learn is enqueued in the same transaction as the change
  itself (``Outbox.write``), so a power cut cannot separate them.
* Removing a volunteer deletes the row and the local id from every assignment; the purge
  (``noodnet gateway-purge``) does the same for everything older than the retention. What
  went up (counts, refs) holds no personal data, so nothing needs to be recalled from the CP.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlmodel import Session, col, select
from ulid import ULID

from gateway.inbox import StoreOutcome
from gateway.nspf_models import AssignmentRow, LocalSecretRow, VolunteerRow
from gateway.outbox import Outbox, Transaction
from schemas import (
    Assignment,
    AssignmentMessage,
    AssignmentState,
    AssignmentUpdate,
    Location,
    Skill,
    VolunteerRoster,
    Window,
    utcnow,
)
from schemas.common import TEXT_PATTERN

log = logging.getLogger(__name__)

SECRET_NAME = "volunteer_ref"
FINAL = (AssignmentState.DONE, AssignmentState.FAILED, AssignmentState.CANCELLED)
NEXT_STATES: dict[AssignmentState, tuple[AssignmentState, ...]] = {
    AssignmentState.REQUESTED: (AssignmentState.EN_ROUTE, AssignmentState.FAILED),
    AssignmentState.EN_ROUTE: (AssignmentState.DONE, AssignmentState.FAILED),
}


class AidError(ValueError):
    """Refused with a reason staff can act on; ``key`` names the text on the staff pages."""

    status_code = 409

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


class AidNotFound(AidError):
    status_code = 404


class VolunteerIn(BaseModel):
    """What staff enter; validated like every message (no control characters, bounded)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    first_name: str = Field(min_length=1, max_length=100, pattern=TEXT_PATTERN)
    skills: list[Skill] = Field(min_length=1, max_length=7)
    languages: list[str] = Field(
        default_factory=list, max_length=10, description="e.g. nl, en, ar, pl"
    )
    windows: list[Window] = Field(min_length=1, max_length=4)
    contact: str | None = Field(default=None, max_length=200, pattern=TEXT_PATTERN)
    consent: bool = Field(description="The volunteer agreed to storing these data (AVG).")
    note: str | None = Field(default=None, max_length=300, pattern=TEXT_PATTERN)

    @model_validator(mode="after")
    def _checked(self) -> VolunteerIn:
        for lang in self.languages:
            if not (1 <= len(lang) <= 30) or any(ord(c) < 32 for c in lang):
                raise ValueError("languages: each 1 to 30 characters")
        if not self.consent:
            raise ValueError("consent: a volunteer is registered only with their consent")
        return self


@dataclass(frozen=True)
class Volunteer:
    id: int
    ref: str
    first_name: str
    skills: list[str]
    languages: list[str]
    windows: list[str]
    contact: str | None
    consent_at: datetime
    note: str | None
    created_at: datetime


@dataclass(frozen=True)
class StoredAssignment:
    assignment: Assignment
    origin: str
    state: AssignmentState
    volunteers: list[Volunteer]
    volunteer_ids: list[int]
    note: str | None
    received_at: datetime
    updated_at: datetime


class AidStore:
    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox
        self._engine = outbox.engine
        self._secret: bytes | None = None

    # ------------------------------------------------------------------ pseudonyms

    def _key(self) -> bytes:
        if self._secret is None:
            with self._outbox.write() as tx:
                row = tx.session.get(LocalSecretRow, SECRET_NAME)
                if row is None:
                    row = LocalSecretRow(name=SECRET_NAME, value=secrets.token_hex(32))
                    tx.session.add(row)
                self._secret = bytes.fromhex(row.value)
        return self._secret

    def ref(self, volunteer_id: int) -> str:
        digest = hmac.new(self._key(), str(volunteer_id).encode(), hashlib.sha256).hexdigest()
        return f"v-{digest[:16]}"

    # ------------------------------------------------------------------ volunteers

    def _volunteer(self, row: VolunteerRow) -> Volunteer:
        assert row.id is not None
        return Volunteer(
            id=row.id,
            ref=self.ref(row.id),
            first_name=row.first_name,
            skills=json.loads(row.skills),
            languages=json.loads(row.languages),
            windows=json.loads(row.windows),
            contact=row.contact,
            consent_at=row.consent_at,
            note=row.note,
            created_at=row.created_at,
        )

    def register(self, info: VolunteerIn) -> Volunteer:
        self._key()
        now = utcnow()
        with self._outbox.write() as tx:
            row = VolunteerRow(
                first_name=info.first_name,
                skills=json.dumps(sorted({s.value for s in info.skills})),
                languages=json.dumps(info.languages),
                windows=json.dumps(sorted({w.value for w in info.windows})),
                contact=info.contact or None,
                consent=True,
                consent_at=now,
                note=info.note or None,
                created_at=now,
                updated_at=now,
            )
            tx.session.add(row)
            tx.session.flush()
            self._enqueue_roster(tx)
        log.info("volunteer %s registered", row.id)
        return self._volunteer(row)

    def remove(self, volunteer_id: int) -> None:
        """Delete a volunteer with all their data (and from every assignment)."""
        with self._outbox.write() as tx:
            row = tx.session.get(VolunteerRow, volunteer_id)
            if row is None:
                raise AidNotFound("volunteer_unknown", f"no volunteer {volunteer_id}")
            tx.session.delete(row)
            self._forget_ids(tx, {volunteer_id})
            self._enqueue_roster(tx)
        log.info("volunteer %s removed with all their data", volunteer_id)

    def volunteers(self) -> list[Volunteer]:
        self._key()
        with Session(self._engine) as session:
            rows = session.exec(select(VolunteerRow).order_by(col(VolunteerRow.first_name))).all()
        return [self._volunteer(r) for r in rows]

    def _forget_ids(self, tx: Transaction, ids: set[int]) -> None:
        for a in tx.session.exec(select(AssignmentRow)).all():
            kept = [i for i in json.loads(a.volunteer_ids) if i not in ids]
            if len(kept) != len(json.loads(a.volunteer_ids)):
                a.volunteer_ids = json.dumps(kept)
                tx.session.add(a)

    def roster(self, session: Session | None = None) -> VolunteerRoster:
        own = session is None
        s = session or Session(self._engine)
        try:
            rows = s.exec(select(VolunteerRow)).all()
        finally:
            if own:
                s.close()
        by_skill: dict[Skill, int] = {}
        by_window: dict[Window, int] = {}
        cells: dict[tuple[Skill, Window], int] = {}
        for r in rows:
            skills = [Skill(x) for x in json.loads(r.skills)]
            windows = [Window(x) for x in json.loads(r.windows)]
            for sk in skills:
                by_skill[sk] = by_skill.get(sk, 0) + 1
            for w in windows:
                by_window[w] = by_window.get(w, 0) + 1
            for sk in skills:
                for w in windows:
                    cells[(sk, w)] = cells.get((sk, w), 0) + 1
        return VolunteerRoster.model_validate(
            {
                "total": len(rows),
                "by_skill": by_skill,
                "by_window": by_window,
                "cells": [
                    {"skill": sk, "window": w, "count": n} for (sk, w), n in sorted(cells.items())
                ],
                "at": utcnow(),
            }
        )

    def _enqueue_roster(self, tx: Transaction) -> None:
        tx.session.flush()
        self._outbox.enqueue_in(tx, "volunteer_roster", self.roster(tx.session))

    # ------------------------------------------------------------------ assignments

    def store_assignment(self, message: AssignmentMessage) -> StoreOutcome:
        """Keep the CP's assignment (newest revision wins) and confirm it upward."""
        a = message.body
        now = utcnow()
        with self._outbox.write() as tx:
            row = tx.session.get(AssignmentRow, a.assignment_id)
            if row is not None and row.cp_message_id == message.message_id:
                return StoreOutcome.SAME
            if row is not None:
                known = Assignment.model_validate_json(row.body)
                if known.revision > a.revision or (
                    known.revision == a.revision
                    and row.cp_sent_at is not None
                    and row.cp_sent_at > message.sent_at
                ):
                    return StoreOutcome.OLDER
            row = row or AssignmentRow(
                assignment_id=a.assignment_id,
                origin="cp",
                body="",
                state=AssignmentState.REQUESTED.value,
                volunteer_ids="[]",
                received_at=now,
                updated_at=now,
            )
            row.body = a.model_dump_json()
            row.cp_message_id = message.message_id
            row.cp_sent_at = message.sent_at
            if a.cancelled:
                row.state = AssignmentState.CANCELLED.value
            row.updated_at = now
            tx.session.add(row)
            self._enqueue_update(tx, row)
        log.info("assignment %s revision %s stored: %s", a.assignment_id, a.revision, a.title)
        return StoreOutcome.NEW

    def create_local(
        self,
        title: str,
        skill: Skill | None,
        count: int,
        address: str | None,
        due_at: datetime | None,
        ref_message_id: str | None = None,
    ) -> StoredAssignment:
        """Staff at the NSP turn a help request into an assignment themselves."""
        now = utcnow()
        a = Assignment(
            assignment_id=f"g-{str(ULID()).lower()}",
            revision=1,
            title=title,
            skill=skill,
            count=count,
            location=Location(address=address) if address else None,
            due_at=due_at,
            ref_message_id=ref_message_id,
        )
        with self._outbox.write() as tx:
            row = AssignmentRow(
                assignment_id=a.assignment_id,
                origin="nsp",
                body=a.model_dump_json(),
                state=AssignmentState.REQUESTED.value,
                volunteer_ids="[]",
                received_at=now,
                updated_at=now,
            )
            tx.session.add(row)
            self._enqueue_update(tx, row)
        return self.get(a.assignment_id)

    def assign(self, assignment_id: str, volunteer_ids: list[int]) -> StoredAssignment:
        """Staff pick the volunteers (state stays 'requested': they are being asked)."""
        with self._outbox.write() as tx:
            row = self._open_row(tx, assignment_id)
            if row.state != AssignmentState.REQUESTED.value:
                raise AidError("assignment_not_requested", "volunteers are picked while requested")
            ids = sorted(set(volunteer_ids))
            known = {
                v.id
                for v in tx.session.exec(
                    select(VolunteerRow).where(col(VolunteerRow.id).in_(ids))
                ).all()
            }
            missing = [i for i in ids if i not in known]
            if missing:
                raise AidNotFound("volunteer_unknown", f"no volunteer {missing[0]}")
            if len(ids) > 50:
                raise AidError("too_many_volunteers", "at most 50 volunteers")
            row.volunteer_ids = json.dumps(ids)
            row.updated_at = utcnow()
            tx.session.add(row)
            self._enqueue_update(tx, row)
        return self.get(assignment_id)

    def set_state(
        self, assignment_id: str, state: AssignmentState, note: str | None = None
    ) -> StoredAssignment:
        with self._outbox.write() as tx:
            row = self._open_row(tx, assignment_id)
            current = AssignmentState(row.state)
            if state not in NEXT_STATES.get(current, ()):
                raise AidError(
                    "assignment_bad_step",
                    f"an assignment that is {current.value} cannot become {state.value}",
                )
            if state == AssignmentState.EN_ROUTE and not json.loads(row.volunteer_ids):
                raise AidError("assignment_no_volunteers", "pick the volunteers first")
            row.state = state.value
            row.note = note or None
            row.updated_at = utcnow()
            tx.session.add(row)
            self._enqueue_update(tx, row)
        return self.get(assignment_id)

    def _open_row(self, tx: Transaction, assignment_id: str) -> AssignmentRow:
        row = tx.session.get(AssignmentRow, assignment_id)
        if row is None:
            raise AidNotFound("assignment_unknown", f"no assignment {assignment_id!r}")
        if row.state == AssignmentState.CANCELLED.value:
            raise AidError("assignment_cancelled", "the CP cancelled this assignment")
        return row

    def _enqueue_update(self, tx: Transaction, row: AssignmentRow) -> None:
        a = Assignment.model_validate_json(row.body)
        local = row.origin == "nsp"
        update = AssignmentUpdate(
            assignment_id=a.assignment_id,
            revision=0 if local else a.revision,
            origin=row.origin,
            state=AssignmentState(row.state),
            volunteer_refs=[self.ref(i) for i in json.loads(row.volunteer_ids)],
            at=utcnow(),
            note=row.note,
            title=a.title if local else None,
            skill=a.skill if local else None,
            count=a.count if local else None,
            location=a.location if local else None,
            due_at=a.due_at if local else None,
            ref_message_id=a.ref_message_id if local else None,
        )
        self._outbox.enqueue_in(tx, "assignment_update", update)

    def get(self, assignment_id: str) -> StoredAssignment:
        for s in self.assignments():
            if s.assignment.assignment_id == assignment_id:
                return s
        raise AidNotFound("assignment_unknown", f"no assignment {assignment_id!r}")

    def assignments(self) -> list[StoredAssignment]:
        people = {v.id: v for v in self.volunteers()}
        with Session(self._engine) as session:
            rows = session.exec(
                select(AssignmentRow).order_by(col(AssignmentRow.received_at).desc())
            ).all()
        out = []
        for r in rows:
            ids = json.loads(r.volunteer_ids)
            out.append(
                StoredAssignment(
                    assignment=Assignment.model_validate_json(r.body),
                    origin=r.origin,
                    state=AssignmentState(r.state),
                    volunteers=[people[i] for i in ids if i in people],
                    volunteer_ids=ids,
                    note=r.note,
                    received_at=r.received_at,
                    updated_at=r.updated_at,
                )
            )
        return out

    # ------------------------------------------------------------------ retention

    def purge(self, older_than: datetime) -> dict[str, int]:
        """Delete volunteers last changed before ``older_than`` and finished assignments
        last changed before it; the counts that go up are recomputed."""
        with self._outbox.write() as tx:
            old = tx.session.exec(
                select(VolunteerRow).where(col(VolunteerRow.updated_at) < older_than)
            ).all()
            ids = {v.id for v in old if v.id is not None}
            for v in old:
                tx.session.delete(v)
            self._forget_ids(tx, ids)
            done = tx.session.exec(
                select(AssignmentRow)
                .where(col(AssignmentRow.updated_at) < older_than)
                .where(col(AssignmentRow.state).in_([s.value for s in FINAL]))
            ).all()
            for a in done:
                tx.session.delete(a)
            if ids:
                self._enqueue_roster(tx)
        return {"volunteers": len(ids), "assignments": len(done)}


def retention_cutoff(
    now: datetime, retention_days: int, crisis_ended: datetime | None
) -> datetime | None:
    """The moment before which data goes: ``retention_days`` after the crisis ended (None:
    not yet due), or, without an end date, ``retention_days`` before now."""
    if crisis_ended is None:
        return now - timedelta(days=retention_days)
    if now < crisis_ended + timedelta(days=retention_days):
        return None
    return now  # the retention after the crisis is over: everything goes
