"""Region role API: CPs post their summaries and P1 items here; operators read them back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Body, Header, HTTPException, Query, Response
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from noodcore.db import table_of
from noodcore.httpguard import MAX_OFFSET, require
from schemas.upstream import IDEMPOTENCY_KEY_PATTERN, UpstreamItem
from service.auth.roles import READERS, UPSTREAM_SENDERS
from service.region.inbox import KeyReused, accept
from service.region.models import RegionCp, RegionSummary, RegionUrgent
from service.settings import Role
from service.upstream.runtime import UpstreamDep

router = APIRouter(prefix="/api/v1/region", tags=["region"])

_summaries = table_of(RegionSummary)
_cps = table_of(RegionCp)
_urgent = table_of(RegionUrgent)


class ItemAccepted(BaseModel):
    status: str  # "stored" | "duplicate"
    kind: str
    idempotency_key: str
    current: bool


class RegionCpOut(BaseModel):
    cp_id: str
    instance_id: str
    seq: int
    produced_at: datetime
    received_at: datetime
    summaries_received: int
    p1_items_received: int


class ReceivedItem(BaseModel):
    id: int
    idempotency_key: str
    cp_id: str
    received_at: datetime
    received_from: str | None
    receive_count: int
    payload: dict[str, Any]


@router.post(
    "/items",
    summary="Accept a CP summary or P1 item (region role), once per idempotency key",
    status_code=201,
    response_model=ItemAccepted,
    responses={
        200: {"description": "Already received (same key, same content)."},
        201: {"description": "Stored now."},
        409: {"description": "This instance does not run in region role."},
        422: {
            "description": "Invalid item, missing or mismatching Idempotency-Key, or a key "
            "reused for different content; 'detail' says which."
        },
    },
    dependencies=[require(*UPSTREAM_SENDERS)],
)
async def post_item(
    item: Annotated[UpstreamItem, Body()],
    response: Response,
    up: UpstreamDep,
    idempotency_key: Annotated[
        str | None, Header(alias="Idempotency-Key", pattern=IDEMPOTENCY_KEY_PATTERN)
    ] = None,
    sender: Annotated[str | None, Header(alias="X-Noodnet-Sender", max_length=200)] = None,
) -> ItemAccepted:
    if up.role != Role.REGION:
        raise HTTPException(
            409,
            detail=f"this instance runs in role {up.role.value}; summaries and P1 items go to "
            "an instance in role region (noodnet region)",
        )
    if idempotency_key is None:
        raise HTTPException(422, detail="header Idempotency-Key: required")
    if idempotency_key != item.idempotency_key:
        raise HTTPException(
            422, detail="header Idempotency-Key does not match body.idempotency_key"
        )
    try:
        result = await run_in_threadpool(
            accept, up.engine, item, sender, up.upstream.upstream_urls, up.give_up_after
        )
    except KeyReused as exc:
        raise HTTPException(422, detail=str(exc)) from None
    if result.status == "stored":
        up.committed()
    response.status_code = 201 if result.status == "stored" else 200
    return ItemAccepted(
        status=result.status,
        kind=result.kind,
        idempotency_key=result.idempotency_key,
        current=result.current,
    )


@router.get(
    "/cps",
    summary="Every CP heard from, with its current summary's number",
    dependencies=[require(*READERS)],
)
def list_cps(up: UpstreamDep) -> list[RegionCpOut]:
    with up.engine.connect() as conn:
        n_summaries: dict[str, int] = {
            cp: n
            for cp, n in conn.execute(
                sa.select(_summaries.c.cp_id, sa.func.count()).group_by(_summaries.c.cp_id)
            )
        }
        n_urgent: dict[str, int] = {
            cp: n
            for cp, n in conn.execute(
                sa.select(_urgent.c.cp_id, sa.func.count()).group_by(_urgent.c.cp_id)
            )
        }
        rows = conn.execute(sa.select(_cps).order_by(_cps.c.cp_id)).all()
    return [
        RegionCpOut(
            cp_id=r.cp_id,
            instance_id=r.instance_id,
            seq=r.seq,
            produced_at=r.produced_at,
            received_at=r.received_at,
            summaries_received=n_summaries.get(r.cp_id, 0),
            p1_items_received=n_urgent.get(r.cp_id, 0),
        )
        for r in rows
    ]


def _received(table: sa.Table, up: Any, cp_id: str | None, limit: int, offset: int) -> list[Any]:
    q = sa.select(table)
    if cp_id:
        q = q.where(table.c.cp_id == cp_id)
    with up.engine.connect() as conn:
        rows = conn.execute(q.order_by(table.c.id.desc()).offset(offset).limit(limit)).all()
    return [
        ReceivedItem(
            id=r.id,
            idempotency_key=r.idempotency_key,
            cp_id=r.cp_id,
            received_at=r.received_at,
            received_from=r.received_from,
            receive_count=r.receive_count,
            payload=r.payload,
        )
        for r in rows
    ]


@router.get(
    "/p1-items", summary="P1 items received, newest first", dependencies=[require(*READERS)]
)
def list_p1_items(
    up: UpstreamDep,
    cp_id: Annotated[str | None, Query(max_length=63)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[ReceivedItem]:
    return _received(_urgent, up, cp_id, limit, offset)


@router.get(
    "/summaries", summary="CP summaries received, newest first", dependencies=[require(*READERS)]
)
def list_summaries(
    up: UpstreamDep,
    cp_id: Annotated[str | None, Query(max_length=63)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[ReceivedItem]:
    return _received(_summaries, up, cp_id, limit, offset)
