"""HTTP API of the fallback channels: NSP short codes and keys, USB-stick files, short forms.

Upload (console and ``noodnet usb cp-import``) and download (``noodnet usb cp-export``) of
transfer files are for operators; codes and keys for admins (provisioning).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Body, HTTPException, Path, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool

from noodcore.httpguard import require
from schemas import AckMessage, utcnow
from schemas import shortform as sf
from schemas.common import NspId
from schemas.transfer import MAX_FILE_BYTES, TransferError, file_name
from service.auth.roles import ADMINS, OPERATORS, READERS
from service.auth.tokens import record_event
from service.bulletins.versions import current_versions, state_of
from service.context import ActorDep, ContextDep, SessionDep
from service.fallback import registry, relay, usb
from service.fallback.models import NspFallback, RelayReport
from service.models import Message, Nsp
from service.triage.models import StateAckOutbox

router = APIRouter(prefix="/api/v1/fallback", tags=["fallback"])


class FallbackSetup(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    short_code: str | None = Field(
        default=None,
        description="2-6 capital letters/digits, starting with a letter; default: proposed "
        "from the NSP id and free",
        examples=["OSC"],
    )
    new_key: bool = Field(default=False, description="Replace the transfer key (lost stick).")


class FallbackOut(BaseModel):
    nsp_id: str
    short_code: str
    key_id: str
    transfer_key: str | None = Field(
        default=None,
        description="Only when a key was made now: put it in the gateway's env file as "
        "NOODNET_TRANSFER_KEY. It is not shown again.",
    )


class ImportOut(BaseModel):
    nsp_id: str
    file_id: str
    messages: int
    stored: int
    duplicates: int


def _refused(
    exc: TransferError | sf.ShortFormError | relay.RelayError, loc: tuple[str, ...]
) -> Exception:
    code = exc.code
    return RequestValidationError(
        [
            {
                "type": f"refused.{code}",
                "loc": loc,
                "msg": exc.en,
                "input": None,
                "ctx": {"code": code, "nl": exc.nl},
            }
        ]
    )


@router.get(
    "/nsps",
    summary="Short code and key id of every NSP (no secrets)",
    response_model=list[FallbackOut],
    dependencies=[require(*READERS)],
)
def list_fallback(session: SessionDep) -> list[FallbackOut]:
    rows = session.exec(select(NspFallback).order_by(col(NspFallback.nsp_id))).all()
    return [FallbackOut(nsp_id=r.nsp_id, short_code=r.short_code, key_id=r.key_id) for r in rows]


@router.put(
    "/nsps/{nsp_id}",
    summary="Give an NSP its short code and transfer key, or change them",
    response_model=FallbackOut,
    responses={409: {"description": "The short code belongs to another NSP."}},
    dependencies=[require(*ADMINS)],
)
def setup_fallback(
    nsp_id: Annotated[NspId, Path()],
    setup: Annotated[FallbackSetup, Body()],
    session: SessionDep,
    actor: ActorDep,
) -> FallbackOut:
    try:
        assigned = registry.assign(session, nsp_id, setup.short_code, setup.new_key)
    except registry.FallbackError as exc:
        if exc.status_code == 422:
            raise RequestValidationError(
                [{"type": "value_error", "loc": ("body", "short_code"), "msg": str(exc)}]
            ) from exc
        raise HTTPException(exc.status_code, detail=str(exc)) from exc
    row = assigned.row
    record_event(
        session,
        "nsp_fallback_set",
        actor,
        f"NSP {nsp_id}: short code {row.short_code}, key {row.key_id}"
        + (" (new key)" if assigned.key else ""),
        nsp_id=nsp_id,
        data={"short_code": row.short_code, "key_id": row.key_id},
    )
    session.commit()
    return FallbackOut(
        nsp_id=nsp_id,
        short_code=row.short_code,
        key_id=row.key_id,
        transfer_key=str(assigned.key) if assigned.key else None,
    )


@router.post(
    "/usb/import",
    summary="Import a gateway's USB-stick file (its unacknowledged outbox)",
    response_model=ImportOut,
    responses={
        422: {
            "description": "Refused as a whole, nothing stored: not a transfer file, "
            "tampered, signed for another NSP, ... ('ctx.nl' has the reason in Dutch)."
        },
        413: {"description": "File too large."},
    },
    dependencies=[require(*OPERATORS)],
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object"}}},
        }
    },
)
async def import_usb(
    request: Request,
    ctx: ContextDep,
    nsp_id: Annotated[
        str | None,
        Query(max_length=63, description="Refuse the file unless it is this NSP's"),
    ] = None,
) -> ImportOut:
    data = await request.body()
    if len(data) > MAX_FILE_BYTES:
        raise HTTPException(413, detail=f"file larger than {MAX_FILE_BYTES} bytes")
    try:
        result = await run_in_threadpool(
            usb.import_file, ctx.engine, ctx.worker, ctx.settings.cp_id, data, nsp_id
        )
    except TransferError as exc:
        raise _refused(exc, ("body",)) from exc
    return ImportOut(**result.__dict__)


@router.get(
    "/usb/export/{nsp_id}",
    summary="The USB-stick file for one NSP: acks, tasks and bulletins, signed for it",
    responses={
        200: {"content": {"application/json": {}}, "description": "The signed file."},
        404: {"description": "The NSP has no transfer key."},
    },
    response_class=Response,
    dependencies=[require(*OPERATORS)],
)
async def export_usb(nsp_id: Annotated[NspId, Path()], ctx: ContextDep) -> Response:
    try:
        data, counts = await run_in_threadpool(
            usb.export_file, ctx.engine, ctx.settings.cp_id, nsp_id
        )
    except TransferError as exc:
        raise HTTPException(404, detail=exc.en) from exc
    return Response(
        data,
        media_type="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="{file_name("down", nsp_id)}"',
            "X-Noodnet-Counts": ",".join(f"{k}={v}" for k, v in counts.items()),
        },
    )


class ShortFormIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=1000, examples=["OSC-17 HULP P1 MEDISCH 1P 1K/X/Y *00"])


class ShortFormOut(BaseModel):
    nsp_id: str | None = Field(description="From the short code; None when the code is unknown.")
    seq: int
    kind: str
    fields: dict[str, Any]
    body: dict[str, Any]


@router.post(
    "/shortform/decode",
    summary="Check and decode a short form (as typed from a radio call, slip or SMS)",
    response_model=ShortFormOut,
    responses={422: {"description": "Refused: 'msg' in English, 'ctx.nl' in Dutch."}},
    dependencies=[require(*READERS)],
)
def decode_shortform(payload: ShortFormIn, session: SessionDep) -> ShortFormOut:
    try:
        r = sf.decode(payload.text)
    except sf.ShortFormError as exc:
        raise _refused(exc, ("body", "text")) from exc
    fields = {k: v for k, v in r.as_dict().items() if v is not None and v != ""}
    return ShortFormOut(
        nsp_id=registry.nsp_for_code(session, r.short_code),
        seq=r.seq,
        kind=r.kind,
        fields=fields,
        body=sf.to_body(r),
    )


class RelayIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(
        max_length=1000,
        description="The short form as read out, written on the slip or received by SMS.",
        examples=["OSC-17 HULP P1 MEDISCH 1P 1K/X/Y *00"],
    )
    channel: Literal["radio", "runner", "sms", "usb"] = Field(
        description="How it reached the CP: radio (portofoon), runner (loper), sms, usb."
    )


class RelayOut(BaseModel):
    message_id: str = Field(description="The stored report (the existing one when known).")
    nsp_id: str
    seq: int
    kind: str
    urgency: str | None
    new: bool = Field(description="False: the CP already had this report; the channel is added.")
    stored_at: datetime


class ChannelEventOut(BaseModel):
    channel: str
    label: str
    at: datetime
    by: str | None


class RelayedOut(BaseModel):
    message_id: str
    nsp_id: str
    seq: int
    kind: str
    short_form: str
    channel: str
    operator: str
    relayed_at: datetime
    original_message_id: str | None
    original_received_at: datetime | None
    history: list[ChannelEventOut]


@router.post(
    "/relay",
    summary="Enter a report on behalf of an NSP (short form by radio, runner, SMS or stick)",
    response_model=RelayOut,
    responses={
        422: {
            "description": "Refused, nothing stored: the check code does not match, the "
            "short code is unknown, ... ('ctx.nl' has the reason in Dutch)."
        }
    },
    dependencies=[require(*OPERATORS)],
)
async def enter_relay(payload: RelayIn, ctx: ContextDep, actor: ActorDep) -> RelayOut:
    try:
        outcome = await run_in_threadpool(
            relay.submit, ctx.engine, ctx.worker, payload.text, payload.channel, actor
        )
    except (sf.ShortFormError, relay.RelayError) as exc:
        raise _refused(exc, ("body", "text")) from exc
    return RelayOut(**outcome.__dict__)


@router.get(
    "/relay",
    summary="Relayed reports and the channels each came by",
    response_model=list[RelayedOut],
    dependencies=[require(*READERS)],
)
def list_relays(
    session: SessionDep,
    nsp_id: Annotated[str | None, Query(max_length=63)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[RelayedOut]:
    query = select(RelayReport).order_by(col(RelayReport.relayed_at).desc()).limit(limit)
    if nsp_id is not None:
        query = query.where(RelayReport.nsp_id == nsp_id)
    return [
        RelayedOut(
            message_id=r.message_id,
            nsp_id=r.nsp_id,
            seq=r.seq,
            kind=r.kind,
            short_form=r.short_form,
            channel=r.channel,
            operator=r.operator,
            relayed_at=r.relayed_at,
            original_message_id=r.original_message_id,
            original_received_at=r.original_received_at,
            history=[
                ChannelEventOut(
                    channel=e["channel"],
                    label=relay.channel_label(e["channel"]),
                    at=e["at"],
                    by=e.get("by"),
                )
                for e in r.history
            ],
        )
        for r in session.exec(query).all()
    ]


class ReadoutOut(BaseModel):
    what: Literal["state", "bulletin"]
    nsp_id: str | None = Field(description="The NSP to call; None: every NSP.")
    short_code: str | None
    at: datetime
    ref: str = Field(description="The report's message id, or 'bulletin-id/version'.")
    lines: list[str] = Field(description="In the order the operator says them.")
    published: bool = Field(description="Also handed to the broker (the NSP may have it).")


READOUT_ZONE = ZoneInfo("Europe/Amsterdam")  # what the people on both radios read


@router.get(
    "/readouts",
    summary="State changes and urgent bulletins as text for the radio",
    response_model=list[ReadoutOut],
    dependencies=[require(*READERS)],
)
def readouts(
    session: SessionDep,
    hours: Annotated[float, Query(gt=0, le=168)] = 12,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[ReadoutOut]:
    now = utcnow()
    since = now - timedelta(hours=hours)
    codes = {r.nsp_id: r.short_code for r in session.exec(select(NspFallback)).all()}
    online = {n.nsp_id: bool(n.online) for n in session.exec(select(Nsp)).all()}
    out: list[ReadoutOut] = []
    rows = session.exec(
        select(StateAckOutbox)
        .where(col(StateAckOutbox.created_at) >= since)
        .order_by(col(StateAckOutbox.created_at).desc())
        .limit(limit)
    ).all()
    for row in rows:
        # Only what the NSP may not have heard: not yet published, or the NSP is offline.
        if row.published_at is not None and online.get(row.nsp_id, False):
            continue
        ack = AckMessage.model_validate_json(row.payload).body
        stored = session.exec(
            select(Message.seq).where(Message.message_id == ack.ref_message_id)
        ).first()
        if stored is None:
            found = session.exec(
                select(RelayReport.seq).where(RelayReport.original_message_id == ack.ref_message_id)
            ).first()
            stored = found
        code = codes.get(row.nsp_id)
        if stored is None or code is None:
            continue
        out.append(
            ReadoutOut(
                what="state",
                nsp_id=row.nsp_id,
                short_code=code,
                at=row.created_at,
                ref=ack.ref_message_id,
                lines=sf.state_readout(
                    code,
                    int(stored),
                    ack.state.value,
                    row.created_at.astimezone(READOUT_ZONE).strftime("%H:%M"),
                    ack.note,
                ),
                published=row.published_at is not None,
            )
        )
    for record, version in current_versions(session, now=now):
        if version.urgency not in ("P1", "P2") or state_of(version, now) != "active":
            continue
        texts = version.body.get("texts") or []
        nl = next((x for x in texts if str(x.get("language", "")).startswith("nl")), None)
        if nl is None:
            continue
        out.append(
            ReadoutOut(
                what="bulletin",
                nsp_id=None,
                short_code=None,
                at=version.created_at,
                ref=f"{record.bulletin_id}/{version.version}",
                lines=sf.bulletin_readout(
                    record.bulletin_id,
                    version.version,
                    version.urgency,
                    nl.get("headline", ""),
                    nl.get("text", ""),
                    version.valid_from.astimezone(READOUT_ZONE).strftime("%H:%M"),
                ),
                published=True,
            )
        )
    return out
