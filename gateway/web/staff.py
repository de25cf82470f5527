"""The staff screens: the four report forms, everything sent with its state, and tasks.

Forms post back to the gateway (server-side validation, messages in Dutch or English) and
the report lands in the durable outbox before the page answers; the list of sent reports
then shows it going from 'waiting for connection' to 'received by CP at 14:02' and later
states the CP sends.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, col, select
from starlette.concurrency import run_in_threadpool

from gateway.auth import STAFF
from gateway.inbox import StoredTask, TaskNotFoundError, TaskStateError
from gateway.models import OutboxRow
from gateway.outbox import AckEvent, OutboxEntry
from gateway.runtime import GatewayRuntime
from gateway.web import forms
from gateway.web.i18n import Translator, UiLang
from gateway.web.render import Clock, page_language, render
from gateway.web.status import link_view
from noodcore.httpguard import require_page
from schemas import HandlingState, utcnow

router = APIRouter(include_in_schema=False)

MAX_FORM_BYTES = 64 * 1024
# What staff sent themselves; receipts and task confirmations are the gateway's own.
LISTED_KINDS = ("help_request", "situation_report", "resource_request", "status")


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
        entry = await run_in_threadpool(rt.outbox.enqueue, spec.kind, result.body)
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
    if entry.kind == "status":
        return (
            f"{t.choice('state', b['state'])}, {t.choice('power_source', b['power_source'])}",
            None,
        )
    return "", None


def sent_items(rt: GatewayRuntime, lang: UiLang, now: datetime, limit: int = 100) -> list[SentItem]:
    t = Translator(lang)
    clock = Clock(ZoneInfo(rt.settings.timezone), now)
    connected = rt.publisher.connected
    with Session(rt.outbox.engine) as session:
        rows = session.exec(
            select(OutboxRow)
            .where(col(OutboxRow.kind).in_(LISTED_KINDS))
            .where(OutboxRow.heartbeat == False)  # noqa: E712
            .order_by(col(OutboxRow.seq).desc())
            .limit(limit)
        ).all()
        entries = [OutboxEntry.from_row(r) for r in rows]
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
            )
        )
    return items


@router.get("/staff/sent", response_class=HTMLResponse, dependencies=[require_page(*STAFF)])
async def sent_page(request: Request, rt: Runtime) -> HTMLResponse:
    lang = page_language(request, rt)
    now = utcnow()
    items = await run_in_threadpool(sent_items, rt, lang, now)
    link = await run_in_threadpool(link_view, rt)
    return render(
        request,
        rt,
        "staff_sent.html",
        lang,
        now,
        items=items,
        link=link,
        new=request.query_params.get("new"),
    )


@router.get("/staff/sent/list", response_class=HTMLResponse, dependencies=[require_page(*STAFF)])
async def sent_list(request: Request, rt: Runtime) -> HTMLResponse:
    lang = page_language(request, rt)
    now = utcnow()
    items = await run_in_threadpool(sent_items, rt, lang, now)
    link = await run_in_threadpool(link_view, rt)
    return render(
        request,
        rt,
        "_sent_list.html",
        lang,
        now,
        items=items,
        link=link,
        new=request.query_params.get("new"),
    )


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
