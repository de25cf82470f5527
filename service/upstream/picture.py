"""The picture a dashboard shows: per CP its summary content, plus the open P1 items.

A CP builds it live from its own tables; a region from the newest summary of each CP and the
P1 items they sent (``service/region/picture.py``). Both have this one shape, so the same
dashboard page and GeoJSON exports serve either role.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from pydantic import BaseModel, Field
from sqlalchemy.engine import Engine

from noodcore.db import table_of
from schemas import utcnow
from schemas.common import EXERCISE_MARK
from schemas.upstream import NspCounts, SummaryContent
from service.exercise.data import open_ids
from service.exercise.marks import mark_text
from service.models import Message, Nsp
from service.triage.models import TriageItem, TriageReport
from service.triage.workflow import OPEN_STATES
from service.upstream.models import UpstreamSummary
from service.upstream.summary import SummaryConfig, build_content, open_requests

_msg = table_of(Message)
_nsp = table_of(Nsp)
_summaries = table_of(UpstreamSummary)
_item = table_of(TriageItem)
_report = table_of(TriageReport)

MAX_P1_ITEMS = 500
DONE_SHOWN_FOR = timedelta(minutes=15)


class CpPicture(BaseModel):
    cp_id: str
    source: Literal["live", "summary"]
    summary_seq: int | None
    produced_at: datetime
    received_at: datetime | None = None
    age_seconds: float
    content: SummaryContent


class P1Item(BaseModel):
    cp_id: str
    message_id: str
    nsp_id: str
    nsp_name: str | None
    kind: str
    category: str
    text: str
    location: dict[str, Any] | None
    people_involved: int | None = None
    vulnerable_people: int | None = None
    received_at: datetime
    waiting_seconds: float
    exercise: str | None = Field(default=None, description="Made in this exercise; null: real.")
    mark: str | None = Field(default=None, description="OEFENING OEFENING OEFENING, or null.")
    # Where the CP's operators are with it (None where triage has not placed it, and at a
    # region, which hears of state changes only through summaries).
    item_id: int | None = None
    state: str | None = Field(
        default=None, description="new | acknowledged | dispatched | in_progress | resolved | …"
    )
    state_since: datetime | None = None


class Picture(BaseModel):
    role: str
    node_id: str
    generated_at: datetime
    cps: list[CpPicture]
    nsp_counts: NspCounts
    help_by_urgency: dict[str, int]
    open_items_total: int
    p1_items: list[P1Item] = Field(description="Real P1s first, then exercise ones (marked).")
    p1_done: list[P1Item] = Field(
        default_factory=list,
        description="P1 items resolved or closed in the last minutes, so the crisis room "
        "sees them go (not counted as open).",
    )


def p1_from_message(
    cp_id: str, message: dict[str, Any], nsp_name: str | None, received_at: datetime, now: datetime
) -> P1Item:
    """A P1 item from an upward message (a stored row, or the copy inside a P1 item)."""
    body = message["body"]
    help_request = message["kind"] == "help_request"
    exercise = message.get("exercise") or message.get("exercise_id")
    text = (
        body["description"]
        if help_request
        else f"{body['quantity']:g} {body['unit']} {body['item']}"
    )
    return P1Item(
        cp_id=cp_id,
        message_id=message["message_id"],
        nsp_id=message["nsp_id"],
        nsp_name=nsp_name,
        kind=message["kind"],
        category=body["category"] if help_request else body["resource"],
        text=mark_text(text, exercise),
        location=body.get("location"),
        people_involved=body.get("people_involved"),
        vulnerable_people=body.get("vulnerable_people"),
        received_at=received_at,
        waiting_seconds=max(0.0, (now - received_at).total_seconds()),
        exercise=exercise,
        mark=EXERCISE_MARK if exercise else None,
    )


def assemble(
    role: str,
    node_id: str,
    cps: list[CpPicture],
    p1: list[P1Item],
    now: datetime,
    p1_done: list[P1Item] | None = None,
) -> Picture:
    counts = NspCounts()
    by_urgency: dict[str, int] = {}
    for cp in cps:
        for field, value in cp.content.nsp_counts:
            setattr(counts, field, getattr(counts, field) + value)
        for urgency, n in cp.content.help_requests.by_urgency.items():
            by_urgency[urgency.value] = by_urgency.get(urgency.value, 0) + n
    return Picture(
        role=role,
        node_id=node_id,
        generated_at=now,
        cps=cps,
        nsp_counts=counts,
        help_by_urgency=dict(sorted(by_urgency.items())),
        open_items_total=sum(cp.content.open_items_total for cp in cps),
        p1_items=p1,
        p1_done=p1_done or [],
    )


def cp_picture(engine: Engine, config: SummaryConfig) -> Picture:
    now = utcnow()
    with engine.connect() as conn:
        content = build_content(conn, config, now)
        seq = conn.execute(
            sa.select(sa.func.max(_summaries.c.seq)).where(_summaries.c.cp_id == config.cp_id)
        ).scalar_one_or_none()
        names: dict[str, str | None] = {
            nsp_id: name for nsp_id, name in conn.execute(sa.select(_nsp.c.nsp_id, _nsp.c.name))
        }
        # Real P1s first, then those of open exercises (marked): a real one always on top.
        rows: list[Any] = []
        for exercise in [None, *(e for e, _ in open_ids(conn))]:
            where = sa.and_(
                _msg.c.urgency == "P1",
                sa.or_(
                    open_requests("help_request", exercise),
                    open_requests("resource_request", exercise),
                ),
            )
            rows += conn.execute(
                sa.select(_msg).where(where).order_by(_msg.c.id.desc()).limit(MAX_P1_ITEMS)
            ).all()
        done = conn.execute(
            sa.select(_msg)
            .join(_report, _report.c.message_id == _msg.c.message_id)
            .join(_item, _item.c.id == _report.c.item_id)
            .where(
                _msg.c.urgency == "P1",
                _item.c.state.not_in(OPEN_STATES),
                _item.c.state_changed_at >= now - DONE_SHOWN_FOR,
            )
            .order_by(_msg.c.id.desc())
            .limit(MAX_P1_ITEMS)
        ).all()
        ids = [r.message_id for r in [*rows, *done]]
        states = {
            r.message_id: r
            for r in conn.execute(
                sa.select(_report.c.message_id, _item.c.id, _item.c.state, _item.c.state_changed_at)
                .join(_item, _item.c.id == _report.c.item_id)
                .where(_report.c.message_id.in_(ids))
            )
        }

    def item(r: Any) -> P1Item:
        p = p1_from_message(config.cp_id, dict(r._mapping), names.get(r.nsp_id), r.received_at, now)
        s = states.get(r.message_id)
        if s is not None:
            p.item_id, p.state, p.state_since = s.id, s.state, s.state_changed_at
        return p

    p1 = [item(r) for r in rows]
    p1_done = [item(r) for r in done]
    cps = [
        CpPicture(
            cp_id=config.cp_id,
            source="live",
            summary_seq=seq,
            produced_at=now,
            age_seconds=0,
            content=content,
        )
    ]
    return assemble("cp", config.cp_id, cps, p1, now, p1_done)
