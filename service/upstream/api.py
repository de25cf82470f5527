"""Operators' view of the upward path: the outbox per target, dead letters and their retry,
and the summaries this CP produced."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from noodcore.db import table_of
from noodcore.httpguard import MAX_ID, MAX_OFFSET, require
from schemas.upstream import Summary, SummaryTrigger
from service.auth.roles import OPERATORS, READERS
from service.context import ActorDep, ContextDep
from service.settings import Role
from service.upstream import events, outbox
from service.upstream.models import UpstreamOutbox, UpstreamSummary
from service.upstream.runtime import UpstreamDep

router = APIRouter(prefix="/api/v1/upstream", tags=["upstream"])

_outbox = table_of(UpstreamOutbox)
_summaries = table_of(UpstreamSummary)


class OutboxRow(BaseModel):
    id: int
    idempotency_key: str
    target: str
    kind: str
    ref: str
    state: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    give_up_at: datetime
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    delivered_at: datetime | None
    dead_at: datetime | None
    superseded_by: str | None
    retried_by: str | None
    retried_at: datetime | None
    payload: dict[str, Any] | None = None


class TargetStatus(BaseModel):
    target: str
    counts: dict[str, int]
    oldest_pending_at: datetime | None
    next_attempt_at: datetime | None
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None


class UpstreamStatus(BaseModel):
    role: str
    node_id: str
    instance_id: str
    targets: list[TargetStatus]
    unconfigured_targets: list[TargetStatus]


class SummaryRef(BaseModel):
    seq: int
    summary_id: str
    produced_at: datetime
    triggers: list[str]


class RetryResult(BaseModel):
    retried: list[int]


def _row(r: Any, with_payload: bool = False) -> OutboxRow:
    data = {k: v for k, v in r._mapping.items() if k not in ("payload", "priority")}
    return OutboxRow(**data, payload=json.loads(r.payload) if with_payload else None)


@router.get(
    "/status",
    summary="Outbox counts and link state per upstream target",
    dependencies=[require(*READERS)],
)
def status(up: UpstreamDep) -> UpstreamStatus:
    with up.engine.connect() as conn:
        counts: dict[str, dict[str, int]] = {}
        for target, state, n in conn.execute(
            sa.select(_outbox.c.target, _outbox.c.state, sa.func.count()).group_by(
                _outbox.c.target, _outbox.c.state
            )
        ):
            counts.setdefault(target, dict.fromkeys(outbox.STATES, 0))[state] = n
        pending = {
            t: (oldest, nxt)
            for t, oldest, nxt in conn.execute(
                sa.select(
                    _outbox.c.target,
                    sa.func.min(_outbox.c.created_at),
                    sa.func.min(_outbox.c.next_attempt_at),
                )
                .where(_outbox.c.state == outbox.PENDING)
                .group_by(_outbox.c.target)
            )
        }

    def target_status(t: str) -> TargetStatus:
        live = up.forwarder.targets.get(t)
        oldest, nxt = pending.get(t, (None, None))
        return TargetStatus(
            target=t,
            counts=counts.get(t, dict.fromkeys(outbox.STATES, 0)),
            oldest_pending_at=oldest,
            next_attempt_at=nxt,
            last_success_at=live.state.last_success_at if live else None,
            last_failure_at=live.state.last_failure_at if live else None,
            last_error=live.state.last_error if live else None,
        )

    configured = up.upstream.upstream_urls
    return UpstreamStatus(
        role=up.role.value,
        node_id=up.settings.cp_id,
        instance_id=up.instance_id,
        targets=[target_status(t) for t in configured],
        # Items queued for a target no longer configured wait there, visible, until it is
        # configured again or an operator looks after them.
        unconfigured_targets=[target_status(t) for t in sorted(set(counts) - set(configured))],
    )


@router.get(
    "/outbox",
    summary="Outbox items, newest first",
    response_model=list[OutboxRow],
    dependencies=[require(*READERS)],
)
def list_outbox(
    up: UpstreamDep,
    state: Annotated[str | None, Query(description=f"One of {', '.join(outbox.STATES)}")] = None,
    target: Annotated[str | None, Query(max_length=500)] = None,
    kind: Annotated[Literal["p1_item", "summary"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[OutboxRow]:
    if state is not None and state not in outbox.STATES:
        raise HTTPException(422, detail=f"state must be one of {', '.join(outbox.STATES)}")
    q = sa.select(_outbox)
    if state:
        q = q.where(_outbox.c.state == state)
    if target:
        q = q.where(_outbox.c.target == target)
    if kind:
        q = q.where(_outbox.c.kind == kind)
    with up.engine.connect() as conn:
        rows = conn.execute(q.order_by(_outbox.c.id.desc()).offset(offset).limit(limit)).all()
    return [_row(r) for r in rows]


@router.get(
    # ':int': only digits match, so GET /outbox/retry-dead (a POST-only path) is a 405 with
    # 'Allow: POST' instead of a 422 about item_id.
    "/outbox/{item_id:int}",
    summary="One outbox item, with the exact payload sent",
    responses={404: {"description": "No such item"}},
    dependencies=[require(*READERS)],
)
def get_outbox_item(item_id: Annotated[int, Path(ge=1, le=MAX_ID)], up: UpstreamDep) -> OutboxRow:
    with up.engine.connect() as conn:
        row = conn.execute(sa.select(_outbox).where(_outbox.c.id == item_id)).first()
    if row is None:
        raise HTTPException(404, detail=f"no outbox item {item_id}")
    return _row(row, with_payload=True)


@router.post(
    "/outbox/{item_id}/retry",
    summary="Send a dead-lettered item again",
    responses={404: {"description": "No such item"}, 409: {"description": "Item is not dead"}},
    dependencies=[require(*OPERATORS)],
)
def retry_item(
    item_id: Annotated[int, Path(ge=1, le=MAX_ID)], up: UpstreamDep, actor: ActorDep
) -> OutboxRow:
    try:
        with up.engine.begin() as conn:
            outbox.retry_dead(conn, actor, up.give_up_after, item_id=item_id)
            _audit(conn, actor, [item_id])
    except KeyError:
        raise HTTPException(404, detail=f"no outbox item {item_id}") from None
    except outbox.NotRetryable as exc:
        raise HTTPException(
            409, detail=f"only dead items can be retried; item {item_id} is {exc.state}"
        ) from None
    up.committed()
    return get_outbox_item(item_id, up)


@router.post(
    "/outbox/retry-dead",
    summary="Send every dead-lettered item again",
    dependencies=[require(*OPERATORS)],
)
def retry_all_dead(
    up: UpstreamDep,
    actor: ActorDep,
    target: Annotated[str | None, Query(max_length=500)] = None,
) -> RetryResult:
    with up.engine.begin() as conn:
        ids = outbox.retry_dead(conn, actor, up.give_up_after, target=target)
        if ids:
            _audit(conn, actor, ids)
    up.committed()
    return RetryResult(retried=ids)


def _audit(conn: sa.Connection, actor: str, ids: list[int]) -> None:
    events.publish_event(conn, events.UPSTREAM, {"action": "retry", "by": actor, "outbox_ids": ids})


@router.get(
    "/summaries", summary="Summaries produced here, newest first", dependencies=[require(*READERS)]
)
def list_summaries(
    up: UpstreamDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[SummaryRef]:
    with up.engine.connect() as conn:
        rows = conn.execute(
            sa.select(
                _summaries.c.seq,
                _summaries.c.summary_id,
                _summaries.c.produced_at,
                _summaries.c.triggers,
            )
            .order_by(_summaries.c.id.desc())
            .offset(offset)
            .limit(limit)
        ).all()
    return [SummaryRef(**r._mapping) for r in rows]


@router.get(
    "/summaries/{seq}",
    summary="One summary by sequence number ('latest' for the newest)",
    responses={404: {"description": "No such summary"}},
    dependencies=[require(*READERS)],
)
def get_summary(seq: str, up: UpstreamDep) -> Summary:
    q = sa.select(_summaries.c.body)
    if seq == "latest":
        q = q.order_by(_summaries.c.id.desc()).limit(1)
    elif re.fullmatch(r"[0-9]{1,18}", seq):  # ASCII (str.isdigit takes "²"), within BIGINT
        q = q.where(_summaries.c.seq == int(seq))
    else:
        raise HTTPException(422, detail="seq must be a number of at most 18 digits or 'latest'")
    with up.engine.connect() as conn:
        body = conn.execute(q).scalar_one_or_none()
    if body is None:
        raise HTTPException(404, detail=f"no summary {seq}")
    return Summary.model_validate(body)


@router.post(
    "/summaries",
    summary="Produce a summary now (and send it up)",
    status_code=201,
    responses={409: {"description": "Not a CP (a region relays its CPs' summaries)"}},
    dependencies=[require(*OPERATORS)],
)
async def produce_summary(up: UpstreamDep, ctx: ContextDep) -> Summary:
    if up.changes is None or ctx.settings.role != Role.CP:
        raise HTTPException(
            409, detail=f"this instance runs in role {up.role.value}; only a CP makes summaries"
        )
    summary = await run_in_threadpool(up.changes.produce_now, up.engine, SummaryTrigger.MANUAL)
    up.committed()
    return summary
