"""Dead letters: every message the CP could not process, with its raw payload, reason and
failing step. Operators re-process one after a fix; re-processing is idempotent (a resolved
dead letter is never processed again, and a message already stored is not stored twice)."""

from __future__ import annotations

import asyncio
import base64
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from noodcore.httpguard import MAX_ID, require
from service.auth.roles import OPERATORS
from service.context import ContextDep, SessionDep
from service.exercise.marks import ExerciseQuery, Marked, exercise_where
from service.ingest import InvalidMessage
from service.models import DeadLetter

REPROCESS_TIMEOUT_SECONDS = 30

router = APIRouter(
    prefix="/api/v1/dead-letters", tags=["dead letters"], dependencies=[require(*OPERATORS)]
)


class DeadLetterOut(Marked):
    id: int
    received_at: datetime
    transport: str
    topic: str | None
    nsp_id: str | None
    reason: str
    payload_text: str  # UTF-8 with replacement characters, for reading
    payload_base64: str  # exact bytes
    payload_size: int
    truncated: bool
    message_id: str | None = None
    step: str | None = None
    resolved_at: datetime | None = None
    resolution: str | None = None


class ReprocessOut(BaseModel):
    dead_letter_id: int
    outcome: Literal["stored", "already_stored", "already_resolved", "failed"]
    message_id: str | None
    detail: str


def _out(d: DeadLetter) -> DeadLetterOut:
    assert d.id is not None
    return DeadLetterOut(
        id=d.id,
        received_at=d.received_at,
        transport=d.transport,
        topic=d.topic,
        nsp_id=d.nsp_id,
        reason=d.reason,
        payload_text=d.payload.decode("utf-8", errors="replace"),
        payload_base64=base64.b64encode(d.payload).decode(),
        payload_size=d.payload_size,
        truncated=d.truncated,
        message_id=d.message_id,
        step=d.step,
        resolved_at=d.resolved_at,
        resolution=d.resolution,
        exercise_id=d.exercise_id,
    )


@router.get("", summary="List dead letters, newest first", response_model=list[DeadLetterOut])
def list_dead_letters(
    session: SessionDep,
    nsp_id: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
    exercise: ExerciseQuery = "all",
) -> list[DeadLetterOut]:
    stmt = select(DeadLetter)
    scope = exercise_where(col(DeadLetter.exercise_id), exercise)
    if scope is not None:
        stmt = stmt.where(scope)
    if nsp_id:
        stmt = stmt.where(DeadLetter.nsp_id == nsp_id)
    stmt = stmt.order_by(col(DeadLetter.id).desc()).offset(offset).limit(limit)
    return [_out(d) for d in session.exec(stmt).all()]


@router.get(
    "/{dead_letter_id}",
    summary="One dead letter",
    response_model=DeadLetterOut,
    responses={404: {"description": "No such dead letter"}},
)
def get_dead_letter(
    dead_letter_id: Annotated[int, Path(ge=1, le=MAX_ID)], session: SessionDep
) -> DeadLetterOut:
    d = session.get(DeadLetter, dead_letter_id)
    if d is None:
        raise HTTPException(404, detail=f"no dead letter with id {dead_letter_id}")
    return _out(d)


def _load(engine: Engine, dead_letter_id: int) -> DeadLetter | None:
    with Session(engine) as session:
        d: DeadLetter | None = session.get(DeadLetter, dead_letter_id)
        if d is not None:
            session.expunge(d)
        return d


@router.post(
    "/{dead_letter_id}/reprocess",
    summary="Run a dead letter through ingest again (after a fix); idempotent",
    response_model=ReprocessOut,
    responses={
        404: {"description": "No such dead letter"},
        409: {"description": "The payload was truncated when stored: it cannot be re-processed"},
        503: {"description": "Ingest did not finish in time (database down?); try again"},
    },
)
async def reprocess_dead_letter(
    dead_letter_id: Annotated[int, Path(ge=1, le=MAX_ID)], ctx: ContextDep
) -> ReprocessOut:
    d = await run_in_threadpool(_load, ctx.engine, dead_letter_id)
    if d is None:
        raise HTTPException(404, detail=f"no dead letter with id {dead_letter_id}")
    if d.resolved_at is not None:
        return ReprocessOut(
            dead_letter_id=dead_letter_id,
            outcome="already_resolved",
            message_id=d.message_id,
            detail=d.resolution or "resolved",
        )
    if d.truncated:
        raise HTTPException(
            409, detail=f"dead letter {dead_letter_id} kept only part of its payload"
        )
    future = ctx.worker.reprocess(dead_letter_id, d.payload, d.topic, d.transport, d.nsp_id)
    try:
        result = await asyncio.wait_for(asyncio.wrap_future(future), REPROCESS_TIMEOUT_SECONDS)
    except InvalidMessage as exc:
        return ReprocessOut(
            dead_letter_id=dead_letter_id,
            outcome="failed",
            message_id=d.message_id,
            detail=exc.reason,
        )
    except TimeoutError as exc:
        raise HTTPException(503, detail="ingest did not finish in time; try again") from exc
    if result.dead_letter is not None:
        return ReprocessOut(
            dead_letter_id=dead_letter_id,
            outcome="failed",
            message_id=result.message_id,
            detail=result.dead_letter,
        )
    return ReprocessOut(
        dead_letter_id=dead_letter_id,
        outcome="stored" if result.new else "already_stored",
        message_id=result.message_id,
        detail=f"message {result.message_id} is stored",
    )
