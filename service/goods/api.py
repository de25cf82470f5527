"""Scarce goods REST API: stock and hand-out rates per NSP, low-stock warnings, the ledger
entries, deliveries (tasks with goods) and ration rules."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlmodel import Session, col, select

from noodcore.httpguard import require
from schemas import GoodsLine, RationRules, utcnow
from schemas.common import TEXT_PATTERN, NspId, Timestamp
from service.auth.roles import OPERATORS, READERS
from service.context import ActorDep, ContextDep, SessionDep
from service.goods import rules as rules_mod
from service.goods.models import GoodsEntry
from service.goods.stock import WARN_DAYS, LedgerState, StockLineOut, ledgers, stock
from service.tasks import api as tasks_api
from service.tasks import sending as task_sending

router = APIRouter(prefix="/api/v1/goods", tags=["scarce goods"])

NspQuery = Annotated[str | None, Query(max_length=63, description="Only this NSP")]
WarnQuery = Annotated[float, Query(gt=0, le=365, description="Warn below this many days of stock")]


class StockOut(BaseModel):
    at: datetime
    warn_days: float
    lines: list[StockLineOut]
    ledgers: list[LedgerState]


class EntryOut(BaseModel):
    nsp_id: str
    entry_no: int
    item: str
    unit: str
    type: str
    quantity: float
    at: datetime
    received_at: datetime
    by: str | None
    households: int | None
    household_size: int | None
    task_id: str | None
    counterpart: str | None
    on_hand_after: float


class NewDelivery(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    nsp_id: NspId
    goods: list[GoodsLine] = Field(min_length=1, max_length=50)
    title: str | None = Field(default=None, min_length=1, max_length=200, pattern=TEXT_PATTERN)
    details: str | None = Field(default=None, max_length=4000, pattern=TEXT_PATTERN)
    due_at: Timestamp | None = None


def stock_view(session: Session, nsp_id: str | None, warn_days: float) -> StockOut:
    conn = session.connection()
    now = utcnow()
    return StockOut(
        at=now,
        warn_days=warn_days,
        lines=stock(conn, now, nsp_id, warn_days),
        ledgers=ledgers(conn, nsp_id),
    )


@router.get(
    "/stock", summary="Stock and hand-out rate per NSP and item", dependencies=[require(*READERS)]
)
def get_stock(
    session: SessionDep, nsp_id: NspQuery = None, warn_days: WarnQuery = WARN_DAYS
) -> StockOut:
    return stock_view(session, nsp_id, warn_days)


@router.get(
    "/warnings",
    summary="Low stock: items with fewer days left than warn_days",
    dependencies=[require(*READERS)],
)
def get_warnings(session: SessionDep, warn_days: WarnQuery = WARN_DAYS) -> list[StockLineOut]:
    return [line for line in stock_view(session, None, warn_days).lines if line.low]


@router.get("/entries", summary="Ledger entries, newest first", dependencies=[require(*READERS)])
def list_entries(
    session: SessionDep,
    nsp_id: NspQuery = None,
    item: Annotated[str | None, Query(max_length=40)] = None,
    limit: Annotated[int, Query(ge=1, le=5000)] = 200,
) -> list[EntryOut]:
    query = select(GoodsEntry).order_by(
        col(GoodsEntry.received_at).desc(), col(GoodsEntry.id).desc()
    )
    if nsp_id:
        query = query.where(GoodsEntry.nsp_id == nsp_id)
    if item:
        query = query.where(GoodsEntry.item == item)
    return [EntryOut(**e.model_dump()) for e in session.exec(query.limit(limit)).all()]


def plan_delivery(session: Session, ctx: Any, new: NewDelivery, actor: str) -> tasks_api.TaskOut:
    title = new.title or "Levering: " + ", ".join(
        f"{g.quantity:g} {g.unit} {g.item}" for g in new.goods
    )
    task = task_sending.create_task(
        session,
        ctx.settings.cp_id,
        task_sending.NewTask(
            title=title[:200],
            details=new.details,
            due_at=new.due_at,
            nsp_ids=[new.nsp_id],
            goods=new.goods,
        ),
        actor,
    )
    session.commit()
    targets = task_sending.targets_of(session, task.task_id)
    task_sending.send(ctx.engine, ctx.settings.cp_id, ctx.bridge, targets)
    session.expire_all()
    return tasks_api.get_task(task.task_id, session)


@router.post(
    "/deliveries",
    status_code=201,
    summary="Plan a delivery: a task with goods the NSP confirms into its ledger",
    responses={422: {"description": "names the field"}},
    dependencies=[require(*OPERATORS)],
)
def create_delivery(
    new: NewDelivery, session: SessionDep, ctx: ContextDep, actor: ActorDep
) -> tasks_api.TaskOut:
    try:
        return plan_delivery(session, ctx, new, actor)
    except task_sending.TaskError as exc:
        raise HTTPException(exc.status_code, detail=exc.message) from None


@router.get("/rules", summary="The ration rules in force", dependencies=[require(*READERS)])
def get_rules(session: SessionDep) -> RationRules:
    return rules_mod.current(session) or RationRules(version=1, rules=[])


@router.put(
    "/rules",
    summary="Set the ration rules (a new version, sent retained to every NSP)",
    responses={422: {"description": "names the field"}},
    dependencies=[require(*OPERATORS)],
)
def put_rules(
    new: rules_mod.NewRules, session: SessionDep, ctx: ContextDep, actor: ActorDep
) -> RationRules:
    rules = rules_mod.set_rules(session, new, actor)
    session.commit()
    rules_mod.publish_rules(ctx.engine, ctx.settings.cp_id, ctx.bridge)
    return rules
