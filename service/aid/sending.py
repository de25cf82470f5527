"""Create and cancel assignments, and get them to the NSP until its gateway confirms.

Same path as tasks, through the one downward sender (``service/downward.py``): the exact
bytes of the current revision are kept per assignment and published on the NSP's
``down/assignment`` topic (QoS 1, persistent session), again after every (re)connect and, to
an online NSP that has not confirmed the revision, after ``resend_seconds``. The gateway
confirms with an ``assignment_update`` (state requested) through its durable outbox.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from ulid import ULID

from noodcore.worker import ItemGuard
from schemas import Assignment, AssignmentMessage, Location, Skill, new_message_id, utcnow
from schemas.common import TEXT_PATTERN, NspId, Timestamp
from service import downward
from service.aid.models import AidAssignment
from service.downward import Broker, ConnectingBroker
from service.models import Nsp

log = logging.getLogger(__name__)

RESEND_WINDOW = downward.RESEND_WINDOW


class AidError(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AidNotFound(AidError):
    status_code = 404


class AidConflict(AidError):
    status_code = 409


class NewAssignment(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    nsp_id: NspId = Field(description="The NSP whose volunteers are asked.")
    title: str = Field(
        min_length=1,
        max_length=200,
        pattern=TEXT_PATTERN,
        examples=["2 sjouwers naar Kerkstraat 12, 14:00"],
    )
    skill: Skill | None = None
    count: int = Field(default=1, ge=1, le=50)
    address: str | None = Field(default=None, min_length=1, max_length=300, pattern=TEXT_PATTERN)
    due_at: Timestamp | None = None
    details: str | None = Field(default=None, max_length=2000, pattern=TEXT_PATTERN)
    ref_message_id: str | None = Field(default=None, pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$")


def _message(cp_id: str, a: AidAssignment, now: datetime) -> AssignmentMessage:
    return AssignmentMessage(
        message_id=new_message_id(),
        sent_at=now,
        cp_id=cp_id,
        nsp_id=a.nsp_id,
        body=Assignment(
            assignment_id=a.assignment_id,
            revision=a.revision,
            title=a.title,
            skill=Skill(a.skill) if a.skill else None,
            count=a.count,
            location=Location.model_validate(a.location) if a.location else None,
            due_at=a.due_at,
            details=a.details,
            ref_message_id=a.ref_message_id,
            cancelled=a.cancelled,
        ),
    )


def create(session: Session, cp_id: str, new: NewAssignment, actor: str) -> AidAssignment:
    """Store an assignment and its message (not committed, not sent)."""
    if session.get(Nsp, new.nsp_id) is None:
        raise AidNotFound(f"nsp_id: the CP knows no NSP {new.nsp_id!r}")
    now = utcnow()
    a = AidAssignment(
        assignment_id=f"a-{str(ULID()).lower()}",
        nsp_id=new.nsp_id,
        origin="cp",
        revision=1,
        title=new.title,
        skill=new.skill.value if new.skill else None,
        count=new.count,
        location={"address": new.address} if new.address else None,
        due_at=new.due_at,
        details=new.details,
        ref_message_id=new.ref_message_id,
        cancelled=False,
        state="sent",
        volunteer_refs=[],
        created_at=now,
        created_by=actor,
        updated_at=now,
        history=[{"state": "sent", "by": actor, "received_at": now.isoformat()}],
    )
    message = _message(cp_id, a, now)
    a.payload = message.model_dump_json()
    a.message_id = message.message_id
    session.add(a)
    session.flush()
    return a


def cancel(session: Session, cp_id: str, assignment_id: str, actor: str) -> AidAssignment:
    a = get(session, assignment_id)
    if a.origin != "cp":
        raise AidConflict("an assignment the NSP made itself is ended at the NSP")
    if a.cancelled:
        raise AidConflict(f"assignment {assignment_id!r} is already cancelled")
    now = utcnow()
    a.cancelled = True
    a.revision += 1
    a.updated_at = now
    message = _message(cp_id, a, now)
    a.payload = message.model_dump_json()
    a.message_id = message.message_id
    a.history = [*a.history, {"state": "cancelled", "by": actor, "received_at": now.isoformat()}]
    session.add(a)
    session.flush()
    return a


def get(session: Session, assignment_id: str) -> AidAssignment:
    a = session.get(AidAssignment, assignment_id)
    if a is None:
        raise AidNotFound(f"no assignment with id {assignment_id!r}")
    return a


def send(
    engine: Engine,
    cp_id: str,
    broker: Broker | None,
    items: list[AidAssignment],
    guard: ItemGuard[Hashable] | None = None,
) -> int:
    """Publish each assignment's stored message and record the send (``downward.send``: one
    failing publish is left for the next re-send; the others still go out)."""
    return downward.send(
        engine,
        cp_id,
        broker,
        items,
        kind="assignment",
        model=AidAssignment,
        key="assignment_id",
        guard=guard or ItemGuard("assignment sending"),
    )


def unconfirmed(
    session: Session, now: datetime, *, online_only_older_than: timedelta | None = None
) -> list[AidAssignment]:
    query = (
        select(AidAssignment)
        .where(AidAssignment.origin == "cp")
        .where(col(AidAssignment.delivered_revision) < col(AidAssignment.revision))
        .where(col(AidAssignment.updated_at) > now - RESEND_WINDOW)
    )
    if online_only_older_than is not None:
        query = downward.online_and_not_sent_since(
            query, AidAssignment.nsp_id, AidAssignment.last_sent_at, now, online_only_older_than
        )
    return list(session.exec(query.order_by(col(AidAssignment.created_at))).all())


class AssignmentResender(downward.Resender[AidAssignment]):
    """Sends unconfirmed assignments again after every (re)connect and, to online NSPs, on a
    timer (``downward.Resender``); re-publishes the ration rules (retained) after every
    (re)connect as well."""

    what = "assignment"

    def __init__(
        self, engine: Engine, cp_id: str, broker: ConnectingBroker, resend_seconds: float
    ) -> None:
        super().__init__("assignment resender", engine, cp_id, broker, resend_seconds)

    def unconfirmed(
        self, session: Session, now: datetime, online_only_older_than: timedelta | None
    ) -> list[AidAssignment]:
        return unconfirmed(session, now, online_only_older_than=online_only_older_than)

    def send(self, due: list[AidAssignment]) -> int:
        return send(self.engine, self.cp_id, self.broker, due, self.items)

    def after_connect(self) -> None:
        from service.goods.rules import publish_rules

        publish_rules(self.engine, self.cp_id, self.broker)
