"""Staff screens for citizen aid (``/staff/aid``) and scarce goods (``/staff/goods``).

Forms post back here (same-origin check and size limit of the other staff forms); a refusal
(not enough stock, over the ration, a step that does not fit) re-renders the page with the
reason in the staff's language and status 409/422, and nothing is booked.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from gateway.aid import AidError, VolunteerIn
from gateway.auth import STAFF
from gateway.goods import ITEMS, GoodsError
from gateway.runtime import GatewayRuntime
from gateway.web.i18n import Translator
from gateway.web.render import page_language, render
from gateway.web.staff import _form
from noodcore.httpguard import require_page
from schemas import AssignmentState, EntryType, Skill, Window, utcnow

router = APIRouter(include_in_schema=False, dependencies=[require_page(*STAFF)])


def _runtime(request: Request) -> GatewayRuntime:
    runtime: GatewayRuntime = request.app.state.runtime
    return runtime


Runtime = Annotated[GatewayRuntime, Depends(_runtime)]
IdPath = Annotated[str, Path(max_length=63)]
VolunteerId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _one(data: dict[str, list[str]], name: str) -> str:
    return (data.get(name) or [""])[0].strip()


def _num(data: dict[str, list[str]], name: str, default: float | None = None) -> float:
    raw = _one(data, name).replace(",", ".")
    if not raw and default is not None:
        return default
    try:
        return float(raw)
    except ValueError:
        raise GoodsError("goods_bad_quantity", f"{name}: not a number") from None


# ------------------------------------------------------------------------------ aid


async def _aid_page(
    request: Request, rt: GatewayRuntime, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    lang = page_language(request, rt)
    volunteers = await run_in_threadpool(rt.aid.volunteers)
    assignments = await run_in_threadpool(rt.aid.assignments)
    sent, _ = await run_in_threadpool(lambda: rt.outbox.list_entries(kind="help_request", limit=20))
    help_requests = [
        (e.message_id, (e.body.get("location") or {}).get("address") or "", e.body["category"])
        for e in sent
    ]
    return render(
        request,
        rt,
        "staff_aid.html",
        lang,
        utcnow(),
        status_code=status_code,
        volunteers=volunteers,
        assignments=assignments,
        skills=[s.value for s in Skill],
        help_requests=help_requests,
        windows=[w.value for w in Window],
        next_states={
            AssignmentState.REQUESTED.value: ["en_route", "failed"],
            AssignmentState.EN_ROUTE.value: ["done", "failed"],
        },
        notice=extra.pop("notice", request.query_params.get("ok")),
        **extra,
    )


def _aid_error(request: Request, rt: GatewayRuntime, exc: AidError) -> Any:
    t = Translator(page_language(request, rt))
    return _aid_page(request, rt, exc.status_code, error=t("aid_error", reason=t(exc.key)))


@router.get("/staff/aid", response_class=HTMLResponse)
async def aid_page(request: Request, rt: Runtime) -> HTMLResponse:
    return await _aid_page(request, rt)


@router.post("/staff/aid/volunteers", response_class=HTMLResponse)
async def register_volunteer(request: Request, rt: Runtime) -> Response:
    data = await _form(request)
    t = Translator(page_language(request, rt))
    try:
        info = VolunteerIn(
            first_name=_one(data, "first_name"),
            skills=data.get("skills", []),
            languages=[x.strip() for x in _one(data, "languages").split(",") if x.strip()],
            windows=data.get("windows", []),
            contact=_one(data, "contact") or None,
            consent=_one(data, "consent") == "yes",
            note=_one(data, "note") or None,
        )
    except ValidationError as exc:
        fields = ", ".join(sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]}))
        reason = f"{t('form_invalid')}: {fields or 'consent'}"
        return await _aid_page(request, rt, 422, error=t("aid_error", reason=reason))
    v = await run_in_threadpool(rt.aid.register, info)
    return RedirectResponse(f"/staff/aid?ok=registered#volunteer-{v.id}", status_code=303)


@router.post("/staff/aid/volunteers/{volunteer_id}/remove", response_class=HTMLResponse)
async def remove_volunteer(volunteer_id: VolunteerId, request: Request, rt: Runtime) -> Response:
    await _form(request)
    try:
        await run_in_threadpool(rt.aid.remove, volunteer_id)
    except AidError as exc:
        return await _aid_error(request, rt, exc)
    return RedirectResponse("/staff/aid?ok=removed", status_code=303)


@router.post("/staff/aid/assignments", response_class=HTMLResponse)
async def new_assignment(request: Request, rt: Runtime) -> Response:
    data = await _form(request)
    t = Translator(page_language(request, rt))
    title = _one(data, "title")
    skill = _one(data, "skill")
    try:
        count = int(_one(data, "count") or "1")
    except ValueError:
        count = 0
    if not title or len(title) > 200 or not 1 <= count <= 50 or skill not in ("", *Skill):
        reason = f"{t('form_invalid')}: title, count"
        return await _aid_page(request, rt, 422, error=t("aid_error", reason=reason))
    ref = _one(data, "ref_message_id")
    address = _one(data, "address")[:300]
    if ref:  # turned from a help request sent here: its address unless another is given
        entry = await run_in_threadpool(rt.outbox.get, ref)
        if entry is None or entry.kind != "help_request":
            reason = f"{t('form_invalid')}: ref_message_id"
            return await _aid_page(request, rt, 422, error=t("aid_error", reason=reason))
        address = address or (entry.body.get("location") or {}).get("address") or ""
    s = await run_in_threadpool(
        rt.aid.create_local,
        title,
        Skill(skill) if skill else None,
        count,
        address or None,
        None,
        ref or None,
    )
    return RedirectResponse(f"/staff/aid#a-{s.assignment.assignment_id}", status_code=303)


@router.post("/staff/aid/assignments/{assignment_id}/volunteers", response_class=HTMLResponse)
async def pick_volunteers(assignment_id: IdPath, request: Request, rt: Runtime) -> Response:
    data = await _form(request)
    ids = [int(x) for x in data.get("volunteer_ids", []) if x.isdigit()]
    if not ids:
        exc = AidError("assignment_no_volunteers", "pick the volunteers first")
        return await _aid_error(request, rt, exc)
    try:
        await run_in_threadpool(rt.aid.assign, assignment_id, ids)
    except AidError as exc:
        return await _aid_error(request, rt, exc)
    return RedirectResponse(f"/staff/aid#a-{assignment_id}", status_code=303)


@router.post("/staff/aid/assignments/{assignment_id}/state", response_class=HTMLResponse)
async def assignment_state(assignment_id: IdPath, request: Request, rt: Runtime) -> Response:
    data = await _form(request)
    try:
        state = AssignmentState(_one(data, "state"))
    except ValueError:
        return await _aid_error(request, rt, AidError("assignment_bad_step", "unknown state"))
    note = _one(data, "note")[:300] or None
    try:
        await run_in_threadpool(rt.aid.set_state, assignment_id, state, note)
    except AidError as exc:
        return await _aid_error(request, rt, exc)
    return RedirectResponse(f"/staff/aid#a-{assignment_id}", status_code=303)


# ------------------------------------------------------------------------------ goods


async def _goods_page(
    request: Request, rt: GatewayRuntime, status_code: int = 200, **extra: Any
) -> HTMLResponse:
    lang = page_language(request, rt)
    return render(
        request,
        rt,
        "staff_goods.html",
        lang,
        utcnow(),
        status_code=status_code,
        stock=await run_in_threadpool(rt.goods.stock),
        deliveries=await run_in_threadpool(rt.goods.deliveries),
        rules=await run_in_threadpool(rt.goods.rules),
        items=ITEMS,
        entry_types=["received", "transferred", "written_off"],
        notice=extra.pop("notice", None),
        **extra,
    )


def _goods_error(request: Request, rt: GatewayRuntime, exc: GoodsError) -> Any:
    t = Translator(page_language(request, rt))
    reason = t(exc.key, **exc.values) if exc.values else t(exc.key)
    return _goods_page(request, rt, exc.status_code, error=t("goods_error", reason=reason))


def _booked(request: Request, rt: GatewayRuntime, entry: Any) -> str:
    t = Translator(page_language(request, rt))
    return t(
        "booked",
        quantity=f"{entry.quantity:g}",
        unit=entry.unit,
        item=t.choice("item", entry.item),
        type=t.choice("entry_type", entry.type.value),
        on_hand=f"{entry.on_hand_after:g}",
    )


@router.get("/staff/goods", response_class=HTMLResponse)
async def goods_page(request: Request, rt: Runtime) -> HTMLResponse:
    return await _goods_page(request, rt)


@router.post("/staff/goods/handout", response_class=HTMLResponse)
async def handout(request: Request, rt: Runtime) -> Response:
    data = await _form(request)
    try:
        item = _one(data, "item")
        entry = await run_in_threadpool(
            rt.goods.hand_out,
            item,
            _one(data, "unit") or ITEMS.get(item, ""),
            _num(data, "quantity"),
            int(_num(data, "household_size", 1)),
            int(_num(data, "households", 1)),
            _one(data, "household_code") or None,
            _one(data, "by")[:100] or None,
        )
    except GoodsError as exc:
        return await _goods_error(request, rt, exc)
    return await _goods_page(request, rt, 200, notice=_booked(request, rt, entry))


@router.post("/staff/goods/entry", response_class=HTMLResponse)
async def book_entry(request: Request, rt: Runtime) -> Response:
    data = await _form(request)
    try:
        kind = _one(data, "type")
        if kind not in ("received", "transferred", "written_off"):
            raise GoodsError("goods_use_handout", "type: received, transferred or written_off")
        item = _one(data, "item")
        entry = await run_in_threadpool(
            rt.goods.record,
            EntryType(kind),
            item,
            _one(data, "unit") or ITEMS.get(item, ""),
            _num(data, "quantity"),
            _one(data, "by")[:100] or None,
            _one(data, "counterpart")[:200] or None,
            None,
        )
    except GoodsError as exc:
        return await _goods_error(request, rt, exc)
    return await _goods_page(request, rt, 200, notice=_booked(request, rt, entry))


@router.post("/staff/goods/deliveries/{task_id}/receive", response_class=HTMLResponse)
async def receive_delivery(task_id: IdPath, request: Request, rt: Runtime) -> Response:
    data = await _form(request)
    t = Translator(page_language(request, rt))
    try:
        raw = data.get("quantity", [])
        quantities = [float(x.replace(",", ".")) for x in raw] if raw else None
    except ValueError:
        return await _goods_error(request, rt, GoodsError("goods_bad_quantity", "not a number"))
    try:
        await run_in_threadpool(
            rt.goods.receive_delivery, task_id, quantities, _one(data, "by")[:100] or None
        )
    except GoodsError as exc:
        return await _goods_error(request, rt, exc)
    return await _goods_page(request, rt, 200, notice=t("delivery_booked"))
