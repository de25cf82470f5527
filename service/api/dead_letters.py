"""Dead letters: every message that failed validation, with its raw payload and reason."""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel
from sqlmodel import col, select

from noodcore.httpguard import require
from service.auth.roles import OPERATORS
from service.context import SessionDep
from service.models import DeadLetter

router = APIRouter(
    prefix="/api/v1/dead-letters", tags=["dead letters"], dependencies=[require(*OPERATORS)]
)


class DeadLetterOut(BaseModel):
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
    )


@router.get("", summary="List dead letters, newest first", response_model=list[DeadLetterOut])
def list_dead_letters(
    session: SessionDep,
    nsp_id: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000_000)] = 0,
) -> list[DeadLetterOut]:
    stmt = select(DeadLetter)
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
    dead_letter_id: Annotated[int, Path(ge=1, le=2**62)], session: SessionDep
) -> DeadLetterOut:
    d = session.get(DeadLetter, dead_letter_id)
    if d is None:
        raise HTTPException(404, detail=f"no dead letter with id {dead_letter_id}")
    return _out(d)
