"""Create and cancel tasks, and get them to the gateways until each one confirms.

A task message goes to one NSP's down topic (QoS 1, persistent session: the broker queues it
for an offline gateway). The CP keeps the exact bytes per NSP (``NspTaskTarget``) and sends
them again
  * after every (re)connect of the service to the broker (it may have lost a queued message,
    or the service may have died between commit and publish), and
  * to an NSP that is online but has not confirmed the revision after ``task_resend_seconds``.
The gateway recognises a copy it already has (same message id) and confirms a revision with
a ``task_update`` (state ``received``) that travels through its durable outbox.
Sending and re-sending are ``service/downward.py`` (the one downward sender, shared with aid
assignments); this module says what a task is, who gets it and which targets are unconfirmed.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable
from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from ulid import ULID

from noodcore.worker import ItemGuard
from schemas import GoodsLine, Task, TaskMessage, new_message_id, utcnow
from schemas.common import NspId, ShortText, Text, Timestamp
from service import downward
from service.downward import Broker, ConnectingBroker
from service.exercise import data as exercise_data
from service.models import Nsp
from service.tasks.models import NspTask, NspTaskTarget

log = logging.getLogger(__name__)

RESEND_WINDOW = downward.RESEND_WINDOW


class TaskError(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class TaskNotFound(TaskError):
    status_code = 404


class TaskConflict(TaskError):
    status_code = 409


class TaskInvalid(TaskError):
    status_code = 422


class NewTask(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # The message contract's own text rules (no control characters): a title it refuses would
    # pass here and fail only when the task message is built, as a 500.
    title: ShortText = Field(examples=["Watertruck om 15:00 bij de kerk"])
    details: Text | None = Field(default=None, max_length=4000)
    due_at: Timestamp | None = None
    nsp_ids: list[NspId] | None = Field(
        default=None, min_length=1, max_length=1000, description="The NSPs that get the task."
    )
    all_nsps: bool = Field(default=False, description="Every NSP the CP knows instead.")
    exercise: str | None = Field(
        default=None,
        pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$",
        description="Send it in this open exercise (oefening): staff see it marked OEFENING.",
    )
    goods: list[GoodsLine] | None = Field(
        default=None,
        min_length=1,
        max_length=50,
        description="A delivery: goods the NSP confirms into its stock ledger on receipt.",
    )

    @model_validator(mode="after")
    def _one_target_choice(self) -> NewTask:
        if self.all_nsps == (self.nsp_ids is not None):
            raise ValueError("give either nsp_ids (one or more NSP ids) or all_nsps: true")
        return self


def _message(cp_id: str, task: NspTask, nsp_id: str, now: datetime) -> TaskMessage:
    return TaskMessage(
        message_id=new_message_id(),
        sent_at=now,
        cp_id=cp_id,
        nsp_id=nsp_id,
        body=Task(
            task_id=task.task_id,
            revision=task.revision,
            title=task.title,
            details=task.details,
            due_at=task.due_at,
            cancelled=task.cancelled,
            exercise=task.exercise_id,
            goods=task.goods,
        ),
    )


def create_task(session: Session, cp_id: str, new: NewTask, actor: str) -> NspTask:
    """Store a task and its per-NSP messages (not committed, not sent)."""
    now = utcnow()
    if new.all_nsps:
        nsp_ids = sorted(session.exec(select(Nsp.nsp_id)).all())
        if not nsp_ids:
            raise TaskInvalid("all_nsps: the CP knows no NSP yet; name them in nsp_ids")
    else:
        assert new.nsp_ids is not None
        nsp_ids = sorted(set(new.nsp_ids))
    if new.exercise is not None:
        try:
            exercise_data.require_open(session.connection(), new.exercise)
        except exercise_data.ExerciseError as exc:
            raise TaskInvalid(f"exercise: {exc.detail}") from None
    task = NspTask(
        exercise_id=new.exercise,
        task_id=f"t-{str(ULID()).lower()}",
        cp_id=cp_id,
        revision=1,
        title=new.title,
        details=new.details,
        due_at=new.due_at,
        cancelled=False,
        goods=[g.model_dump() for g in new.goods] if new.goods else None,
        created_at=now,
        created_by=actor,
        updated_at=now,
    )
    session.add(task)
    for nsp_id in nsp_ids:
        message = _message(cp_id, task, nsp_id, now)
        session.add(
            NspTaskTarget(
                task_id=task.task_id,
                nsp_id=nsp_id,
                payload=message.model_dump_json(),
                message_id=message.message_id,
                sent_revision=task.revision,
                history=[],
            )
        )
    session.flush()
    return task


def cancel_task(session: Session, cp_id: str, task_id: str, actor: str) -> NspTask:
    """Call a task off: a new revision with ``cancelled`` goes to every NSP that has it."""
    task = get_task(session, task_id)
    if task.cancelled:
        raise TaskConflict(f"task '{task_id}' is already cancelled")
    now = utcnow()
    task.cancelled = True
    task.revision += 1
    task.updated_at = now
    session.add(task)
    for target in targets_of(session, task_id):
        message = _message(cp_id, task, target.nsp_id, now)
        target.payload = message.model_dump_json()
        target.message_id = message.message_id
        target.sent_revision = task.revision
        target.history = [
            *target.history,
            {"state": "cancelled", "by": actor, "received_at": now.isoformat()},
        ][-50:]
        session.add(target)
    session.flush()
    log.info("task %s cancelled by %s", task_id, actor)
    return task


def get_task(session: Session, task_id: str) -> NspTask:
    task = session.get(NspTask, task_id)
    if task is None:
        raise TaskNotFound(f"no task with id '{task_id}'")
    return task


def targets_of(session: Session, task_id: str) -> list[NspTaskTarget]:
    return list(
        session.exec(
            select(NspTaskTarget)
            .where(NspTaskTarget.task_id == task_id)
            .order_by(col(NspTaskTarget.nsp_id))
        ).all()
    )


def send(
    engine: Engine,
    cp_id: str,
    broker: Broker | None,
    targets: list[NspTaskTarget],
    guard: ItemGuard[Hashable] | None = None,
) -> int:
    """Publish the stored message of each target and record the send (``downward.send``)."""
    return downward.send(
        engine,
        cp_id,
        broker,
        targets,
        kind="task",
        model=NspTaskTarget,
        key="id",
        guard=guard or ItemGuard("task sending"),
    )


def unconfirmed(
    session: Session, now: datetime, *, online_only_older_than: timedelta | None = None
) -> list[NspTaskTarget]:
    """Targets whose gateway has not confirmed the current revision (recent tasks only).

    With ``online_only_older_than``: only NSPs whose presence is online and that were last
    sent to longer ago than that (a broker queues copies for offline gateways itself).
    """
    query = (
        select(NspTaskTarget)
        .join(NspTask, col(NspTask.task_id) == col(NspTaskTarget.task_id))
        .where(col(NspTaskTarget.delivered_revision) < col(NspTaskTarget.sent_revision))
        .where(col(NspTask.updated_at) > now - RESEND_WINDOW)
    )
    if online_only_older_than is not None:
        query = downward.online_and_not_sent_since(
            query, NspTaskTarget.nsp_id, NspTaskTarget.last_sent_at, now, online_only_older_than
        )
    return list(session.exec(query.order_by(col(NspTaskTarget.id))).all())


class TaskResender(downward.Resender[NspTaskTarget]):
    """Sends unconfirmed tasks again after every (re)connect and, to online NSPs, on a timer
    (``downward.Resender``)."""

    what = "task"

    def __init__(
        self, engine: Engine, cp_id: str, broker: ConnectingBroker, resend_seconds: float
    ) -> None:
        super().__init__("task resender", engine, cp_id, broker, resend_seconds)

    def unconfirmed(
        self, session: Session, now: datetime, online_only_older_than: timedelta | None
    ) -> list[NspTaskTarget]:
        return unconfirmed(session, now, online_only_older_than=online_only_older_than)

    def send(self, due: list[NspTaskTarget]) -> int:
        return send(self.engine, self.cp_id, self.broker, due, self.items)
