"""Tasks REST API: send a task to NSPs, see who has it and who has done it, cancel it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from noodcore.httpguard import require
from service.auth.roles import OPERATORS, READERS
from service.context import ActorDep, ContextDep, SessionDep
from service.exercise.marks import Marked
from service.tasks import sending
from service.tasks.models import NspTask, NspTaskTarget

router = APIRouter(prefix="/api/v1/tasks", tags=["tasks"])

TaskIdPath = Annotated[str, Path(max_length=63)]


class TaskTargetOut(BaseModel):
    nsp_id: str
    state: Literal["sent", "received", "done"] = Field(
        description="sent: not confirmed by the gateway yet; received: shown to the NSP staff; "
        "done: staff marked it done"
    )
    up_to_date: bool = Field(description="The gateway confirmed the task's current revision.")
    delivered_revision: int
    delivered_at: datetime | None = Field(description="CP time of the first confirmation.")
    done_at: datetime | None = Field(description="Gateway time staff marked it done.")
    done_by: str | None
    done_note: str | None
    done_received_at: datetime | None = Field(description="CP time the 'done' arrived.")
    last_sent_at: datetime | None
    send_count: int
    history: list[dict[str, Any]]


class TaskSummary(BaseModel):
    targets: int
    received: int
    done: int


class TaskOut(Marked):
    task_id: str
    revision: int
    title: str
    details: str | None
    due_at: datetime | None
    cancelled: bool
    goods: list[dict[str, Any]] | None = None
    created_at: datetime
    created_by: str
    updated_at: datetime
    summary: TaskSummary
    targets: list[TaskTargetOut]


def _target_out(t: NspTaskTarget) -> TaskTargetOut:
    state: Literal["sent", "received", "done"]
    if t.done:
        state = "done"
    elif t.delivered_revision > 0:
        state = "received"
    else:
        state = "sent"
    return TaskTargetOut(
        nsp_id=t.nsp_id,
        state=state,
        up_to_date=t.delivered_revision >= t.sent_revision,
        delivered_revision=t.delivered_revision,
        delivered_at=t.delivered_at,
        done_at=t.done_at,
        done_by=t.done_by,
        done_note=t.done_note,
        done_received_at=t.done_received_at,
        last_sent_at=t.last_sent_at,
        send_count=t.send_count,
        history=t.history,
    )


def _out(task: NspTask, targets: list[NspTaskTarget]) -> TaskOut:
    outs = [_target_out(t) for t in targets]
    return TaskOut(
        **task.model_dump(exclude={"cp_id"}),
        summary=TaskSummary(
            targets=len(outs),
            received=sum(o.state != "sent" for o in outs),
            done=sum(o.state == "done" for o in outs),
        ),
        targets=outs,
    )


def _raise(exc: sending.TaskError) -> HTTPException:
    return HTTPException(exc.status_code, detail=exc.message)


def _load(session: Session, task_id: str) -> TaskOut:
    return _out(sending.get_task(session, task_id), sending.targets_of(session, task_id))


@router.post(
    "",
    status_code=201,
    summary="Send a task to one or more NSPs",
    responses={422: {"description": "names the field"}},
    dependencies=[require(*OPERATORS)],
)
def create_task(
    new: sending.NewTask, session: SessionDep, ctx: ContextDep, actor: ActorDep
) -> TaskOut:
    try:
        task = sending.create_task(session, ctx.settings.cp_id, new, actor)
    except sending.TaskError as exc:
        raise _raise(exc) from None
    session.commit()
    targets = sending.targets_of(session, task.task_id)
    sending.send(ctx.engine, ctx.settings.cp_id, ctx.bridge, targets)
    session.expire_all()
    return _load(session, task.task_id)


@router.get("", summary="Tasks, newest first", dependencies=[require(*READERS)])
def list_tasks(
    session: SessionDep,
    nsp_id: Annotated[
        str | None, Query(max_length=63, description="Only tasks of this NSP")
    ] = None,
    state: Annotated[
        Literal["open", "all"], Query(description="open: not cancelled and not done everywhere")
    ] = "all",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[TaskOut]:
    query = select(NspTask).order_by(col(NspTask.created_at).desc())
    if nsp_id:
        query = query.where(
            col(NspTask.task_id).in_(
                select(NspTaskTarget.task_id).where(NspTaskTarget.nsp_id == nsp_id)
            )
        )
    out = []
    for task in session.exec(query).all():
        targets = sending.targets_of(session, task.task_id)
        if nsp_id:
            targets = [t for t in targets if t.nsp_id == nsp_id]
        item = _out(task, targets)
        if state == "open" and (task.cancelled or item.summary.done == item.summary.targets):
            continue
        out.append(item)
        if len(out) >= limit:
            break
    return out


@router.get(
    "/{task_id}",
    summary="One task",
    responses={404: {"description": "No such task"}},
    dependencies=[require(*READERS)],
)
def get_task(task_id: TaskIdPath, session: SessionDep) -> TaskOut:
    try:
        return _load(session, task_id)
    except sending.TaskError as exc:
        raise _raise(exc) from None


@router.post(
    "/{task_id}/cancel",
    summary="Call a task off at every NSP that has it",
    responses={404: {"description": "No such task"}, 409: {"description": "Already cancelled"}},
    dependencies=[require(*OPERATORS)],
)
def cancel_task(
    task_id: TaskIdPath, session: SessionDep, ctx: ContextDep, actor: ActorDep
) -> TaskOut:
    try:
        sending.cancel_task(session, ctx.settings.cp_id, task_id, actor)
    except sending.TaskError as exc:
        raise _raise(exc) from None
    session.commit()
    sending.send(ctx.engine, ctx.settings.cp_id, ctx.bridge, sending.targets_of(session, task_id))
    session.expire_all()
    return _load(session, task_id)
