"""Messages: the HTTP ingest entry point for gateways, and read access for operators."""

from __future__ import annotations

import asyncio
import math
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, HTTPException, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlmodel import col, select
from starlette.concurrency import run_in_threadpool

from noodcore.httpguard import Identity, Timestamp, require, unprocessable
from schemas import UP_KINDS, Ack, UpMessage
from service.auth.nsp_binding import record_foreign_message
from service.auth.roles import GATEWAYS, READERS
from service.context import ContextDep, SessionDep
from service.exercise.marks import ExerciseQuery, Marked, exercise_where
from service.ingest import InvalidMessage, RateLimited, make_ack
from service.models import Message

router = APIRouter(prefix="/api/v1/messages", tags=["messages"])


def _printable(value: Any) -> Any:
    """Error details as JSON can carry them: a lone surrogate in the input (which the
    request was refused for), or NaN, must not turn a 422 into a 500."""
    if isinstance(value, str):
        return value.encode("utf-8", errors="replace").decode("utf-8")
    if isinstance(value, dict):
        return {_printable(k): _printable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_printable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)  # NaN and infinity are no JSON
    return value


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail = _printable(jsonable_encoder(exc.errors()))
    return JSONResponse(status_code=422, content={"detail": detail})


def install(app: FastAPI) -> None:
    """The app's 422 answer, safe for any input (FastAPI's default fails on surrogates)."""
    app.add_exception_handler(RequestValidationError, _validation_error)


class IngestResponse(BaseModel):
    status: str  # "stored" | "duplicate" | "received_not_processed"
    ack: Ack


class MessageOut(Marked):
    message_id: str
    kind: str
    nsp_id: str
    seq: int
    sent_at: datetime
    received_at: datetime
    skew_seconds: float
    transport: str
    urgency: str | None
    body: dict[str, Any]


@router.post(
    "",
    summary="Submit an upward message (for gateways that post instead of publishing)",
    status_code=201,
    response_model=IngestResponse,
    responses={
        200: {"description": "Already stored (same message_id); the original ack is returned."},
        201: {"description": "Stored now."},
        202: {
            "description": "Received but not processed: kept as a dead letter the CP looks "
            "into (do not resend); the ack has state 'received_not_processed'."
        },
        403: {
            "description": "Not a gateway token, or the message is for another NSP "
            "(recorded as a dead letter and a security event)."
        },
        422: {"description": "Invalid message; 'detail' names the field."},
        429: {"description": "The NSP is over its rate limit; see Retry-After."},
    },
)
async def post_message(
    identity: Annotated[Identity, require(*GATEWAYS)],
    message: Annotated[UpMessage, Body()],
    response: Response,
    ctx: ContextDep,
) -> IngestResponse:
    payload = message.model_dump_json().encode()
    if message.nsp_id != identity.nsp_id:
        reason = await run_in_threadpool(
            record_foreign_message,
            ctx.engine,
            identity,
            message.nsp_id,
            payload,
            ctx.settings.max_payload_bytes,
        )
        raise HTTPException(403, detail=reason)
    try:
        future = ctx.worker.submit_http(payload)
        result = await asyncio.wrap_future(future)
    except InvalidMessage as exc:
        raise unprocessable(("body",), exc.reason, None) from exc
    except RateLimited as exc:
        raise HTTPException(
            429, detail=str(exc), headers={"Retry-After": str(math.ceil(exc.retry_after))}
        ) from exc
    ack = make_ack(ctx.settings.cp_id, result).body
    if result.dead_letter is not None:
        response.status_code = 202
        return IngestResponse(status="received_not_processed", ack=ack)
    response.status_code = 201 if result.new else 200
    return IngestResponse(status="stored" if result.new else "duplicate", ack=ack)


@router.get(
    "",
    summary="List stored messages, newest first",
    response_model=list[MessageOut],
    dependencies=[require(*READERS)],
)
def list_messages(
    session: SessionDep,
    kind: Annotated[str | None, Query(description=f"One of {', '.join(UP_KINDS)}")] = None,
    nsp_id: Annotated[str | None, Query(max_length=63)] = None,
    since: Annotated[Timestamp | None, Query(description="Received at or after")] = None,
    until: Annotated[Timestamp | None, Query(description="Received before")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    exercise: ExerciseQuery = "all",
) -> list[Message]:
    if kind is not None and kind not in UP_KINDS:
        raise unprocessable(("query", "kind"), f"kind must be one of {', '.join(UP_KINDS)}", kind)
    stmt = select(Message)
    scope = exercise_where(col(Message.exercise_id), exercise)
    if scope is not None:
        stmt = stmt.where(scope)
    if kind:
        stmt = stmt.where(Message.kind == kind)
    if nsp_id:
        stmt = stmt.where(Message.nsp_id == nsp_id)
    if since:
        stmt = stmt.where(Message.received_at >= since)
    if until:
        stmt = stmt.where(Message.received_at < until)
    stmt = stmt.order_by(col(Message.id).desc()).offset(offset).limit(limit)
    return list(session.exec(stmt).all())


@router.get(
    "/{message_id}",
    summary="One stored message",
    response_model=MessageOut,
    responses={404: {"description": "No message with this id"}},
    dependencies=[require(*READERS)],
)
def get_message(message_id: str, session: SessionDep) -> Message:
    row = session.exec(select(Message).where(Message.message_id == message_id)).first()
    if row is None:
        raise HTTPException(404, detail=f"no message with id {message_id}")
    return row
