"""Bulletins REST API: create, new version, withdraw, CAP import/export, reach."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from pydantic import BaseModel, Field
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from noodcore.httpguard import MAX_ID, require, unprocessable
from schemas import BulletinText, topics, utcnow
from service.auth.roles import OPERATORS, READERS
from service.bulletins import cap as cap_xml
from service.bulletins import versions as v
from service.bulletins.drafts import NewBulletin, NewVersion, Withdrawal
from service.bulletins.models import BulletinRecord, BulletinVersion
from service.bulletins.publish import PUBLISH_LOCK, publish_version
from service.bulletins.reach import Reach, ReachSummary, reach
from service.context import ActorDep, ContextDep, ServiceContext, SessionDep
from service.exercise import data as exercise_data
from service.exercise.marks import Marked

router = APIRouter(prefix="/api/v1/bulletins", tags=["bulletins"])

BulletinIdPath = Annotated[str, Path(max_length=63, description="The bulletin's id.")]


class BulletinVersionOut(BaseModel):
    version: int
    withdrawn: bool
    urgency: str
    valid_from: datetime
    valid_until: datetime | None
    target_nsps: list[str] | None = Field(description="None: every NSP of the CP.")
    texts: list[BulletinText]
    published_at: datetime
    published_by: str
    source: str = Field(description="'api' or 'cap'")
    note: str | None
    message_id: str
    cap_identifier: str | None

    @classmethod
    def of(cls, row: BulletinVersion) -> BulletinVersionOut:
        body = v.body_of(row)
        return cls(
            version=row.version,
            withdrawn=row.withdrawn,
            urgency=row.urgency,
            valid_from=row.valid_from,
            valid_until=row.valid_until,
            target_nsps=row.target_nsps,
            texts=body.texts,
            published_at=row.created_at,
            published_by=row.created_by,
            source=row.source,
            note=row.note,
            message_id=row.message_id,
            cap_identifier=row.cap_identifier,
        )


class BulletinOut(Marked):
    bulletin_id: str
    state: v.BulletinState
    current_version: int
    created_at: datetime
    created_by: str
    updated_at: datetime
    topic: str = Field(description="The retained MQTT topic gateways read it from.")
    current: BulletinVersionOut
    reach: ReachSummary


class BulletinDetail(BulletinOut):
    versions: list[BulletinVersionOut] = Field(description="Every version, oldest first.")


class CapImportOut(BaseModel):
    outcome: Literal["created", "updated", "withdrawn", "duplicate"]
    cap_message_type: str
    bulletin: BulletinOut
    warnings: list[str] = Field(description="What of the alert is not carried to NSPs.")


def _raise(exc: v.BulletinError) -> HTTPException:
    detail: Any = exc.message
    if isinstance(exc, v.BulletinInvalid):
        detail = [
            {"type": "value_error", "loc": list(p.loc), "msg": p.msg}
            | ({"line": p.line} if p.line is not None else {})
            for p in exc.problems
        ]
    return HTTPException(exc.status_code, detail=detail)


def _out(
    session: Session,
    ctx: ServiceContext,
    record: BulletinRecord,
    current: BulletinVersion,
    now: datetime,
) -> BulletinOut:
    r = reach(
        session,
        current,
        now,
        timedelta(seconds=ctx.settings.bulletin_stale_after_seconds),
        timedelta(seconds=ctx.settings.silent_after_seconds),
        with_versions=False,
    )
    state = v.state_of(current, now)
    return BulletinOut(
        bulletin_id=record.bulletin_id,
        state=state,
        current_version=record.current_version,
        created_at=record.created_at,
        created_by=record.created_by,
        updated_at=record.updated_at,
        topic=topics.bulletin(ctx.settings.cp_id, record.bulletin_id),
        current=BulletinVersionOut.of(current),
        reach=r.summary,
        exercise_id=record.exercise_id,
    )


def _published(session: Session, ctx: ServiceContext, row: BulletinVersion) -> BulletinOut:
    """Commit, then publish (the caller holds PUBLISH_LOCK)."""
    session.commit()
    publish_version(ctx.bridge, ctx.settings.cp_id, row)
    record = v.get_record(session, row.bulletin_id)
    return _out(session, ctx, record, row, utcnow())


@router.get(
    "",
    summary="Bulletins with their current version and reach, newest change first",
    dependencies=[require(*READERS)],
)
def list_bulletins(
    session: SessionDep,
    ctx: ContextDep,
    state: Annotated[
        Literal["current", "all"],
        Query(description="current: active and scheduled only; all: also ended ones"),
    ] = "all",
) -> list[BulletinOut]:
    now = utcnow()
    return [
        _out(session, ctx, record, current, now)
        for record, current in v.current_versions(session, include_ended=state == "all", now=now)
    ]


@router.post(
    "",
    status_code=201,
    summary="Create a bulletin (version 1) and publish it to the NSPs",
    responses={409: {"description": "bulletin_id taken"}, 422: {"description": "names the field"}},
    dependencies=[require(*OPERATORS)],
)
def create_bulletin(
    draft: NewBulletin, session: SessionDep, ctx: ContextDep, actor: ActorDep
) -> BulletinOut:
    if draft.exercise is not None:
        try:
            exercise_data.require_open(session.connection(), draft.exercise)
        except exercise_data.ExerciseError as exc:
            raise unprocessable(("body", "exercise"), exc.detail, draft.exercise) from None
    try:
        with PUBLISH_LOCK:
            row = v.create(
                session,
                ctx.settings.cp_id,
                draft,
                actor,
                bulletin_id=draft.bulletin_id,
            )
            return _published(session, ctx, row)
    except v.BulletinError as exc:
        raise _raise(exc) from None


@router.post(
    "/cap",
    status_code=201,
    summary="Import a CAP 1.2 alert (Alert creates, Update supersedes, Cancel withdraws)",
    responses={
        200: {"description": "This alert (sender + identifier) was imported before."},
        201: {"description": "Imported and published."},
        413: {"description": "Document too large."},
        422: {"description": "Not valid CAP 1.2 or not showable at NSPs; names the element."},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {t: {"schema": {"type": "string"}} for t in cap_xml.CAP_MEDIA_TYPES},
        }
    },
    dependencies=[require(*OPERATORS)],
)
async def import_cap(
    request: Request, response: Response, ctx: ContextDep, actor: ActorDep
) -> CapImportOut:
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > cap_xml.MAX_CAP_BYTES:
        raise HTTPException(413, detail=f"CAP document larger than {cap_xml.MAX_CAP_BYTES} bytes")
    data = await request.body()
    result = await run_in_threadpool(_import_cap, data, ctx, actor)
    if result.outcome == "duplicate":
        response.status_code = 200
    return result


def _known_alert(
    session: Session, ctx: ServiceContext, sender: str, identifier: str
) -> BulletinVersion | None:
    """The version a CAP alert (sender, identifier) is: one imported from it, or, for this
    CP's own export coming back, the version it was exported from."""
    found = v.find_by_cap(session, sender, identifier)
    if found is not None:
        return found
    own = cap_xml.own_version(identifier, sender, ctx.settings.cp_id, ctx.settings.cap_sender_id)
    if own is None:
        return None
    try:
        return v.get_version(session, *own)
    except v.BulletinNotFound:
        return None


def _import_cap(data: bytes, ctx: ServiceContext, actor: str) -> CapImportOut:
    cp_id = ctx.settings.cp_id
    try:
        alert = cap_xml.parse_alert(data, utcnow())
        origin = v.CapOrigin(alert.identifier, alert.sender, alert.xml, alert.sent)
        with PUBLISH_LOCK, Session(ctx.engine) as session:
            seen = _known_alert(session, ctx, alert.sender, alert.identifier)
            own = cap_xml.own_version(
                alert.identifier, alert.sender, cp_id, ctx.settings.cap_sender_id
            )
            if seen is None and own is not None:
                raise v.BulletinInvalid(
                    [
                        v.Problem(
                            ("body", "alert", "identifier"),
                            f"'{alert.identifier}' names version {own[1]} of bulletin "
                            f"'{own[0]}' of this CP, which does not exist here",
                        )
                    ]
                )
            if seen is not None:
                record = v.get_record(session, seen.bulletin_id)
                current = v.get_version(session, record.bulletin_id, record.current_version)
                return CapImportOut(
                    outcome="duplicate",
                    cap_message_type=alert.msg_type,
                    bulletin=_out(session, ctx, record, current, utcnow()),
                    warnings=alert.warnings,
                )
            if alert.msg_type == "Alert":
                assert alert.draft is not None
                row = v.create(session, cp_id, alert.draft, actor, source="cap", origin=origin)
                outcome: Literal["created", "updated", "withdrawn"] = "created"
            else:
                target = None
                for sender, identifier, _sent in reversed(alert.references):
                    target = _known_alert(session, ctx, sender, identifier)
                    if target is not None:
                        break
                if target is None:
                    raise v.BulletinInvalid(
                        [
                            v.Problem(
                                ("body", "alert", "references"),
                                "none of the referenced alerts was imported here; import the "
                                "original alert first",
                            )
                        ]
                    )
                if alert.msg_type == "Update" and not alert.ends:
                    assert alert.draft is not None
                    row = v.add_version(
                        session,
                        cp_id,
                        target.bulletin_id,
                        alert.draft,
                        actor,
                        source="cap",
                        origin=origin,
                    )
                    outcome = "updated"
                else:
                    row = v.withdraw(
                        session,
                        cp_id,
                        target.bulletin_id,
                        actor,
                        note=f"CAP {alert.msg_type} {alert.identifier} from {alert.sender}"
                        + (" ends the alert" if alert.ends else ""),
                        texts=alert.draft.texts if alert.draft else None,
                        cap=alert.draft.cap if alert.draft else None,
                        source="cap",
                        origin=origin,
                    )
                    outcome = "withdrawn"
            return CapImportOut(
                outcome=outcome,
                cap_message_type=alert.msg_type,
                bulletin=_published(session, ctx, row),
                warnings=alert.warnings,
            )
    except v.BulletinError as exc:
        raise _raise(exc) from None


@router.get(
    "/{bulletin_id}",
    summary="One bulletin with every version",
    responses={404: {"description": "No such bulletin"}},
    dependencies=[require(*READERS)],
)
def get_bulletin(
    bulletin_id: BulletinIdPath, session: SessionDep, ctx: ContextDep
) -> BulletinDetail:
    try:
        record = v.get_record(session, bulletin_id)
    except v.BulletinError as exc:
        raise _raise(exc) from None
    rows = v.all_versions(session, bulletin_id)
    current = next(r for r in rows if r.version == record.current_version)
    out = _out(session, ctx, record, current, utcnow())
    return BulletinDetail(**out.model_dump(), versions=[BulletinVersionOut.of(r) for r in rows])


@router.post(
    "/{bulletin_id}/versions",
    status_code=201,
    summary="Publish a new version that supersedes the current one",
    responses={
        404: {"description": "No such bulletin"},
        409: {"description": "Withdrawn, or expected_version is not the current version"},
        422: {"description": "names the field"},
    },
    dependencies=[require(*OPERATORS)],
)
def new_version(
    bulletin_id: BulletinIdPath,
    draft: NewVersion,
    session: SessionDep,
    ctx: ContextDep,
    actor: ActorDep,
) -> BulletinOut:
    try:
        with PUBLISH_LOCK:
            row = v.add_version(
                session,
                ctx.settings.cp_id,
                bulletin_id,
                draft,
                actor,
                expected_version=draft.expected_version,
            )
            return _published(session, ctx, row)
    except v.BulletinError as exc:
        raise _raise(exc) from None


@router.post(
    "/{bulletin_id}/withdraw",
    summary="Withdraw: NSPs stop showing it (a withdrawn version is published)",
    responses={
        404: {"description": "No such bulletin"},
        409: {"description": "Already withdrawn, or expected_version is not current"},
    },
    dependencies=[require(*OPERATORS)],
)
def withdraw_bulletin(
    bulletin_id: BulletinIdPath,
    session: SessionDep,
    ctx: ContextDep,
    actor: ActorDep,
    withdrawal: Withdrawal | None = None,
) -> BulletinOut:
    withdrawal = withdrawal or Withdrawal()
    try:
        with PUBLISH_LOCK:
            row = v.withdraw(
                session,
                ctx.settings.cp_id,
                bulletin_id,
                actor,
                note=withdrawal.note,
                expected_version=withdrawal.expected_version,
            )
            return _published(session, ctx, row)
    except v.BulletinError as exc:
        raise _raise(exc) from None


@router.get(
    "/{bulletin_id}/reach",
    summary="Which targeted NSPs show the current version, which are behind, stale or silent",
    responses={404: {"description": "No such bulletin"}},
    dependencies=[require(*READERS)],
)
def bulletin_reach(bulletin_id: BulletinIdPath, session: SessionDep, ctx: ContextDep) -> Reach:
    try:
        record = v.get_record(session, bulletin_id)
        current = v.get_version(session, bulletin_id, record.current_version)
    except v.BulletinError as exc:
        raise _raise(exc) from None
    return reach(
        session,
        current,
        utcnow(),
        timedelta(seconds=ctx.settings.bulletin_stale_after_seconds),
        timedelta(seconds=ctx.settings.silent_after_seconds),
    )


def _cap_response(
    session: Session, ctx: ServiceContext, bulletin_id: str, version: int
) -> Response:
    try:
        row = v.get_version(session, bulletin_id, version)
    except v.BulletinError as exc:
        raise _raise(exc) from None
    earlier = [r for r in v.all_versions(session, bulletin_id) if r.version < version]
    xml = cap_xml.export_alert(row, earlier, ctx.settings.cp_id, ctx.settings.cap_sender_id)
    return Response(
        xml,
        media_type="application/cap+xml",
        headers={"Content-Disposition": f'inline; filename="{bulletin_id}-v{version}.cap.xml"'},
    )


@router.get(
    "/{bulletin_id}/cap",
    summary="The current version as a CAP 1.2 alert (valid against the OASIS schema)",
    response_class=Response,
    responses={200: {"content": {"application/cap+xml": {}}}, 404: {"description": "Unknown"}},
    dependencies=[require(*READERS)],
)
def export_current(bulletin_id: BulletinIdPath, session: SessionDep, ctx: ContextDep) -> Response:
    try:
        record = v.get_record(session, bulletin_id)
    except v.BulletinError as exc:
        raise _raise(exc) from None
    return _cap_response(session, ctx, bulletin_id, record.current_version)


@router.get(
    "/{bulletin_id}/versions/{version}/cap",
    summary="One version as a CAP 1.2 alert",
    response_class=Response,
    responses={200: {"content": {"application/cap+xml": {}}}, 404: {"description": "Unknown"}},
    dependencies=[require(*READERS)],
)
def export_version(
    bulletin_id: BulletinIdPath,
    version: Annotated[int, Path(ge=1, le=MAX_ID)],
    session: SessionDep,
    ctx: ContextDep,
) -> Response:
    return _cap_response(session, ctx, bulletin_id, version)
