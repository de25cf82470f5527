"""The staff screens: the four report forms, everything sent with its state, and tasks.

Forms post back to the gateway (server-side validation, messages in Dutch or English) and
the report lands in the durable outbox before the page answers; the list of sent reports
then shows it going from 'waiting for connection' to 'received by CP at 14:02' and later
states the CP sends.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from gateway import relay
from gateway.auth import STAFF
from gateway.inbox import StoredTask, TaskNotFoundError, TaskStateError
from gateway.models import OutboxRow
from gateway.outbox import AckEvent, OutboxEntry
from gateway.runtime import GatewayRuntime
from gateway.web import forms
from gateway.web.i18n import Translator, UiLang
from gateway.web.render import Clock, page_language, render
from gateway.web.status import STARTED_AT, link_view
from noodcore.httpguard import require_page
from schemas import HandlingState, utcnow
from schemas.bodies import Receipt
from schemas.common import ID_PATTERN

router = APIRouter(include_in_schema=False)

MAX_FORM_BYTES = 64 * 1024
# What staff sent themselves; receipts and task confirmations are the gateway's own.
LISTED_KINDS = ("help_request", "situation_report", "resource_request", "status", "facility_report")


def _runtime(request: Request) -> GatewayRuntime:
    runtime: GatewayRuntime = request.app.state.runtime
    return runtime


Runtime = Annotated[GatewayRuntime, Depends(_runtime)]


def _same_origin(request: Request) -> bool:
    """A form post must come from a page of this gateway, not from some other site the
    tablet's browser has open (cross-site request forgery)."""
    host = request.headers.get("host", "")
    for header in ("origin", "referer"):
        value = request.headers.get(header)
        if value:
            return urlsplit(value).netloc == host
    return True


async def _form(request: Request) -> dict[str, list[str]]:
    # Said in the page's language: a volunteer may see these (an old tab, a kiosk browser).
    t = Translator(page_language(request, request.app.state.runtime))
    if not _same_origin(request):
        raise HTTPException(403, t("err_form_origin"))
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        raise HTTPException(413, t("err_form_too_large"))
    ctype = request.headers.get("content-type", "").split(";")[0].strip()
    if raw and ctype != "application/x-www-form-urlencoded":
        raise HTTPException(415, t("err_form_type"))
    return parse_qs(raw.decode("utf-8", errors="replace"), keep_blank_values=True)


# ------------------------------------------------------------------------------ home


@router.get("/staff", response_class=HTMLResponse, dependencies=[require_page(*STAFF)])
async def staff_home(request: Request, rt: Runtime) -> HTMLResponse:
    lang = page_language(request, rt)
    tasks = await run_in_threadpool(rt.inbox.tasks)
    open_tasks = [s for s in tasks if not s.done and not s.task.cancelled]
    link = await run_in_threadpool(link_view, rt)
    return render(
        request,
        rt,
        "staff_home.html",
        lang,
        utcnow(),
        link=link,
        open_tasks=open_tasks,
        forms=list(forms.FORMS.values()),
    )


@router.post("/staff/exercise", response_class=HTMLResponse, dependencies=[require_page(*STAFF)])
async def exercise_mode(request: Request, rt: Runtime) -> Response:
    """Start or stop the staff screen's exercise (oefening) mode."""
    data = await _form(request)
    action = (data.get("action") or [""])[0]
    if action == "stop":
        await run_in_threadpool(rt.outbox.set_exercise_mode, None)
    elif action == "start":
        exercise_id = (data.get("exercise_id") or [""])[0].strip()
        name = (data.get("name") or [""])[0].strip()[:200] or None
        if not re.match(ID_PATTERN, exercise_id):
            raise HTTPException(
                422, "exercise_id: lowercase letters, digits, '-' and '_' (e.g. oef-2026-12)"
            )
        await run_in_threadpool(rt.outbox.set_exercise_mode, exercise_id, name)
    else:
        raise HTTPException(422, "action must be start or stop")
    return RedirectResponse("/staff", status_code=303)


# ------------------------------------------------------------------------------ forms


def _spec(slug: str) -> forms.FormSpec:
    spec = forms.FORMS.get(slug)
    if spec is None:
        raise HTTPException(404, f"no form {slug!r}")
    return spec


@router.get("/staff/new/{slug}", response_class=HTMLResponse, dependencies=[require_page(*STAFF)])
async def form_page(slug: str, request: Request, rt: Runtime) -> HTMLResponse:
    spec = _spec(slug)
    lang = page_language(request, rt)
    previous = await run_in_threadpool(rt.outbox.latest_status) if spec.kind == "status" else None
    return render(
        request,
        rt,
        "staff_form.html",
        lang,
        utcnow(),
        spec=spec,
        values=forms.initial_values(spec, previous),
        errors={},
    )


@router.post("/staff/new/{slug}", response_class=HTMLResponse, dependencies=[require_page(*STAFF)])
async def form_submit(slug: str, request: Request, rt: Runtime) -> Response:
    spec = _spec(slug)
    lang = page_language(request, rt)
    data = await _form(request)
    result = forms.parse(spec, data, ZoneInfo(rt.settings.timezone), Translator(lang))
    # In exercise mode every report says what it is: OEFENING, or a real emergency. Never
    # assumed: a real P1 must not be marked as exercise because nobody looked.
    mode = await run_in_threadpool(rt.outbox.exercise_mode)
    exercise: str | None = None
    if mode is not None:
        choice = (data.get("exercise_choice") or [""])[0]
        result.values["exercise_choice"] = choice
        if choice == "exercise":
            exercise = mode.exercise_id
        elif choice != "real":
            result.errors["exercise_choice"] = Translator(lang)("exercise_choice_missing")
            result.body = None
    if result.body is None:
        return render(
            request,
            rt,
            "staff_form.html",
            lang,
            utcnow(),
            status_code=422,
            spec=spec,
            values=result.values,
            errors=result.errors,
        )
    try:
        entry = await run_in_threadpool(rt.outbox.enqueue, spec.kind, result.body, exercise)
    except OperationalError:  # logged and recorded by the outbox; /healthz reports it
        return render(
            request,
            rt,
            "staff_form.html",
            lang,
            utcnow(),
            status_code=503,
            spec=spec,
            values=result.values,
            errors={},
            save_failed=True,
        )
    return RedirectResponse(f"/staff/sent?new={entry.message_id}", status_code=303)


# ------------------------------------------------------------------------------ sent list


@dataclass(frozen=True)
class SentItem:
    entry: OutboxEntry
    title: str
    summary: str
    urgency: str | None
    state_class: str
    state_label: str
    cp_label: str | None
    history: list[AckEvent]
    radio: relay.RelayCard | None = None
    marks: tuple[relay.Mark, ...] = ()
    channel_label: str | None = None  # "ontvangen via portofoon om 14:05, later ook digitaal"


def _cp_label(entry: OutboxEntry, t: Translator, clock: Clock) -> str | None:
    state = entry.cp_state
    if state is None or state == HandlingState.STORED:
        return entry.cp_note
    if state == HandlingState.RECEIVED_NOT_PROCESSED:
        return None  # the state line says it
    key = f"cp_{state.value}"
    if state == HandlingState.DISPATCHED and entry.kind == "resource_request":
        key = "cp_dispatched_resource"
    label = t(key)
    if entry.cp_note:
        label = f"{label}: {entry.cp_note}"
    if entry.cp_updated_at is not None:
        label = f"{label} ({t('cp_at', time=clock(entry.cp_updated_at))})"
    return label


def _summary(entry: OutboxEntry, t: Translator) -> tuple[str, str | None]:
    b: dict[str, Any] = entry.body
    if entry.kind == "help_request":
        where = (b.get("location") or {}).get("address") or ""
        return f"{t.choice('help_category', b['category'])} — {where}", b.get("urgency")
    if entry.kind == "situation_report":
        text = b.get("description", "")
        short = text if len(text) <= 90 else text[:89] + "…"
        return f"{t.choice('situation_category', b['category'])}: {short}", None
    if entry.kind == "resource_request":
        qty = b.get("quantity")
        qty_text = f"{qty:g}" if isinstance(qty, float) else str(qty)
        return f"{qty_text} {b.get('unit', '')} {b.get('item', '')}", b.get("urgency")
    if entry.kind == "facility_report":
        state = t.choice("facility_state", b["observed_state"])
        note = f" — {b['note']}" if b.get("note") else ""
        return f"{b.get('facility_name', '')}: {state}{note}", None
    if entry.kind == "status":
        return (
            f"{t.choice('state', b['state'])}, {t.choice('power_source', b['power_source'])}",
            None,
        )
    return "", None


def link_down_since(rt: GatewayRuntime) -> datetime | None:
    """Since when the link is down (the gateway's start when it never came up); None: up."""
    info = rt.publisher.info()
    if info.connected:
        return None
    return info.last_disconnected_at or STARTED_AT


def _channel_label(
    e: OutboxEntry, marks: list[relay.Mark], t: Translator, clock: Clock
) -> str | None:
    if not marks:
        return None
    first = marks[0]
    channel = t(f"relay_channel_{first.channel}")
    if e.state == "stored":
        at = first.confirmed_at or clock(e.cp_stored_at)
        return t("relay_received_then_digital", channel=channel, time=at)
    if first.confirmed_at:
        return t("relay_passed_confirmed", channel=channel, time=first.confirmed_at)
    return t("relay_passed", channel=channel, time=clock(first.marked_at))


def sent_items(rt: GatewayRuntime, lang: UiLang, now: datetime, limit: int = 100) -> list[SentItem]:
    t = Translator(lang)
    clock = Clock(ZoneInfo(rt.settings.timezone), now)
    connected = rt.publisher.connected
    down_since = link_down_since(rt)
    with Session(rt.outbox.engine) as session:
        rows = session.exec(
            select(OutboxRow)
            .where(col(OutboxRow.kind).in_(LISTED_KINDS))
            .where(OutboxRow.heartbeat == False)  # noqa: E712
            .order_by(col(OutboxRow.seq).desc())
            .limit(limit)
        ).all()
        entries = [OutboxEntry.from_row(r) for r in rows]
    all_marks = relay.marks(rt.outbox.engine, [e.message_id for e in entries])
    items = []
    for e in entries:
        if e.cp_state == HandlingState.RECEIVED_NOT_PROCESSED:
            # The CP keeps it as a dead letter: no resending, a person at the CP looks.
            state_class, label = "not-processed", t("cp_received_not_processed")
        elif e.state == "stored":
            state_class, label = "stored", t("state_stored", time=clock(e.cp_stored_at))
        elif e.state == "sent":
            state_class, label = "sent", t("state_sent")
            if e.last_error:
                state_class, label = "refused", t("state_refused", error=e.last_error)
        else:
            state_class = "queued"
            label = t("state_sending") if connected else t("state_waiting")
        summary, urgency = _summary(e, t)
        items.append(
            SentItem(
                entry=e,
                title=t.choice("kind", e.kind),
                summary=summary,
                urgency=urgency,
                state_class=state_class,
                state_label=label,
                cp_label=_cp_label(e, t, clock),
                history=rt.outbox.history(e.message_id) if e.state == "stored" else [],
                radio=relay.card_for(e, rt.settings.short_code)
                if relay.needs_radio(e, rt.settings, now, down_since)
                else None,
                marks=tuple(all_marks.get(e.message_id, [])),
                channel_label=_channel_label(e, all_marks.get(e.message_id, []), t, clock),
            )
        )
    return items


async def _render_sent(request: Request, rt: Runtime, template: str) -> HTMLResponse:
    """The sent list, as the whole page or as the fragment the page refreshes: one place
    builds both, so the refreshed list is always what the page shows."""
    lang = page_language(request, rt)
    now = utcnow()
    items = await run_in_threadpool(sent_items, rt, lang, now)
    link = await run_in_threadpool(link_view, rt)
    return render(
        request,
        rt,
        template,
        lang,
        now,
        items=items,
        link=link,
        new=request.query_params.get("new"),
    )


@router.get("/staff/sent", response_class=HTMLResponse, dependencies=[require_page(*STAFF)])
async def sent_page(request: Request, rt: Runtime) -> HTMLResponse:
    return await _render_sent(request, rt, "staff_sent.html")


@router.get("/staff/sent/list", response_class=HTMLResponse, dependencies=[require_page(*STAFF)])
async def sent_list(request: Request, rt: Runtime) -> HTMLResponse:
    return await _render_sent(request, rt, "_sent_list.html")


# ------------------------------------------------------------------------------ tasks


def _split(tasks: list[StoredTask]) -> dict[str, list[StoredTask]]:
    return {
        "open": [s for s in tasks if not s.done and not s.task.cancelled],
        "done": [s for s in tasks if s.done and not s.task.cancelled],
        "cancelled": [s for s in tasks if s.task.cancelled],
    }


@router.get("/staff/tasks", response_class=HTMLResponse, dependencies=[require_page(*STAFF)])
async def tasks_page(request: Request, rt: Runtime) -> HTMLResponse:
    lang = page_language(request, rt)
    tasks = await run_in_threadpool(rt.inbox.tasks)
    return render(request, rt, "staff_tasks.html", lang, utcnow(), groups=_split(tasks), error=None)


@router.post(
    "/staff/tasks/{task_id}/{action}",
    response_class=HTMLResponse,
    dependencies=[require_page(*STAFF)],
)
async def task_action(task_id: str, action: str, request: Request, rt: Runtime) -> Response:
    if action not in ("done", "reopen"):
        raise HTTPException(404, f"no action {action!r}")
    lang = page_language(request, rt)
    data = await _form(request)
    by = (data.get("by") or [""])[0].strip()[:100] or None
    t = Translator(lang)
    try:
        await run_in_threadpool(rt.inbox.set_task_done, task_id, action == "done", by, None)
    except (TaskNotFoundError, TaskStateError) as exc:
        error = (
            t("task_unknown") if isinstance(exc, TaskNotFoundError) else t("task_cancelled_error")
        )
        tasks = await run_in_threadpool(rt.inbox.tasks)
        return render(
            request,
            rt,
            "staff_tasks.html",
            lang,
            utcnow(),
            status_code=404 if isinstance(exc, TaskNotFoundError) else 409,
            groups=_split(tasks),
            error=error,
        )
    return RedirectResponse(f"/staff/tasks#task-{task_id}", status_code=303)


# ------------------------------------------------------------------------------ radio


def _entry(rt: GatewayRuntime, message_id: str) -> OutboxEntry:
    with Session(rt.outbox.engine) as session:
        row = session.get(OutboxRow, message_id)
        if row is None or row.kind not in LISTED_KINDS:
            raise HTTPException(404, f"no report {message_id!r}")
        return OutboxEntry.from_row(row)


async def _render_relay(
    request: Request,
    rt: Runtime,
    message_id: str,
    status_code: int = 200,
    error: str | None = None,
) -> HTMLResponse:
    """The relay page of one report (its radio card and the marks so far), as shown and as
    shown again with the reason a mark was refused."""
    lang = page_language(request, rt)
    entry = await run_in_threadpool(_entry, rt, message_id)
    marks = await run_in_threadpool(relay.marks, rt.outbox.engine, [message_id])
    return render(
        request,
        rt,
        "staff_relay.html",
        lang,
        utcnow(),
        status_code=status_code,
        card=relay.card_for(entry, rt.settings.short_code),
        marks=marks.get(message_id, []),
        error=error,
    )


@router.get(
    "/staff/relay/{message_id}", response_class=HTMLResponse, dependencies=[require_page(*STAFF)]
)
async def relay_page(message_id: str, request: Request, rt: Runtime) -> HTMLResponse:
    return await _render_relay(request, rt, message_id)


@router.post(
    "/staff/relay/{message_id}/mark",
    response_class=HTMLResponse,
    dependencies=[require_page(*STAFF)],
)
async def relay_mark(message_id: str, request: Request, rt: Runtime) -> Response:
    lang = page_language(request, rt)
    data = await _form(request)

    def one(name: str) -> str:
        return (data.get(name) or [""])[0]

    try:
        await run_in_threadpool(
            relay.mark,
            rt.outbox.engine,
            message_id,
            one("channel"),
            one("confirmed_by"),
            one("confirmed_at"),
            one("by"),
        )
    except relay.MarkError as exc:
        return await _render_relay(
            request,
            rt,
            message_id,
            status_code=404 if exc.key == "relay_unknown" else 422,
            error=Translator(lang)(exc.key),
        )
    return RedirectResponse(f"/staff/sent#report-{message_id}", status_code=303)


@router.get(
    "/staff/relay/{message_id}/slip",
    response_class=HTMLResponse,
    dependencies=[require_page(*STAFF)],
)
async def relay_slip(message_id: str, request: Request, rt: Runtime) -> HTMLResponse:
    """The A6 runner slip: short form, read-out, check code and a QR code of the short form."""
    lang = page_language(request, rt)
    entry = await run_in_threadpool(_entry, rt, message_id)
    card = relay.card_for(entry, rt.settings.short_code)
    return render(
        request,
        rt,
        "staff_slip.html",
        lang,
        utcnow(),
        card=card,
        qr=relay.qr_svg(card.short_form) if card.short_form else None,
    )


# ------------------------------------------------------------------------------ bulletin by radio


@router.get(
    "/staff/bulletin-radio", response_class=HTMLResponse, dependencies=[require_page(*STAFF)]
)
async def bulletin_radio_page(request: Request, rt: Runtime) -> HTMLResponse:
    lang = page_language(request, rt)
    return render(
        request, rt, "staff_bulletin_radio.html", lang, utcnow(), values={}, error=None, saved=None
    )


@router.post(
    "/staff/bulletin-radio", response_class=HTMLResponse, dependencies=[require_page(*STAFF)]
)
async def bulletin_radio_submit(request: Request, rt: Runtime) -> HTMLResponse:
    """Staff heard a bulletin over the radio: a receipt with its channel goes to the CP (when
    the link is back), so the CP's reach shows this NSP has it, and how."""
    lang = page_language(request, rt)
    t = Translator(lang)
    data = await _form(request)
    values = {k: (v or [""])[0].strip() for k, v in data.items()}
    try:
        receipt = Receipt(
            bulletin_id=values.get("bulletin_id", "").lower(),
            version=int(values.get("version") or "1"),
            shown_at=utcnow(),
            channel=values.get("channel") or "radio",
        )
    except (ValueError, ValidationError):
        return render(
            request,
            rt,
            "staff_bulletin_radio.html",
            lang,
            utcnow(),
            status_code=422,
            values=values,
            error=t("bulletin_radio_invalid"),
            saved=None,
        )
    await run_in_threadpool(rt.outbox.enqueue, "receipt", receipt)
    return render(
        request,
        rt,
        "staff_bulletin_radio.html",
        lang,
        utcnow(),
        values={},
        error=None,
        saved=t("bulletin_radio_saved", code=receipt.bulletin_id, version=receipt.version),
    )
