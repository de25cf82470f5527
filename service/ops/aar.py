"""After-action report: per incident and per NSP, what happened when, for the evaluation after
the crisis.

Invariant: the report is read from the records the CP keeps anyway and never writes: the
reports an item grouped (``triage_report``: received, grouped), its audit trail
(``triage_audit``: every state with who and the note, merges and splits), the states sent back
down to the NSPs (``triage_downlink``), and what went up to the region (``upstream_outbox``:
forwarded, acknowledged by the region = its 2xx, or given up). Nothing needs to be recorded
"for the report", so the report is complete for any period the database covers, also for one
restored from a backup.

The times that matter are computed per item from those records: time to first
acknowledgement (first state change away from ``new``) and to dispatch (first ``dispatched``),
both from the first report received, and summarised per P-level (count, median, max).

Exports: ``/api/v1/aar/timeline.csv`` (one row per event), ``/api/v1/aar`` (JSON: items, times,
per-P-level), ``/aar`` (a printable page, Dutch or English by the page language rule; the
browser prints it to PDF). All times in UTC, said so on every surface.
"""

from __future__ import annotations

import csv
import io
import json
import statistics
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import BaseModel, Field

from noodcore.db import table_of
from noodcore.httpguard import MAX_ID, Identity, Timestamp, public, require, require_page
from noodcore.pagelang import remember_lang, with_lang
from schemas.common import EXERCISE_MARK
from service.auth.roles import READERS
from service.models import Message
from service.triage.models import StateAckOutbox, TriageAudit, TriageItem, TriageReport
from service.upstream.models import UpstreamOutbox
from service.web.render import CSP, page_language

router = APIRouter(tags=["after-action"])

HERE = Path(__file__).parent
_env = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

ITEMS = table_of(TriageItem)
REPORTS = table_of(TriageReport)
AUDIT = table_of(TriageAudit)
DOWN = table_of(StateAckOutbox)
UP = table_of(UpstreamOutbox)
MESSAGES = table_of(Message)

P_LEVELS = ("P1", "P2", "P3", "P4")
CSV_COLUMNS = (
    "at_utc",
    "item_id",
    "p_level",
    "nsp_id",
    "message_id",
    "event",
    "state",
    "actor",
    "note",
    "detail",
)


def _utc(t: Any) -> datetime | None:
    if t is None:
        return None
    if isinstance(t, str):
        t = datetime.fromisoformat(t)
    assert isinstance(t, datetime)
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Event:
    at: datetime
    item_id: int | None
    p_level: str | None
    nsp_id: str | None
    message_id: str | None
    event: str  # received | grouped | created | state | merge | split | ... | sent_to_nsp
    #             | forwarded | region_acknowledged | forwarding_gave_up
    state: str | None = None
    actor: str | None = None
    note: str | None = None
    detail: str | None = None

    def row(self) -> list[str]:
        return [
            self.at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
            "" if self.item_id is None else str(self.item_id),
            self.p_level or "",
            self.nsp_id or "",
            self.message_id or "",
            self.event,
            self.state or "",
            self.actor or "",
            self.note or "",
            self.detail or "",
        ]


@dataclass
class ItemTimes:
    item_id: int
    p_level: str
    item_type: str
    category: str
    description: str
    address: str | None
    state: str
    nsp_ids: list[str]
    report_count: int
    first_seen: datetime
    first_acknowledged: datetime | None = None
    first_acknowledged_by: str | None = None
    dispatched: datetime | None = None
    closed: datetime | None = None
    forwarded: datetime | None = None
    region_acknowledged: datetime | None = None
    exercise_id: str | None = None  # an exercise's item: marked OEFENING, not in the stats
    events: list[Event] = field(default_factory=list)

    def seconds(self, t: datetime | None) -> float | None:
        return None if t is None else max(0.0, (t - self.first_seen).total_seconds())

    @property
    def to_ack(self) -> float | None:
        return self.seconds(self.first_acknowledged)

    @property
    def to_dispatch(self) -> float | None:
        return self.seconds(self.dispatched)


class LevelStats(BaseModel):
    p_level: str
    items: int
    acknowledged: int
    median_to_ack_seconds: float | None
    max_to_ack_seconds: float | None
    dispatched: int
    median_to_dispatch_seconds: float | None
    max_to_dispatch_seconds: float | None


class ItemOut(BaseModel):
    item_id: int
    p_level: str
    item_type: str
    category: str
    state: str
    nsp_ids: list[str]
    report_count: int
    first_seen: datetime
    first_acknowledged: datetime | None
    to_ack_seconds: float | None
    dispatched: datetime | None
    to_dispatch_seconds: float | None
    closed: datetime | None
    forwarded: datetime | None
    region_acknowledged: datetime | None
    exercise_id: str | None = Field(default=None, description="Exercise item; null = real.")
    exercise_mark: str | None = Field(default=None, description="OEFENING OEFENING OEFENING")


class AfterAction(BaseModel):
    cp_id: str
    generated_at: datetime
    since: datetime | None
    until: datetime | None
    nsp_id: str | None
    levels: list[LevelStats]
    items: list[ItemOut]


@dataclass
class Report:
    items: list[ItemTimes]
    other: list[Event]  # an NSP's messages outside triage (per-NSP view only)

    def events(self) -> list[Event]:
        out = [e for it in self.items for e in it.events] + self.other
        return sorted(out, key=lambda e: (e.at, e.item_id or 0, e.event))

    def levels(self) -> list[LevelStats]:
        out = []
        for level in P_LEVELS:
            # The times that matter are the real ones: exercise items are listed, marked,
            # but never counted in the statistics of the crisis.
            mine = [i for i in self.items if i.p_level == level and i.exercise_id is None]
            acks = [s for i in mine if (s := i.to_ack) is not None]
            disp = [s for i in mine if (s := i.to_dispatch) is not None]
            out.append(
                LevelStats(
                    p_level=level,
                    items=len(mine),
                    acknowledged=len(acks),
                    median_to_ack_seconds=statistics.median(acks) if acks else None,
                    max_to_ack_seconds=max(acks) if acks else None,
                    dispatched=len(disp),
                    median_to_dispatch_seconds=statistics.median(disp) if disp else None,
                    max_to_dispatch_seconds=max(disp) if disp else None,
                )
            )
        return out


def _payload_state(payload: str) -> str | None:
    try:
        body = json.loads(payload).get("body", {})
    except (ValueError, AttributeError):
        return None
    state = body.get("state") if isinstance(body, dict) else None
    return str(state) if state else None


def build(
    conn: sa.Connection,
    *,
    item_id: int | None = None,
    nsp_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> Report:
    """Read the timeline: items first seen in [since, until), optionally one item or those an
    NSP reported. Items merged into another are shown inside the one they joined."""
    q = sa.select(ITEMS).where(ITEMS.c.merged_into.is_(None))
    if item_id is not None:
        q = q.where(ITEMS.c.id == item_id)
    if since is not None:
        q = q.where(ITEMS.c.first_seen >= since)
    if until is not None:
        q = q.where(ITEMS.c.first_seen < until)
    items = {r.id: r for r in conn.execute(q.order_by(ITEMS.c.first_seen, ITEMS.c.id)).all()}
    # Items merged into one of these: their audit belongs to the survivor's story.
    absorbed: dict[int, int] = {}
    if items:
        for r in conn.execute(
            sa.select(ITEMS.c.id, ITEMS.c.merged_into).where(ITEMS.c.merged_into.in_(list(items)))
        ).all():
            absorbed[r.id] = r.merged_into
    owner = {**{i: i for i in items}, **absorbed}
    ids = list(owner)

    reports = (
        conn.execute(
            sa.select(REPORTS).where(REPORTS.c.item_id.in_(ids)).order_by(REPORTS.c.received_at)
        ).all()
        if ids
        else []
    )
    if nsp_id is not None:
        keep = {owner[r.item_id] for r in reports if r.nsp_id == nsp_id}
        items = {i: r for i, r in items.items() if i in keep}
        owner = {k: v for k, v in owner.items() if v in keep}
        ids = list(owner)
        reports = [r for r in reports if r.item_id in owner]

    out: dict[int, ItemTimes] = {}
    for i, r in items.items():
        out[i] = ItemTimes(
            item_id=i,
            p_level=r.top_class,
            item_type=r.item_type,
            category=r.category,
            description=r.description,
            address=r.address,
            state=r.state,
            nsp_ids=list(r.nsp_ids or []),
            report_count=r.report_count,
            first_seen=_utc(r.first_seen) or datetime.now(UTC),
            exercise_id=r.exercise_id,
        )

    def add(item: int, e: Event) -> None:
        out[owner[item]].events.append(e)

    message_item: dict[str, int] = {}
    for r in reports:
        it = out[owner[r.item_id]]
        message_item[r.message_id] = r.item_id
        at = _utc(r.received_at)
        assert at is not None
        add(
            r.item_id,
            Event(at, it.item_id, r.cls, r.nsp_id, r.message_id, "received", None, r.nsp_id,
                  None, f"{r.kind} {r.category}: {r.description[:120]}"),
        )  # fmt: skip
        if r.joined_by in ("match", "merge"):
            score = f" (score {r.match_score:.2f})" if r.match_score is not None else ""
            add(
                r.item_id,
                Event(at, it.item_id, r.cls, r.nsp_id, r.message_id, "grouped", None, None,
                      None, f"joined item {it.item_id} by {r.joined_by}{score}"),
            )  # fmt: skip

    if ids:
        for a in conn.execute(
            sa.select(AUDIT).where(AUDIT.c.item_id.in_(ids)).order_by(AUDIT.c.at, AUDIT.c.id)
        ).all():
            it = out[owner[a.item_id]]
            at = _utc(a.at)
            assert at is not None
            details = a.details or {}
            detail = ", ".join(f"{k}={v}" for k, v in sorted(details.items()) if v is not None)
            if a.item_id != it.item_id:
                detail = f"on item {a.item_id} (merged into {it.item_id}); {detail}".rstrip("; ")
            add(
                a.item_id,
                Event(at, it.item_id, it.p_level, None, details.get("message_id"), a.action,
                      a.to_state, a.actor, a.note, detail or None),
            )  # fmt: skip
            moved = a.to_state not in (None, "new") and a.from_state != a.to_state
            if a.action == "state" and moved and it.first_acknowledged is None:
                it.first_acknowledged, it.first_acknowledged_by = at, a.actor
            if a.to_state == "dispatched" and it.dispatched is None:
                it.dispatched = at
            closing = ("resolved", "closed_duplicate", "closed_not_needed")
            if a.action == "state" and a.to_state in closing and it.closed is None:
                it.closed = at

        for d in conn.execute(
            sa.select(DOWN).where(DOWN.c.item_id.in_(ids)).order_by(DOWN.c.created_at)
        ).all():
            it = out[owner[d.item_id]]
            at = _utc(d.published_at)
            if at is None:
                continue  # still waiting for the broker: not sent yet
            add(
                d.item_id,
                Event(at, it.item_id, it.p_level, d.nsp_id, None, "sent_to_nsp",
                      _payload_state(d.payload), None, None, d.topic),
            )  # fmt: skip

    if message_item:
        for u in conn.execute(
            sa.select(UP)
            .where((UP.c.kind == "p1_item") & UP.c.ref.in_(list(message_item)))
            .order_by(UP.c.created_at)
        ).all():
            item = message_item[u.ref]
            it = out[owner[item]]
            created = _utc(u.created_at)
            assert created is not None
            add(item, Event(created, it.item_id, "P1", None, u.ref, "forwarded", None, None,
                            None, u.target))  # fmt: skip
            it.forwarded = min(filter(None, (it.forwarded, created)))
            delivered = _utc(u.delivered_at)
            if delivered is not None:
                add(item, Event(delivered, it.item_id, "P1", None, u.ref, "region_acknowledged",
                                None, u.target, None, f"HTTP {u.last_status_code}"))  # fmt: skip
                it.region_acknowledged = min(filter(None, (it.region_acknowledged, delivered)))
            dead = _utc(u.dead_at)
            if dead is not None:
                add(item, Event(dead, it.item_id, "P1", None, u.ref, "forwarding_gave_up", None,
                                None, None, u.last_error))  # fmt: skip

    other: list[Event] = []
    if nsp_id is not None and item_id is None:
        q2 = sa.select(MESSAGES).where(
            (MESSAGES.c.nsp_id == nsp_id) & (MESSAGES.c.kind != "status")
        )
        if since is not None:
            q2 = q2.where(MESSAGES.c.received_at >= since)
        if until is not None:
            q2 = q2.where(MESSAGES.c.received_at < until)
        for m in conn.execute(q2.order_by(MESSAGES.c.received_at)).all():
            if m.message_id in message_item:
                continue
            at = _utc(m.received_at)
            assert at is not None
            other.append(
                Event(at, None, m.urgency, m.nsp_id, m.message_id, "received", None, m.nsp_id,
                      None, f"{m.kind} (seq {m.seq})"),
            )  # fmt: skip
    for it in out.values():
        it.events.sort(key=lambda e: (e.at, e.event))
    return Report(list(out.values()), other)


def to_csv(events: Iterable[Event]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(CSV_COLUMNS)
    for e in events:
        w.writerow(e.row())
    return buf.getvalue()


# ------------------------------------------------------------------------------ HTTP

Since = Annotated[Timestamp | None, Query(description="Items first seen at or after (ISO 8601).")]
Until = Annotated[Timestamp | None, Query(description="Items first seen before (ISO 8601).")]
ItemId = Annotated[int | None, Query(ge=1, le=MAX_ID, description="One incident (triage item).")]
NspId = Annotated[
    str | None,
    Query(max_length=63, pattern=r"^[a-z0-9][a-z0-9-]*$", description="One NSP's timeline."),
]


def _aware(t: datetime | None, name: str) -> datetime | None:
    if t is not None and t.tzinfo is None:
        raise HTTPException(422, f"{name}: give a time zone (e.g. 2026-12-02T06:00:00Z)")
    return t


def _report(
    request: Request,
    item_id: int | None,
    nsp_id: str | None,
    since: datetime | None,
    until: datetime | None,
) -> Report:
    since, until = _aware(since, "since"), _aware(until, "until")
    engine = request.app.state.ctx.engine
    with engine.connect() as conn:
        report = build(conn, item_id=item_id, nsp_id=nsp_id, since=since, until=until)
    if item_id is not None and not report.items:
        raise HTTPException(404, f"no item {item_id} (or it was merged into another)")
    return report


# With item_id: an item that does not exist (or was merged into another) is a 404.
NO_ITEM: dict[int | str, dict[str, Any]] = {
    404: {"description": "No such item (or it was merged into another)"}
}


@router.get(
    "/api/v1/aar",
    dependencies=[require(*READERS)],
    responses=NO_ITEM,
    summary="After-action report: items with their times and the times per P-level",
)
def after_action(
    request: Request,
    item_id: ItemId = None,
    nsp_id: NspId = None,
    since: Since = None,
    until: Until = None,
) -> AfterAction:
    report = _report(request, item_id, nsp_id, since, until)
    return AfterAction(
        cp_id=request.app.state.ctx.settings.cp_id,
        generated_at=datetime.now(UTC),
        since=since,
        until=until,
        nsp_id=nsp_id,
        levels=report.levels(),
        items=[
            ItemOut(
                **{k: v for k, v in asdict(i).items() if k in ItemOut.model_fields},
                to_ack_seconds=i.to_ack,
                to_dispatch_seconds=i.to_dispatch,
                exercise_mark=EXERCISE_MARK if i.exercise_id else None,
            )
            for i in report.items
        ],
    )


@router.get(
    "/api/v1/aar/timeline.csv",
    dependencies=[require(*READERS)],
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}}, "description": "One row per event (UTC)."},
        **NO_ITEM,
    },
    summary="After-action timeline as CSV: received, grouped, each state, forwarded, acks",
)
def timeline_csv(
    request: Request,
    item_id: ItemId = None,
    nsp_id: NspId = None,
    since: Since = None,
    until: Until = None,
) -> Response:
    report = _report(request, item_id, nsp_id, since, until)
    cp_id = request.app.state.ctx.settings.cp_id
    name = (
        f"aar-{cp_id}" + (f"-item{item_id}" if item_id else "") + (f"-{nsp_id}" if nsp_id else "")
    )
    return Response(
        to_csv(report.events()),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


# ------------------------------------------------------------------------------ page

TEXTS: dict[str, dict[str, str]] = {
    "nl": {
        "title": "Evaluatierapport",
        "intro": "Tijdlijn per incident: ontvangen, gegroepeerd, elke status met wie en de "
        "notitie, teruggemeld aan het NSP, doorgestuurd en ontvangen door de regio. Alle "
        "tijden in UTC.",
        "generated": "Gemaakt op {at} door {who}",
        "filter_nsp": "Alleen NSP {nsp}",
        "levels": "Tijden per urgentie",
        "level": "Urgentie",
        "items": "Items",
        "acked": "Bevestigd",
        "to_ack": "Tot eerste bevestiging (mediaan / max)",
        "dispatched": "Uitgegeven",
        "to_dispatch": "Tot uitgifte (mediaan / max)",
        "item": "Item {id}",
        "reports": "{n} meldingen van {nsps}",
        "state": "Status",
        "first_seen": "Eerste melding",
        "first_ack": "Eerste bevestiging",
        "by": "door {who}",
        "none": "—",
        "at": "Tijd (UTC)",
        "event": "Gebeurtenis",
        "who": "Wie",
        "note": "Notitie",
        "detail": "Details",
        "csv": "Download als CSV",
        "print": "Afdrukken of bewaren als PDF: gebruik Afdrukken in de browser.",
        "other": "Overige berichten van dit NSP",
        "empty": "Geen items in deze periode.",
        "other_lang": "English",
        "ev_received": "ontvangen",
        "ev_grouped": "gegroepeerd",
        "ev_created": "item aangemaakt",
        "ev_state": "status gewijzigd",
        "ev_merge": "samengevoegd",
        "ev_split": "gesplitst",
        "ev_split_out": "afgesplitst",
        "ev_keep_separate": "apart gehouden",
        "ev_sent_to_nsp": "teruggemeld aan NSP",
        "ev_forwarded": "doorgestuurd naar regio",
        "ev_region_acknowledged": "ontvangen door regio",
        "ev_forwarding_gave_up": "doorsturen opgegeven",
        "ev_merged_into": "opgegaan in ander item",
    },
    "en": {
        "title": "After-action report",
        "intro": "Timeline per incident: received, grouped, each state with who and the note, "
        "sent back to the NSP, forwarded and received by the region. All times in UTC.",
        "generated": "Generated at {at} by {who}",
        "filter_nsp": "Only NSP {nsp}",
        "levels": "Times per urgency",
        "level": "Urgency",
        "items": "Items",
        "acked": "Acknowledged",
        "to_ack": "To first acknowledgement (median / max)",
        "dispatched": "Dispatched",
        "to_dispatch": "To dispatch (median / max)",
        "item": "Item {id}",
        "reports": "{n} reports from {nsps}",
        "state": "State",
        "first_seen": "First report",
        "first_ack": "First acknowledgement",
        "by": "by {who}",
        "none": "—",
        "at": "Time (UTC)",
        "event": "Event",
        "who": "Who",
        "note": "Note",
        "detail": "Details",
        "csv": "Download as CSV",
        "print": "Print or save as PDF: use the browser's Print.",
        "other": "Other messages of this NSP",
        "empty": "No items in this period.",
        "other_lang": "Nederlands",
        "ev_received": "received",
        "ev_grouped": "grouped",
        "ev_created": "item created",
        "ev_state": "state changed",
        "ev_merge": "merged",
        "ev_split": "split",
        "ev_split_out": "split out",
        "ev_keep_separate": "kept separate",
        "ev_sent_to_nsp": "sent back to NSP",
        "ev_forwarded": "forwarded to region",
        "ev_region_acknowledged": "received by region",
        "ev_forwarding_gave_up": "forwarding gave up",
        "ev_merged_into": "merged into another item",
    },
}


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def _clock(t: datetime | None) -> str:
    return "—" if t is None else t.astimezone(UTC).strftime("%d-%m-%Y %H:%M:%S")


@router.get(
    "/aar",
    response_class=HTMLResponse,
    responses=NO_ITEM,
    summary="After-action report as a printable page (HTML; sign-in page when needed)",
)
def aar_page(
    request: Request,
    identity: Annotated[Identity | None, require_page(*READERS)],
    item_id: ItemId = None,
    nsp_id: NspId = None,
    since: Since = None,
    until: Until = None,
) -> HTMLResponse:
    assert identity is not None
    report = _report(request, item_id, nsp_id, since, until)
    lang: Literal["nl", "en"] = page_language(request)
    texts = TEXTS[lang]

    def t(key: str, **kw: Any) -> str:
        # An event the texts do not know yet (a new audit action) shows by its own name.
        fallback = key.removeprefix("ev_").replace("_", " ")
        return texts.get(key, TEXTS["nl"].get(key, fallback)).format(**kw)

    query = request.url.query
    html = _env.get_template("aar.html").render(
        t=t,
        lang=lang,
        other_lang="en" if lang == "nl" else "nl",
        lang_url=lambda code: with_lang(request, code),
        cp_id=request.app.state.ctx.settings.cp_id,
        who=identity.name,
        generated=_clock(datetime.now(UTC)),
        nsp_id=nsp_id,
        levels=report.levels(),
        items=report.items,
        other=report.other,
        duration=_duration,
        clock=_clock,
        csv_url="/api/v1/aar/timeline.csv" + (f"?{query}" if query else ""),
    )
    response = HTMLResponse(html)
    remember_lang(request, response, lang)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = CSP
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "same-origin"
    return response


@router.get("/aar/static/aar.css", include_in_schema=False, dependencies=[public()])
def aar_css() -> FileResponse:
    # Open like the console's assets: styles, no data.
    return FileResponse(
        HERE / "static" / "aar.css",
        media_type="text/css; charset=utf-8",
        headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"},
    )
