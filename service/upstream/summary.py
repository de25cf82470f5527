"""The CP summary, built from what the CP has stored, one section function per part.

To add a section (incidents and the operator queue once triage exists, bulletin reach from the
downward path): add its field to ``schemas.upstream.SummaryContent`` and a function here that
returns ``{field: value}``, then list it in ``SECTIONS``. Every section reads through the same
connection, so a summary built inside an ingest transaction sees that transaction's messages.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlmodel import Session

from noodcore.db import table_of
from schemas.common import EXERCISE_MARK
from schemas.upstream import (
    BulletinReach,
    BulletinReachItem,
    ExerciseSection,
    HelpRequestStats,
    Liveness,
    MessageTotals,
    NspCounts,
    NspSnapshot,
    OpenItem,
    ResourceNeed,
    SummaryContent,
    TopicCount,
    UrgencyCategoryCount,
)
from service.aid.summary import aid_section
from service.api.nsps import nsp_out
from service.bulletins.reach import reach
from service.bulletins.versions import current_versions
from service.exercise.data import open_ids
from service.facilities.rollup import facility_section
from service.goods.summary import goods_section
from service.models import DeadLetter, Message, Nsp
from service.triage.models import TriageItem, TriageReport
from service.triage.workflow import OPEN_STATES

_msg = table_of(Message)
_nsp = table_of(Nsp)
_dead = table_of(DeadLetter)
_report = table_of(TriageReport)
_item = table_of(TriageItem)

SEVERITY_ORDER = {"low": 0, "moderate": 1, "high": 2, "critical": 3}
MAX_GAPS_IN_SUMMARY = 20
MAX_BULLETINS = 20  # in force at once; more would be a bulletin problem of its own
TOP_TOPICS = 10


@dataclass(frozen=True)
class SummaryConfig:
    cp_id: str
    silent_after: timedelta
    low_power_hours: float
    max_items: int
    information_window: timedelta


@dataclass(frozen=True)
class SummaryInputs:
    conn: Connection
    now: datetime
    config: SummaryConfig
    # None: the real picture (no exercise row counts); an id: that exercise's data only.
    exercise: str | None = None

    @property
    def scope(self) -> Any:
        c = _msg.c.exercise_id
        return c.is_(None) if self.exercise is None else c == self.exercise


Section = Callable[[SummaryInputs], dict[str, Any]]


def is_low_power(status: dict[str, Any] | None, threshold_hours: float) -> bool:
    """Off grid with fewer hours left than the threshold (a closed NSP still counts: its
    generator may be what keeps the building usable tomorrow)."""
    if not status or status.get("power_source") == "grid":
        return False
    hours = status.get("power_hours_left")
    return hours is not None and float(hours) < threshold_hours


def liveness(
    online: bool | None, last_seen: datetime | None, now: datetime, silent: timedelta
) -> str:
    """The rule of ``service.api.nsps.nsp_out``, without building the API model: the ingest
    hook asks it for every NSP in every batch (a test keeps the two in step)."""
    if online is False:
        return "offline"
    if last_seen is None:
        return "unknown"
    return "silent" if now - last_seen > silent else "online"


def open_requests(kind: str, exercise: str | None = None) -> Any:
    """Which stored requests count as open: all of the kind, except those whose triage item
    an operator resolved or closed (a merged duplicate's reports live on in the item it was
    merged into). A request triage has not placed (grouping switched off) stays open: the
    region is better told once too often than not at all."""
    closed = (
        sa.select(_report.c.message_id)
        .join(_item, _item.c.id == _report.c.item_id)
        .where(_report.c.message_id == _msg.c.message_id, _item.c.state.not_in(OPEN_STATES))
    )
    scope = _msg.c.exercise_id.is_(None) if exercise is None else _msg.c.exercise_id == exercise
    return sa.and_(_msg.c.kind == kind, scope, ~closed.exists())


def _category(kind: str) -> Any:
    field = "category" if kind == "help_request" else "resource"
    return _msg.c.body[field].as_string()


# --------------------------------------------------------------------------- sections


def nsp_section(inp: SummaryInputs) -> dict[str, Any]:
    counts = NspCounts()
    snapshots = []
    for row in inp.conn.execute(sa.select(_nsp).order_by(_nsp.c.nsp_id)):
        view = nsp_out(Nsp(**row._mapping), inp.config.silent_after)
        status = view.last_status or {}
        low = is_low_power(view.last_status, inp.config.low_power_hours)
        snap = NspSnapshot(
            nsp_id=view.nsp_id,
            name=view.name,
            address=view.address,
            lat=view.lat,
            lon=view.lon,
            liveness=Liveness(view.liveness),
            last_seen=view.last_seen,
            silent_for_seconds=view.silent_for_seconds,
            state=status.get("state"),
            power_source=status.get("power_source"),
            power_hours_left=status.get("power_hours_left"),
            low_power=low,
            link_quality=status.get("link_quality"),
            staff_present=status.get("staff_present"),
            volunteers_present=status.get("volunteers_present"),
            visitors_last_hour=status.get("visitors_last_hour"),
            last_status_at=view.last_status_at,
            message_count=view.message_count,
            contiguous_seq=view.contiguous_seq,
            missing_count=view.missing_count,
            gaps=[(lo, hi) for lo, hi in view.gaps[-MAX_GAPS_IN_SUMMARY:]],
        )
        snapshots.append(snap)
        counts.total += 1
        state = snap.state.value if snap.state else "no_status"
        setattr(counts, state, getattr(counts, state) + 1)
        setattr(counts, snap.liveness.value, getattr(counts, snap.liveness.value) + 1)
        counts.low_power += low
    return {"nsp_counts": counts, "nsps": snapshots}


def help_request_section(inp: SummaryInputs) -> dict[str, Any]:
    category = _category("help_request")
    rows = inp.conn.execute(
        sa.select(_msg.c.urgency, category.label("category"), sa.func.count())
        .where(open_requests("help_request", inp.exercise))
        .group_by(_msg.c.urgency, category)
    ).all()
    by_urgency: dict[str, int] = {}
    by_category: dict[str, int] = {}
    matrix = []
    for urgency, cat, n in rows:
        by_urgency[urgency] = by_urgency.get(urgency, 0) + n
        by_category[cat] = by_category.get(cat, 0) + n
        matrix.append(UrgencyCategoryCount(urgency=urgency, category=cat, count=n))
    matrix.sort(key=lambda c: (c.urgency, -c.count, c.category))
    stats = HelpRequestStats.model_validate(
        {
            "open_total": sum(by_urgency.values()),
            "by_urgency": dict(sorted(by_urgency.items())),
            "by_category": dict(sorted(by_category.items())),
            "by_urgency_and_category": matrix,
        }
    )
    return {"help_requests": stats}


def open_items_section(inp: SummaryInputs) -> dict[str, Any]:
    """The most urgent, then longest waiting help and resource requests; and the oldest."""
    where = sa.or_(
        open_requests("help_request", inp.exercise),
        open_requests("resource_request", inp.exercise),
    )
    total = inp.conn.execute(sa.select(sa.func.count()).where(where)).scalar_one()
    top = inp.conn.execute(
        sa.select(_msg)
        .where(where)
        .order_by(_msg.c.urgency, _msg.c.received_at, _msg.c.id)
        .limit(inp.config.max_items)
    ).all()
    oldest = inp.conn.execute(
        sa.select(_msg).where(where).order_by(_msg.c.received_at, _msg.c.id).limit(1)
    ).first()
    return {
        "open_items": [open_item(r, inp.now) for r in top],
        "open_items_total": total,
        "oldest_open_item": open_item(oldest, inp.now) if oldest is not None else None,
    }


def resource_section(inp: SummaryInputs) -> dict[str, Any]:
    rows = inp.conn.execute(
        sa.select(_msg)
        .where(open_requests("resource_request", inp.exercise))
        .order_by(_msg.c.urgency, _msg.c.received_at, _msg.c.id)
        .limit(inp.config.max_items)
    ).all()
    needs = []
    for r in rows:
        b = r.body
        needs.append(
            ResourceNeed(
                message_id=r.message_id,
                nsp_id=r.nsp_id,
                resource=b["resource"],
                item=b["item"],
                quantity=b["quantity"],
                unit=b["unit"],
                urgency=r.urgency,
                needed_by=b.get("needed_by"),
                received_at=r.received_at,
                note=(b.get("note") or None) and b["note"][:300],
            )
        )
    return {"resource_needs": needs}


def information_section(inp: SummaryInputs) -> dict[str, Any]:
    """What residents ask and what rumours go round, grouped by normalised text."""
    since = inp.now - inp.config.information_window
    category = _msg.c.body["category"].as_string()
    rows = inp.conn.execute(
        sa.select(_msg.c.nsp_id, _msg.c.received_at, _msg.c.body)
        .where(
            _msg.c.kind == "situation_report",
            category.in_(["information_need", "rumour"]),
            _msg.c.received_at >= since,
            inp.scope,
        )
        .order_by(_msg.c.id.desc())
        .limit(5000)
    ).all()
    groups: dict[tuple[str, str], dict[str, Any]] = {}
    for nsp_id, received_at, body in rows:
        key = (body["category"], _normalise(body["description"]))
        g = groups.setdefault(
            key,
            {
                "text": body["description"][:300],
                "count": 0,
                "nsp_ids": set(),
                "max_severity": body["severity"],
                "last_at": received_at,
            },
        )
        g["count"] += 1
        g["nsp_ids"].add(nsp_id)
        if SEVERITY_ORDER[body["severity"]] > SEVERITY_ORDER[g["max_severity"]]:
            g["max_severity"] = body["severity"]
        g["last_at"] = max(g["last_at"], received_at)

    def top(cat: str) -> list[TopicCount]:
        items = [
            TopicCount(**{**g, "nsp_ids": sorted(g["nsp_ids"])})
            for (c, _), g in groups.items()
            if c == cat
        ]
        items.sort(key=lambda t: (-t.count, -len(t.nsp_ids), -t.last_at.timestamp(), t.text))
        return items[:TOP_TOPICS]

    return {"information_needs": top("information_need"), "rumours": top("rumour")}


def bulletin_reach_section(inp: SummaryInputs) -> dict[str, Any]:
    """Per bulletin in force (not withdrawn, not expired), how many of the NSPs it is for have
    confirmed its current version, and which have not: "has everybody got the water advice?"."""
    with Session(bind=inp.conn) as session:
        in_force = current_versions(session, include_ended=False, now=inp.now)
        # Reach of real public information only: an exercise bulletin is exercise data.
        in_force = [(r, v) for r, v in in_force if r.exercise_id is None]
        items = []
        for _, version in in_force[:MAX_BULLETINS]:
            r = reach(
                session,
                version,
                inp.now,
                stale_after=timedelta(hours=1),  # not reported here; reach needs one
                silent_after=inp.config.silent_after,
                with_versions=False,
            )
            items.append(
                BulletinReachItem(
                    bulletin_id=r.bulletin_id,
                    version=r.current_version,
                    targeted=r.summary.targeted,
                    confirmed=r.summary.current,
                    missing_nsp_ids=sorted(n.nsp_id for n in r.nsps if n.state != "current"),
                )
            )
    return {"bulletin_reach": BulletinReach(bulletins=items)}


def message_totals_section(inp: SummaryInputs) -> dict[str, Any]:
    by_kind: dict[str, int] = {
        kind: n
        for kind, n in inp.conn.execute(
            sa.select(_msg.c.kind, sa.func.count())
            .where(inp.scope)
            .group_by(_msg.c.kind)
            .order_by(_msg.c.kind)
        )
    }
    dead = inp.conn.execute(
        sa.select(sa.func.count()).select_from(_dead).where(_dead.c.exercise_id.is_(None))
    ).scalar_one()
    return {"messages": MessageTotals(by_kind=by_kind, dead_letters=dead)}


def exercise_section(inp: SummaryInputs) -> dict[str, Any]:
    """Each open exercise apart, marked OEFENING: the rest of the summary is real data only."""
    sections = []
    for exercise_id, name in open_ids(inp.conn):
        sub = SummaryInputs(inp.conn, inp.now, inp.config, exercise_id)
        items = open_items_section(sub)
        sections.append(
            ExerciseSection(
                exercise_id=exercise_id,
                name=name[:200],
                help_requests=help_request_section(sub)["help_requests"],
                open_items=items["open_items"],
                open_items_total=items["open_items_total"],
                resource_needs=resource_section(sub)["resource_needs"],
            )
        )
    return {"exercises": sections}


SECTIONS: list[Section] = [
    nsp_section,
    help_request_section,
    open_items_section,
    resource_section,
    information_section,
    bulletin_reach_section,
    message_totals_section,
    exercise_section,
    facility_section,
    goods_section,
    aid_section,
]


def build_content(conn: Connection, config: SummaryConfig, now: datetime) -> SummaryContent:
    inputs = SummaryInputs(conn, now, config)
    fields: dict[str, Any] = {}
    for section in SECTIONS:
        fields.update(section(inputs))
    return SummaryContent(**fields)


# --------------------------------------------------------------------------- helpers


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


def open_item(row: Any, now: datetime) -> OpenItem:
    body = row.body
    waiting = max(0.0, (now - row.received_at).total_seconds())
    if row.kind == "help_request":
        category = body["category"]
        text = body["description"]
        parts = [f"{row.urgency} {category.replace('_', ' ')}"]
        if body.get("vulnerable_people"):
            parts.append(f"{body['vulnerable_people']} vulnerable")
        if body.get("people_involved", 1) > 1:
            parts.append(f"{body['people_involved']} people")
    else:
        category = body["resource"]
        text = f"{body['quantity']:g} {body['unit']} {body['item']}"
        parts = [f"{row.urgency} {category} needed"]
        if body.get("needed_by"):
            parts.append(f"needed by {body['needed_by']}")
    parts.append(f"waiting {int(waiting // 60)} min")
    exercise = getattr(row, "exercise_id", None)
    if exercise:
        text = f"{EXERCISE_MARK} — {text}"
        parts.insert(0, EXERCISE_MARK)
    return OpenItem(
        message_id=row.message_id,
        nsp_id=row.nsp_id,
        kind=row.kind,
        urgency=row.urgency,
        category=category,
        text=text[:300],
        location=body.get("location"),
        people_involved=body.get("people_involved"),
        vulnerable_people=body.get("vulnerable_people"),
        received_at=row.received_at,
        waiting_seconds=waiting,
        reason="; ".join(parts)[:300],
        exercise=exercise,
    )
