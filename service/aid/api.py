"""Citizen aid REST API: volunteer counts per NSP, assignments (create, cancel, follow).

No response holds a volunteer's name or contact: the CP has neither (see docs/avg.md)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field
from sqlmodel import Session, col, select

from noodcore.httpguard import require
from service.aid import sending
from service.aid.models import AidAssignment, AidRoster
from service.auth.roles import OPERATORS, READERS
from service.context import ActorDep, ContextDep, SessionDep

router = APIRouter(prefix="/api/v1/aid", tags=["citizen aid"])

IdPath = Annotated[str, Path(max_length=63)]


class RosterOut(BaseModel):
    nsp_id: str
    total: int
    by_skill: dict[str, int]
    by_window: dict[str, int]
    cells: list[dict[str, Any]]
    at: datetime = Field(description="Gateway clock of the counts.")
    received_at: datetime


class AssignmentOut(BaseModel):
    assignment_id: str
    nsp_id: str
    origin: Literal["cp", "nsp"]
    revision: int
    title: str
    skill: str | None
    count: int
    location: dict[str, Any] | None
    due_at: datetime | None
    details: str | None
    ref_message_id: str | None
    cancelled: bool
    state: str = Field(
        description="sent (not yet at the NSP), requested, en_route, done, failed, cancelled"
    )
    volunteer_refs: list[str] = Field(description="Pseudonymous refs, never names.")
    state_at: datetime | None
    note: str | None
    delivered: bool = Field(description="The gateway confirmed the current revision.")
    created_at: datetime
    created_by: str
    updated_at: datetime
    send_count: int
    history: list[dict[str, Any]]


def assignment_out(a: AidAssignment) -> AssignmentOut:
    return AssignmentOut(
        **a.model_dump(
            exclude={
                "payload",
                "message_id",
                "delivered_revision",
                "last_sent_at",
                "last_update_seq",
            }
        ),
        delivered=a.origin == "nsp" or a.delivered_revision >= a.revision,
    )


def rosters(session: Session) -> list[RosterOut]:
    rows = session.exec(select(AidRoster).order_by(col(AidRoster.nsp_id))).all()
    return [RosterOut(**r.model_dump()) for r in rows]


def assignments(
    session: Session, nsp_id: str | None = None, state: str | None = None, limit: int = 200
) -> list[AssignmentOut]:
    query = select(AidAssignment).order_by(col(AidAssignment.created_at).desc())
    if nsp_id:
        query = query.where(AidAssignment.nsp_id == nsp_id)
    if state == "open":
        query = query.where(col(AidAssignment.state).in_(["sent", "requested", "en_route"]))
        query = query.where(AidAssignment.cancelled == False)  # noqa: E712
    return [assignment_out(a) for a in session.exec(query.limit(limit)).all()]


def _raise(exc: sending.AidError) -> HTTPException:
    return HTTPException(exc.status_code, detail=exc.message)


@router.get(
    "/volunteers",
    summary="Volunteer counts per NSP, skill and window (no personal data)",
    dependencies=[require(*READERS)],
)
def list_rosters(session: SessionDep) -> list[RosterOut]:
    return rosters(session)


@router.get("/assignments", summary="Assignments, newest first", dependencies=[require(*READERS)])
def list_assignments(
    session: SessionDep,
    nsp_id: Annotated[str | None, Query(max_length=63)] = None,
    state: Annotated[Literal["open", "all"], Query()] = "all",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[AssignmentOut]:
    return assignments(session, nsp_id, state, limit)


def create_and_send(
    session: Session, ctx: Any, new: sending.NewAssignment, actor: str
) -> AidAssignment:
    a = sending.create(session, ctx.settings.cp_id, new, actor)
    session.commit()
    sending.send(ctx.engine, ctx.settings.cp_id, ctx.bridge, [a])
    session.expire_all()
    return sending.get(session, a.assignment_id)


@router.post(
    "/assignments",
    status_code=201,
    summary="Ask an NSP for volunteers ('2 sjouwers naar Kerkstraat 12, 14:00')",
    responses={404: {"description": "Unknown NSP"}, 422: {"description": "names the field"}},
    dependencies=[require(*OPERATORS)],
)
def create_assignment(
    new: sending.NewAssignment, session: SessionDep, ctx: ContextDep, actor: ActorDep
) -> AssignmentOut:
    try:
        return assignment_out(create_and_send(session, ctx, new, actor))
    except sending.AidError as exc:
        raise _raise(exc) from None


@router.get(
    "/assignments/{assignment_id}",
    responses={404: {"description": "No such assignment"}},
    dependencies=[require(*READERS)],
)
def get_assignment(assignment_id: IdPath, session: SessionDep) -> AssignmentOut:
    try:
        return assignment_out(sending.get(session, assignment_id))
    except sending.AidError as exc:
        raise _raise(exc) from None


@router.post(
    "/assignments/{assignment_id}/cancel",
    responses={404: {"description": "No such assignment"}, 409: {"description": "Not possible"}},
    dependencies=[require(*OPERATORS)],
)
def cancel_assignment(
    assignment_id: IdPath, session: SessionDep, ctx: ContextDep, actor: ActorDep
) -> AssignmentOut:
    try:
        a = sending.cancel(session, ctx.settings.cp_id, assignment_id, actor)
    except sending.AidError as exc:
        raise _raise(exc) from None
    session.commit()
    sending.send(ctx.engine, ctx.settings.cp_id, ctx.bridge, [a])
    session.expire_all()
    return assignment_out(sending.get(session, assignment_id))
