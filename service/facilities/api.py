"""Facilities REST API: the directory (create, change, archive, state), reach per NSP, and the
observations NSPs reported, which an operator accepts (a state change) or rejects.

Every change is committed, then every NSP's directory is synced and the changed ones are
published (``service.facilities.directory``), so a board shows it within one refresh.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field, model_validator
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from noodcore.httpguard import MAX_ID, require
from schemas import FacilityState, FacilityType, utcnow
from schemas.common import ID_PATTERN, ShortText, StrictModel, Text
from service.auth.roles import OPERATORS, READERS
from service.context import ActorDep, ContextDep, ServiceContext, SessionDep
from service.facilities import directory
from service.facilities.models import FacilityObservation, FacilityRecord, FacilityStateChange

router = APIRouter(prefix="/api/v1/facilities", tags=["facilities"])
reports_router = APIRouter(prefix="/api/v1/facility-observations", tags=["facilities"])

FacilityIdPath = Annotated[str, Path(max_length=63, description="The facility's id.")]


class FacilityFields(StrictModel):
    """What an operator may change of a facility (not its state: that is ``/state``)."""

    type: FacilityType | None = None
    name: ShortText | None = None
    address: Text | None = Field(default=None, min_length=1, max_length=300)
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    opening_hours: Text | None = Field(default=None, max_length=300)
    capacity: int | None = Field(default=None, ge=0, le=1_000_000)
    note: Text | None = Field(default=None, max_length=1000)
    radius_km: float | None = Field(
        default=None, gt=0, le=500, description="Only NSPs within this distance; None: all."
    )

    @model_validator(mode="after")
    def _both_coordinates(self) -> FacilityFields:
        if (self.lat is None) != (self.lon is None):
            raise ValueError("lat and lon must be given together")
        return self


class NewFacility(FacilityFields):
    facility_id: str = Field(pattern=ID_PATTERN, examples=["opvang-sporthal-noord"])
    type: FacilityType
    name: ShortText
    state: FacilityState = FacilityState.OPEN
    state_note: Text | None = Field(default=None, max_length=300)

    @model_validator(mode="after")
    def _somewhere(self) -> NewFacility:
        if self.address is None and self.lat is None:
            raise ValueError("a facility needs an address, coordinates (lat and lon), or both")
        return self


class StateChange(StrictModel):
    state: FacilityState
    note: Text | None = Field(default=None, max_length=300, examples=["geen water meer"])


class StateChangeOut(BaseModel):
    state: str
    note: str | None
    at: datetime
    by: str
    observation_id: int | None


class FacilityOut(BaseModel):
    facility_id: str
    type: str
    name: str
    address: str | None
    lat: float | None
    lon: float | None
    geocoded: bool = Field(description="The position came from the CP's gazetteer.")
    opening_hours: str | None
    capacity: int | None
    note: str | None
    state: str
    state_note: str | None
    state_since: datetime
    state_by: str
    radius_km: float | None = Field(description="None: sent to every NSP.")
    archived: bool
    created_at: datetime
    created_by: str
    updated_at: datetime
    pending_observations: int

    @classmethod
    def of(cls, rec: FacilityRecord, pending: int = 0) -> FacilityOut:
        return cls(**rec.model_dump(), pending_observations=pending)


class FacilityDetail(FacilityOut):
    history: list[StateChangeOut] = Field(description="Every state it was given, newest first.")


class ObservationOut(BaseModel):
    id: int
    nsp_id: str
    facility_id: str | None
    facility_name: str
    observed_state: str
    note: str | None
    observed_at: datetime
    by: str | None
    received_at: datetime
    review: str
    reviewed_at: datetime | None
    reviewed_by: str | None
    review_note: str | None

    @classmethod
    def of(cls, row: FacilityObservation) -> ObservationOut:
        assert row.id is not None
        return cls(**row.model_dump())


class Review(StrictModel):
    decision: Literal["accept", "reject"]
    facility_id: str | None = Field(
        default=None,
        pattern=ID_PATTERN,
        description="The facility it is about, when the NSP named one not in the directory.",
    )
    state: FacilityState | None = Field(
        default=None, description="The state to set on accept; default: the one observed."
    )
    note: Text | None = Field(default=None, max_length=300)


def _geocode(session: Session, address: str) -> tuple[float, float] | None:
    """The address's position from the CP area's gazetteer, when one is loaded."""
    from service.gazetteer.importer import load

    gazetteer = load(session.connection())
    if gazetteer is None:
        return None
    found = gazetteer.read(address, address_field=True)
    return found.position if found is not None else None


def _get(session: Session, facility_id: str) -> FacilityRecord:
    rec = session.get(FacilityRecord, facility_id)
    if rec is None:
        raise HTTPException(404, detail=f"no facility {facility_id!r}")
    return rec


def _pending(session: Session) -> dict[str, int]:
    counts: dict[str, int] = {}
    for fid in session.exec(
        select(FacilityObservation.facility_id).where(FacilityObservation.review == "pending")
    ).all():
        if fid is not None:
            counts[fid] = counts.get(fid, 0) + 1
    return counts


def _detail(session: Session, rec: FacilityRecord) -> FacilityDetail:
    history = session.exec(
        select(FacilityStateChange)
        .where(FacilityStateChange.facility_id == rec.facility_id)
        .order_by(col(FacilityStateChange.id).desc())
    ).all()
    return FacilityDetail(
        **FacilityOut.of(rec, _pending(session).get(rec.facility_id, 0)).model_dump(),
        history=[
            StateChangeOut(state=h.state, note=h.note, at=h.at, by=h.by, observation_id=h.report_id)
            for h in history
        ],
    )


def set_state(
    session: Session,
    rec: FacilityRecord,
    state: FacilityState,
    note: str | None,
    actor: str,
    report_id: int | None = None,
) -> None:
    now = utcnow()
    rec.state = state.value
    rec.state_note = note
    rec.state_since = now
    rec.state_by = actor
    rec.updated_at = now
    session.add(rec)
    session.add(
        FacilityStateChange(
            facility_id=rec.facility_id,
            state=state.value,
            note=note,
            at=now,
            by=actor,
            report_id=report_id,
        )
    )


def publish(ctx: ServiceContext) -> None:
    directory.sync_and_publish(ctx.engine, ctx.settings.cp_id, ctx.bridge)


def _commit_and_publish(
    session: Session, ctx: ServiceContext, rec: FacilityRecord
) -> FacilityDetail:
    """The one way a change to a facility ends: commit, then publish, both under
    ``directory.LOCK`` (a re-publish cannot put an older directory on the broker after this
    one), then the facility as it is now."""
    with directory.LOCK:
        session.commit()
        publish(ctx)
    session.refresh(rec)
    return _detail(session, rec)


def _apply_fields(session: Session, rec: FacilityRecord, fields: FacilityFields) -> None:
    given = fields.model_fields_set
    for required in ("type", "name"):
        if required in given and getattr(fields, required) is None:
            raise HTTPException(
                422,
                detail=[
                    {"type": "value_error", "loc": ["body", required], "msg": "may not be null"}
                ],
            )
    for name in ("type", "name", "opening_hours", "capacity", "note", "radius_km"):
        if name in given:
            value = getattr(fields, name)
            setattr(rec, name, value.value if isinstance(value, FacilityType) else value)
    if "lat" in given or "lon" in given:
        rec.lat, rec.lon, rec.geocoded = fields.lat, fields.lon, False
    if "address" in given:
        rec.address = fields.address
        if fields.address is not None and fields.lat is None:
            # A new address without coordinates: its position comes from the gazetteer.
            pos = _geocode(session, fields.address)
            rec.lat, rec.lon = pos if pos else (None, None)
            rec.geocoded = pos is not None
    if rec.address is None and rec.lat is None:
        raise HTTPException(
            422,
            detail=[
                {
                    "type": "value_error",
                    "loc": ["body", "address"],
                    "msg": "a facility needs an address, coordinates (lat and lon), or both",
                }
            ],
        )


@router.get("", summary="The facility directory", dependencies=[require(*READERS)])
def list_facilities(
    session: SessionDep,
    archived: Annotated[bool, Query(description="Also archived facilities.")] = False,
    state: Annotated[FacilityState | None, Query()] = None,
) -> list[FacilityOut]:
    query = select(FacilityRecord).order_by(col(FacilityRecord.type), col(FacilityRecord.name))
    if not archived:
        query = query.where(FacilityRecord.archived == False)  # noqa: E712
    if state is not None:
        query = query.where(FacilityRecord.state == state.value)
    pending = _pending(session)
    return [FacilityOut.of(r, pending.get(r.facility_id, 0)) for r in session.exec(query).all()]


@router.post(
    "",
    status_code=201,
    summary="Add a facility and send it to the targeted NSPs",
    responses={409: {"description": "facility_id taken"}, 422: {"description": "names the field"}},
    dependencies=[require(*OPERATORS)],
)
def create_facility(
    new: NewFacility, session: SessionDep, ctx: ContextDep, actor: ActorDep
) -> FacilityDetail:
    if session.get(FacilityRecord, new.facility_id) is not None:
        raise HTTPException(409, detail=f"facility {new.facility_id!r} exists")
    now = utcnow()
    rec = FacilityRecord(
        facility_id=new.facility_id,
        type=new.type.value,
        name=new.name,
        state=new.state.value,
        state_note=new.state_note,
        state_since=now,
        state_by=actor,
        created_at=now,
        created_by=actor,
        updated_at=now,
    )
    _apply_fields(session, rec, new)
    session.add(rec)
    session.add(
        FacilityStateChange(
            facility_id=rec.facility_id, state=rec.state, note=rec.state_note, at=now, by=actor
        )
    )
    return _commit_and_publish(session, ctx, rec)


@router.get(
    "/reach",
    summary="Which NSPs show their newest directory version",
    dependencies=[require(*READERS)],
)
def facility_reach(session: SessionDep, ctx: ContextDep) -> directory.FacilityReach:
    return directory.reach(session, timedelta(seconds=ctx.settings.silent_after_seconds))


@router.get(
    "/{facility_id}",
    summary="One facility with its state history",
    responses={404: {"description": "no such facility"}},
    dependencies=[require(*READERS)],
)
def get_facility(facility_id: FacilityIdPath, session: SessionDep) -> FacilityDetail:
    return _detail(session, _get(session, facility_id))


@router.patch(
    "/{facility_id}",
    summary="Change a facility's details (name, address, hours, capacity, targeting)",
    responses={404: {"description": "no such facility"}},
    dependencies=[require(*OPERATORS)],
)
def change_facility(
    facility_id: FacilityIdPath, fields: FacilityFields, session: SessionDep, ctx: ContextDep
) -> FacilityDetail:
    rec = _get(session, facility_id)
    _apply_fields(session, rec, fields)
    rec.updated_at = utcnow()
    session.add(rec)
    return _commit_and_publish(session, ctx, rec)


@router.post(
    "/{facility_id}/state",
    summary="Set a facility open, full or closed; every targeted board shows it",
    responses={404: {"description": "no such facility"}},
    dependencies=[require(*OPERATORS)],
)
def change_state(
    facility_id: FacilityIdPath,
    change: StateChange,
    session: SessionDep,
    ctx: ContextDep,
    actor: ActorDep,
) -> FacilityDetail:
    rec = _get(session, facility_id)
    if rec.archived:
        raise HTTPException(409, detail=f"facility {facility_id!r} is archived")
    set_state(session, rec, change.state, change.note, actor)
    return _commit_and_publish(session, ctx, rec)


@router.delete(
    "/{facility_id}",
    summary="Archive a facility: it leaves every board (kept with its history)",
    responses={404: {"description": "no such facility"}},
    dependencies=[require(*OPERATORS)],
)
def archive_facility(
    facility_id: FacilityIdPath, session: SessionDep, ctx: ContextDep
) -> FacilityDetail:
    rec = _get(session, facility_id)
    rec.archived = True
    rec.updated_at = utcnow()
    session.add(rec)
    return _commit_and_publish(session, ctx, rec)


# ----------------------------------------------------------------------------- observations


@reports_router.get(
    "", summary="Observations reported by NSPs, newest first", dependencies=[require(*READERS)]
)
def list_observations(
    session: SessionDep,
    review: Annotated[Literal["pending", "accepted", "rejected", "all"], Query()] = "pending",
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> list[ObservationOut]:
    query = select(FacilityObservation).order_by(col(FacilityObservation.id).desc()).limit(limit)
    if review != "all":
        query = query.where(FacilityObservation.review == review)
    return [ObservationOut.of(r) for r in session.exec(query).all()]


class ReviewOut(BaseModel):
    observation: ObservationOut
    facility: FacilityDetail | None


def review_observation(
    engine: Engine, ctx: ServiceContext, observation_id: int, review: Review, actor: str
) -> ReviewOut:
    with directory.LOCK, Session(engine) as session:
        row = session.get(FacilityObservation, observation_id)
        if row is None:
            raise HTTPException(404, detail=f"no observation {observation_id}")
        if row.review != "pending":
            raise HTTPException(
                409, detail=f"observation {observation_id} was {row.review} by {row.reviewed_by}"
            )
        rec = None
        if review.decision == "accept":
            facility_id = review.facility_id or row.facility_id
            if facility_id is None:
                raise HTTPException(
                    422,
                    detail=[
                        {
                            "type": "value_error",
                            "loc": ["body", "facility_id"],
                            "msg": "the NSP named no facility of the directory: say which one",
                        }
                    ],
                )
            rec = _get(session, facility_id)
            if rec.archived:
                raise HTTPException(409, detail=f"facility {facility_id!r} is archived")
            row.facility_id = facility_id
            note = review.note if review.note is not None else (row.note or None)
            set_state(
                session,
                rec,
                review.state or FacilityState(row.observed_state),
                note[:300] if note else None,
                actor,
                report_id=row.id,
            )
        row.review = "accepted" if review.decision == "accept" else "rejected"
        row.reviewed_at = utcnow()
        row.reviewed_by = actor
        row.review_note = review.note
        session.add(row)
        session.commit()
        if rec is not None:
            publish(ctx)
            session.refresh(rec)
        session.refresh(row)
        return ReviewOut(
            observation=ObservationOut.of(row),
            facility=_detail(session, rec) if rec is not None else None,
        )


@reports_router.post(
    "/{observation_id}/review",
    summary="Accept (the facility's state changes on every board) or reject an observation",
    responses={
        404: {"description": "no such observation or facility"},
        409: {"description": "already reviewed"},
    },
    dependencies=[require(*OPERATORS)],
)
async def review(
    observation_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    body: Review,
    ctx: ContextDep,
    actor: ActorDep,
) -> ReviewOut:
    return await run_in_threadpool(review_observation, ctx.engine, ctx, observation_id, body, actor)
