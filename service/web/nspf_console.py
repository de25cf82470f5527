"""The CP side of citizen aid (``/console/aid``) and scarce goods (``/console/goods``).

Server-rendered pages with plain HTML forms (no script: they work in any browser the crisis
room has, and the Content Security Policy allows nothing inline anyway). Reading needs a
reader role; every form post needs an operator and goes through the same functions as the
JSON API (``service/aid/api.py``, ``service/goods/api.py``), so the page can do exactly what
the API allows and refuses with the same reason.

Privacy: nothing here can show a volunteer's name or contact, because the CP has neither.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlmodel import Session, col, select

from noodcore.httpguard import Identity, require_page
from schemas import Skill
from service.aid import api as aid_api
from service.aid import sending as aid_sending
from service.auth.roles import OPERATORS, READERS
from service.context import SessionDep, get_context
from service.goods import api as goods_api
from service.goods import rules as rules_mod
from service.models import Message, Nsp
from service.tasks import sending as task_sending
from service.tasks.models import NspTask
from service.web import nspf_texts
from service.web.render import page_language, render
from service.web.texts import texts

router = APIRouter(tags=["console"])

ITEMS = {
    "drinkwater": "liter",
    "voedselpakket": "pakket",
    "dekens": "stuks",
    "batterijen": "stuks",
    "babyvoeding": "pak",
    "medicijnen": "doos",
}
MAX_FORM_BYTES = 32 * 1024


async def _form(request: Request) -> dict[str, list[str]]:
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        raise HTTPException(413, "form too large")
    ctype = request.headers.get("content-type", "").split(";")[0].strip()
    if raw and ctype != "application/x-www-form-urlencoded":
        raise HTTPException(415, "expected an HTML form (application/x-www-form-urlencoded)")
    return parse_qs(raw.decode("utf-8", errors="replace"), keep_blank_values=True)


def _one(data: dict[str, list[str]], name: str) -> str:
    return (data.get(name) or [""])[0].strip()


def _errors(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()[:3])


def _page(
    request: Request,
    template: str,
    identity: Identity,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    lang = page_language(request)
    ctx = get_context(request)
    return render(
        request,
        template,
        lang,
        status_code=status_code,
        identity=identity,
        anonymous=identity.token_id is None,
        can_act=identity.role in OPERATORS and identity.token_id is not None,
        cp_id=ctx.settings.cp_id,
        skill_names=nspf_texts.SKILLS[lang],
        notice=request.query_params.get("ok"),
        **context,
    )


def _refused(
    request: Request,
    template: str,
    identity: Identity,
    exc: ValidationError | aid_sending.AidError | task_sending.TaskError,
    context: dict[str, Any],
) -> HTMLResponse:
    """The one way a form post is refused: its page again with the reason, 422 and the first
    field errors for a form that does not validate, the domain error's own status and message
    (the same as the JSON API's) otherwise."""
    if isinstance(exc, ValidationError):
        status_code, reason = 422, _errors(exc)
    else:
        status_code, reason = exc.status_code, exc.message
    t = texts(page_language(request))
    return _page(
        request, template, identity, status_code, error=t("form_error", reason=reason), **context
    )


# ------------------------------------------------------------------------------ aid


def _aid_context(session: Session) -> dict[str, Any]:
    help_requests = session.exec(
        select(Message)
        .where(Message.kind == "help_request")
        .order_by(col(Message.received_at).desc())
        .limit(30)
    ).all()
    return {
        "rosters": aid_api.rosters(session),
        "assignments": aid_api.assignments(session, limit=100),
        "help_requests": [
            {
                "message_id": m.message_id,
                "nsp_id": m.nsp_id,
                "urgency": m.urgency,
                "category": m.body.get("category"),
                "address": (m.body.get("location") or {}).get("address") or "",
                "description": (m.body.get("description") or "")[:140],
                "received_at": m.received_at,
            }
            for m in help_requests
        ],
        "nsp_ids": sorted(session.exec(select(Nsp.nsp_id)).all()),
        "skills": [s.value for s in Skill],
    }


@router.get("/console/aid", response_class=HTMLResponse, summary="Citizen aid (HTML)")
def aid_page(
    request: Request,
    session: SessionDep,
    identity: Annotated[Identity | None, require_page(*READERS)],
) -> HTMLResponse:
    assert identity is not None
    return _page(request, "console_aid.html", identity, **_aid_context(session))


@router.post("/console/aid/assign", response_class=HTMLResponse, include_in_schema=False)
async def aid_assign(
    request: Request,
    identity: Annotated[Identity | None, require_page(*OPERATORS)],
    ctx: Annotated[Any, Depends(get_context)],
) -> Response:
    assert identity is not None
    data = await _form(request)
    t = texts(page_language(request))
    with Session(ctx.engine) as session:
        try:
            new = aid_sending.NewAssignment(
                nsp_id=_one(data, "nsp_id"),
                title=_one(data, "title"),
                skill=_one(data, "skill") or None,
                count=int(_one(data, "count") or "1") if _one(data, "count").isdigit() else 0,
                address=_one(data, "address") or None,
                ref_message_id=_one(data, "ref_message_id") or None,
            )
            aid_api.create_and_send(session, ctx, new, identity.name)
        except (ValidationError, aid_sending.AidError) as exc:
            return _refused(request, "console_aid.html", identity, exc, _aid_context(session))
    notice = quote(t("aid_sent", nsp=new.nsp_id))
    return RedirectResponse(f"/console/aid?ok={notice}", status_code=303)


@router.post(
    "/console/aid/assignments/{assignment_id}/cancel",
    response_class=HTMLResponse,
    include_in_schema=False,  # an HTML form's target, not API (that is service/aid/api.py)
)
async def aid_cancel(
    assignment_id: Annotated[str, Path(max_length=63)],
    request: Request,
    identity: Annotated[Identity | None, require_page(*OPERATORS)],
    ctx: Annotated[Any, Depends(get_context)],
) -> Response:
    assert identity is not None
    await _form(request)
    t = texts(page_language(request))
    with Session(ctx.engine) as session:
        try:
            a = aid_sending.cancel(session, ctx.settings.cp_id, assignment_id, identity.name)
            session.commit()
            aid_sending.send(ctx.engine, ctx.settings.cp_id, ctx.bridge, [a])
        except aid_sending.AidError as exc:
            return _refused(request, "console_aid.html", identity, exc, _aid_context(session))
    return RedirectResponse(f"/console/aid?ok={quote(t('aid_cancelled'))}", status_code=303)


# ------------------------------------------------------------------------------ goods


def _goods_context(session: Session) -> dict[str, Any]:
    view = goods_api.stock_view(session, None, goods_api.WARN_DAYS)
    deliveries = []
    for task in session.exec(
        select(NspTask)
        .where(col(NspTask.goods).is_not(None))
        .order_by(col(NspTask.created_at).desc())
        .limit(30)
    ).all():
        targets = task_sending.targets_of(session, task.task_id)
        deliveries.append({"task": task, "targets": targets})
    rules = rules_mod.current(session)
    return {
        "stock": view,
        "warnings": [line for line in view.lines if line.low],
        "deliveries": deliveries,
        "rules": rules,
        "items": ITEMS,
        "nsp_ids": sorted(session.exec(select(Nsp.nsp_id)).all()),
    }


@router.get("/console/goods", response_class=HTMLResponse, summary="Scarce goods (HTML)")
def goods_page(
    request: Request,
    session: SessionDep,
    identity: Annotated[Identity | None, require_page(*READERS)],
) -> HTMLResponse:
    assert identity is not None
    return _page(request, "console_goods.html", identity, **_goods_context(session))


@router.post("/console/goods/deliver", response_class=HTMLResponse, include_in_schema=False)
async def goods_deliver(
    request: Request,
    identity: Annotated[Identity | None, require_page(*OPERATORS)],
    ctx: Annotated[Any, Depends(get_context)],
) -> Response:
    assert identity is not None
    data = await _form(request)
    t = texts(page_language(request))
    lines = []
    for item, unit, qty in zip(
        data.get("item", []), data.get("unit", []), data.get("quantity", []), strict=False
    ):
        if item.strip() and qty.strip():
            lines.append(
                {
                    "item": item.strip(),
                    "unit": unit.strip() or ITEMS.get(item.strip(), "stuks"),
                    "quantity": qty.strip().replace(",", "."),
                }
            )
    with Session(ctx.engine) as session:
        try:
            new = goods_api.NewDelivery.model_validate(
                {"nsp_id": _one(data, "nsp_id"), "goods": lines}
            )
            goods_api.plan_delivery(session, ctx, new, identity.name)
        except (ValidationError, task_sending.TaskError) as exc:
            return _refused(request, "console_goods.html", identity, exc, _goods_context(session))
    notice = quote(t("goods_delivered", nsp=new.nsp_id))
    return RedirectResponse(f"/console/goods?ok={notice}", status_code=303)


@router.post("/console/goods/rules", response_class=HTMLResponse, include_in_schema=False)
async def goods_rules(
    request: Request,
    identity: Annotated[Identity | None, require_page(*OPERATORS)],
    ctx: Annotated[Any, Depends(get_context)],
) -> Response:
    assert identity is not None
    data = await _form(request)
    t = texts(page_language(request))
    rules = [
        {
            "item": i.strip(),
            "unit": u.strip(),
            "max_per_person_per_day": m.strip().replace(",", "."),
        }
        for i, u, m in zip(
            data.get("item", []), data.get("unit", []), data.get("max", []), strict=False
        )
        if i.strip() and m.strip()
    ]
    with Session(ctx.engine) as session:
        try:
            new = rules_mod.NewRules.model_validate({"rules": rules})
            saved = rules_mod.set_rules(session, new, identity.name)
            session.commit()
        except ValidationError as exc:
            return _refused(request, "console_goods.html", identity, exc, _goods_context(session))
    rules_mod.publish_rules(ctx.engine, ctx.settings.cp_id, ctx.bridge)
    notice = quote(t("goods_rules_saved", version=saved.version))
    return RedirectResponse(f"/console/goods?ok={notice}", status_code=303)
