"""Operator API: the priority queue, incidents (merge, split, possible duplicates), item
states with a note, and the audit trail per item."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, computed_field
from starlette.concurrency import run_in_threadpool

from noodcore.db import table_of
from noodcore.httpguard import MAX_ID, Timestamp, require
from schemas import utcnow
from service.auth.roles import OPERATORS, READERS
from service.context import ActorDep
from service.exercise.marks import ExerciseQuery, Marked, exercise_where, mark_text
from service.fallback import relay
from service.models import Message, Nsp
from service.triage import workflow
from service.triage.models import TriageAudit, TriageItem, TriageReport
from service.triage.priority import NspPower, Priority, order, score_item
from service.triage.runtime import Triage
from service.triage.workflow import OPEN_STATES, TRANSITIONS, ItemState

ITEMS = table_of(TriageItem)
REPORTS = table_of(TriageReport)
AUDIT = table_of(TriageAudit)
NSPS = table_of(Nsp)
MESSAGES = table_of(Message)

# Row ids past PostgreSQL's INTEGER (noodcore.httpguard.MAX_ID) are an error there: a 422.
ItemIdPath = Annotated[int, Path(ge=1, le=MAX_ID)]

router = APIRouter(prefix="/api/v1", tags=["triage"])


def get_triage(request: Request) -> Triage:
    triage: Triage = request.app.state.triage
    return triage


TriageDep = Annotated[Triage, Depends(get_triage)]

Note = Annotated[
    str | None,
    Field(
        default=None, max_length=1000, description="Short note, sent to the NSPs with the state."
    ),
]


# --------------------------------------------------------------------------- shapes


class ReasonOut(BaseModel):
    code: str
    points: float
    text: str
    text_nl: str


class PriorityOut(BaseModel):
    score: float
    line: str = Field(description="The reasons in one line (English).")
    line_nl: str = Field(description="The reasons in one line (Dutch).")
    reasons: list[ReasonOut]

    @classmethod
    def of(cls, p: Priority) -> PriorityOut:
        return cls(
            score=p.score,
            line=p.line,
            line_nl=p.line_nl,
            reasons=[ReasonOut(**r.__dict__) for r in p.reasons],
        )


class ItemOut(Marked):
    id: int
    item_type: str = Field(description="incident | resource_request")
    family: str
    category: str
    state: str
    state_changed_at: datetime
    first_seen: datetime
    last_seen: datetime
    report_count: int
    nsp_ids: list[str]
    top_class: str = Field(description="Highest urgency class of its reports (P1 … P4).")
    life_threatening: bool = Field(description="Holds a P1 help request.")
    people_involved: int
    vulnerable_people: int
    representative_message_id: str
    description: str
    address: str | None
    lat: float | None
    lon: float | None
    merged_into: int | None
    split_from: int | None
    possible_duplicate_of: int | None
    duplicate_status: str | None = Field(description="pending | separate | merged")

    @computed_field(  # type: ignore[prop-decorator]
        description="The description as surfaces show it: exercise items start "
        "with OEFENING OEFENING OEFENING."
    )
    @property
    def display_text(self) -> str:
        return mark_text(self.description, self.exercise_id)


class QueueEntry(BaseModel):
    rank: int
    item: ItemOut
    priority: PriorityOut


class ReportOut(Marked):
    message_id: str
    kind: str
    nsp_id: str
    received_at: datetime
    category: str
    urgency_class: str
    life_threatening: bool
    description: str
    address: str | None
    lat: float | None
    lon: float | None
    joined_by: str = Field(description="new | match | own (P1, kept apart) | merge | split")
    match_score: float | None
    channels: list[str] = Field(
        default_factory=list,
        description="For a report that came by radio, runner, SMS or stick: every channel it "
        "came by, in order, in Dutch (e.g. 'portofoon', 'digitaal (MQTT)'); empty otherwise.",
    )
    # What the report itself carries, for the dispatcher (from the stored message).
    landmark: str | None = Field(default=None, description="Herkenningspunt: location.description")
    reporter_name: str | None = None
    callback: str | None = Field(default=None, description="How the CP reaches the reporter.")
    people_involved: int | None = None
    vulnerable_people: int | None = None
    channel: str | None = Field(
        default=None, description="How it reached the CP: mqtt, http (or a fallback route)."
    )
    sent_at: datetime | None = Field(default=None, description="NSP clock when it was sent.")
    body: dict[str, Any] = Field(
        default_factory=dict, description="The whole message body, every field it carries."
    )


class ItemDetail(ItemOut):
    reports: list[ReportOut]
    priority: PriorityOut | None = Field(description="Only while the item is open.")
    allowed_states: list[ItemState] = Field(
        description="The states POST /items/{id}/state accepts now, in workflow order "
        "(none once the item was merged into another)."
    )


class AuditOut(BaseModel):
    id: int
    item_id: int
    at: datetime
    actor: str
    action: str
    from_state: str | None
    to_state: str | None
    note: str | None
    details: dict[str, Any]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class StateChange(_Strict):
    state: ItemState
    note: Note = None


class MergeRequest(_Strict):
    into: int = Field(ge=1, le=MAX_ID, description="The incident that receives this one's reports.")
    note: Note = None


class SplitRequest(_Strict):
    message_ids: list[Annotated[str, Field(pattern=r"^[0-9A-HJKMNP-TV-Z]{26}$")]] = Field(
        min_length=1, max_length=1000
    )
    note: Note = None


class DecisionRequest(_Strict):
    note: Note = None


# --------------------------------------------------------------------------- helpers


def _power(conn: sa.Connection) -> dict[str, NspPower]:
    out = {}
    for nsp_id, status in conn.execute(sa.select(NSPS.c.nsp_id, NSPS.c.last_status)):
        if status:
            out[nsp_id] = NspPower(status.get("power_source"), status.get("power_hours_left"))
    return out


def _item_out(row: Any) -> ItemOut:
    return ItemOut(**{k: getattr(row, k) for k in ItemOut.model_fields})


def _real_first(ranked: list[Any]) -> list[Any]:
    """Real work above exercise work, each in priority order: a real P1 during an exercise
    stands out at the top and the two are never interleaved."""
    return sorted(ranked, key=lambda rp: rp[0].exercise_id is not None)


def _detail(triage: Triage, item_id: int) -> ItemDetail:
    with triage.engine.connect() as conn:
        row = conn.execute(sa.select(ITEMS).where(ITEMS.c.id == item_id)).first()
        if row is None:
            raise HTTPException(404, detail=f"no item with id {item_id}")
        reports = conn.execute(
            sa.select(REPORTS)
            .where(REPORTS.c.item_id == item_id)
            .order_by(REPORTS.c.received_at, REPORTS.c.message_id)
        ).all()
        stored = {
            m.message_id: m
            for m in conn.execute(
                sa.select(
                    MESSAGES.c.message_id, MESSAGES.c.body, MESSAGES.c.transport, MESSAGES.c.sent_at
                ).where(MESSAGES.c.message_id.in_([r.message_id for r in reports]))
            )
        }
        power = _power(conn) if row.item_type == "resource_request" else {}
        channels = relay.history(conn, [r.message_id for r in reports])
    priority = (
        PriorityOut.of(score_item(row, utcnow(), triage.settings, power))
        if row.state in OPEN_STATES
        else None
    )
    return ItemDetail(
        **_item_out(row).model_dump(),
        reports=[
            ReportOut(
                message_id=r.message_id,
                kind=r.kind,
                nsp_id=r.nsp_id,
                received_at=r.received_at,
                category=r.category,
                urgency_class=r.cls,
                life_threatening=r.life_threatening,
                description=r.description,
                address=r.address,
                lat=r.lat,
                lon=r.lon,
                joined_by=r.joined_by,
                match_score=r.match_score,
                exercise_id=r.exercise_id,
                channels=[relay.channel_label(e.channel) for e in channels.get(r.message_id, [])],
                **_carried(stored.get(r.message_id)),
            )
            for r in reports
        ],
        priority=priority,
        allowed_states=allowed_states(row),
    )


def _carried(message: Any) -> dict[str, Any]:
    """The fields of the stored report a dispatcher needs beside the triage's features."""
    if message is None:
        return {}
    body: dict[str, Any] = message.body or {}
    location = body.get("location") or {}
    return {
        "landmark": location.get("description"),
        "reporter_name": body.get("reporter_name"),
        "callback": body.get("callback"),
        "people_involved": body.get("people_involved"),
        "vulnerable_people": body.get("vulnerable_people"),
        "channel": message.transport,
        "sent_at": message.sent_at,
        "body": body,
    }


def allowed_states(row: Any) -> list[ItemState]:
    """What the workflow lets this item become now (``workflow.change_state`` decides)."""
    if row.merged_into is not None:
        return []
    nexts = TRANSITIONS[ItemState(row.state)]
    return [s for s in ItemState if s in nexts]


def _http_errors(exc: Exception) -> HTTPException | JSONResponse:
    if isinstance(exc, workflow.NotFound):
        return HTTPException(404, detail=str(exc))
    if isinstance(exc, workflow.Conflict):
        return HTTPException(409, detail=str(exc))
    if isinstance(exc, workflow.Invalid):
        return JSONResponse(
            {"detail": [{"loc": ["body", exc.field], "msg": str(exc), "type": "value_error"}]},
            status_code=422,
        )
    raise exc


async def _act(triage: Triage, fn: Any, *args: Any) -> Any:
    try:
        result = await run_in_threadpool(fn, *args)
    except (workflow.NotFound, workflow.Conflict, workflow.Invalid) as exc:
        err = _http_errors(exc)
        if isinstance(err, HTTPException):
            raise err from exc
        return err
    triage.changed()
    return result


# --------------------------------------------------------------------------- routes


@router.get(
    "/queue",
    summary="Open work, highest priority first, with the reasons",
    response_model=list[QueueEntry],
    dependencies=[require(*READERS)],
)
def queue(
    triage: TriageDep,
    limit: Annotated[int, Query(ge=1, le=2000)] = 200,
    exercise: ExerciseQuery = "all",
    at: Annotated[
        Timestamp | None,
        Query(description="Score as of this time (default: now); for reviews and replays."),
    ] = None,
) -> list[QueueEntry]:
    now = at or utcnow()
    stmt = sa.select(ITEMS).where(ITEMS.c.state.in_(OPEN_STATES))
    scope = exercise_where(ITEMS.c.exercise_id, exercise)
    if scope is not None:
        stmt = stmt.where(scope)
    with triage.engine.connect() as conn:
        rows = conn.execute(stmt).all()
        power = _power(conn)
    ranked = _real_first(order(rows, now, triage.settings, power))[:limit]
    return [
        QueueEntry(rank=i + 1, item=_item_out(row), priority=PriorityOut.of(p))
        for i, (row, p) in enumerate(ranked)
    ]


@router.get(
    "/incidents",
    summary="Incidents, newest activity first",
    response_model=list[ItemOut],
    dependencies=[require(*READERS)],
)
def list_incidents(
    triage: TriageDep,
    state: Annotated[
        str | None, Query(description="open, or one state (new, acknowledged, …)")
    ] = "open",
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    exercise: ExerciseQuery = "all",
) -> list[ItemOut]:
    stmt = sa.select(ITEMS).where(ITEMS.c.item_type == "incident")
    scope = exercise_where(ITEMS.c.exercise_id, exercise)
    if scope is not None:
        stmt = stmt.where(scope)
    if state == "open":
        stmt = stmt.where(ITEMS.c.state.in_(OPEN_STATES))
    elif state:
        if state not in {s.value for s in ItemState}:
            raise HTTPException(
                422,
                detail=f"state must be 'open' or one of {', '.join(s.value for s in ItemState)}",
            )
        stmt = stmt.where(ITEMS.c.state == state)
    stmt = stmt.order_by(ITEMS.c.last_seen.desc(), ITEMS.c.id.desc()).offset(offset).limit(limit)
    with triage.engine.connect() as conn:
        return [_item_out(r) for r in conn.execute(stmt)]


@router.get(
    "/incidents/{item_id}",
    summary="One incident with its reports, NSPs and priority",
    response_model=ItemDetail,
    responses={404: {"description": "No such incident"}},
    dependencies=[require(*READERS)],
)
def get_incident(item_id: ItemIdPath, triage: TriageDep) -> ItemDetail:
    detail = _detail(triage, item_id)
    if detail.item_type != "incident":
        raise HTTPException(404, detail=f"item {item_id} is a {detail.item_type}, not an incident")
    return detail


@router.post(
    "/incidents/{item_id}/merge",
    summary="Merge this incident into another (it closes as duplicate; nothing is deleted)",
    response_model=ItemDetail,
    responses={404: {"description": "No such item"}, 409: {"description": "Not allowed now"}},
    dependencies=[require(*OPERATORS)],
)
async def merge_incident(
    item_id: ItemIdPath, req: MergeRequest, triage: TriageDep, actor: ActorDep
) -> Any:
    err = await _act(
        triage,
        workflow.merge,
        triage.engine,
        triage.cp_id,
        item_id,
        req.into,
        req.note,
        actor,
        utcnow(),
    )
    if isinstance(err, JSONResponse):
        return err
    return _detail(triage, req.into)


@router.post(
    "/incidents/{item_id}/split",
    summary="Take reports out of this incident into a new one",
    status_code=201,
    response_model=ItemDetail,
    responses={404: {"description": "No such item"}, 409: {"description": "Not allowed now"}},
    dependencies=[require(*OPERATORS)],
)
async def split_incident(
    item_id: ItemIdPath, req: SplitRequest, triage: TriageDep, actor: ActorDep
) -> Any:
    new_id = await _act(
        triage, workflow.split, triage.engine, item_id, req.message_ids, req.note, actor, utcnow()
    )
    if isinstance(new_id, JSONResponse):
        return new_id
    return _detail(triage, new_id)


@router.post(
    "/incidents/{item_id}/keep-separate",
    summary="Decide that a possible duplicate is a separate incident",
    response_model=ItemDetail,
    responses={404: {"description": "No such item"}, 409: {"description": "Nothing to decide"}},
    dependencies=[require(*OPERATORS)],
)
async def keep_separate(
    item_id: ItemIdPath, req: DecisionRequest, triage: TriageDep, actor: ActorDep
) -> Any:
    await _act(triage, workflow.keep_separate, triage.engine, item_id, req.note, actor, utcnow())
    return _detail(triage, item_id)


@router.get(
    "/items/{item_id}",
    summary="One queue item (incident or resource request)",
    response_model=ItemDetail,
    responses={404: {"description": "No such item"}},
    dependencies=[require(*READERS)],
)
def get_item(item_id: ItemIdPath, triage: TriageDep) -> ItemDetail:
    return _detail(triage, item_id)


@router.post(
    "/items/{item_id}/state",
    summary="Move an item to a new state, with a note; the NSPs are told",
    response_model=ItemDetail,
    responses={
        404: {"description": "No such item"},
        409: {"description": "Illegal transition; 'detail' says which are allowed"},
    },
    dependencies=[require(*OPERATORS)],
)
async def change_state(
    item_id: ItemIdPath, req: StateChange, triage: TriageDep, actor: ActorDep, response: Response
) -> Any:
    acks = await _act(
        triage,
        workflow.change_state,
        triage.engine,
        triage.cp_id,
        item_id,
        req.state,
        req.note,
        actor,
        utcnow(),
    )
    response.headers["X-Acks-Queued"] = str(acks)
    return _detail(triage, item_id)


@router.get(
    "/items/{item_id}/audit",
    summary="Every action on this item: who, when, from/to, note",
    response_model=list[AuditOut],
    responses={404: {"description": "No such item"}},
    dependencies=[require(*READERS)],
)
def item_audit(item_id: ItemIdPath, triage: TriageDep) -> list[AuditOut]:
    with triage.engine.connect() as conn:
        if conn.execute(sa.select(ITEMS.c.id).where(ITEMS.c.id == item_id)).first() is None:
            raise HTTPException(404, detail=f"no item with id {item_id}")
        rows = conn.execute(
            sa.select(AUDIT).where(AUDIT.c.item_id == item_id).order_by(AUDIT.c.id)
        ).all()
    return [AuditOut(**r._mapping) for r in rows]
