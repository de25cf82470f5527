"""``/staff/screens``: the coordinator pairs staff screens and sets the shift PIN in the
browser, as ``noodnet staff-screen`` does on the command line (``gateway/screens.py``).

Rule on top of the route's access rule (nsp-staff): a session made with a PIN cannot manage
screens. Otherwise one volunteer's PIN could pair any device; the coordinator signs in with
the long token (``/staff/login?code=long``).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import segno
from fastapi import APIRouter, Depends, HTTPException, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from gateway import auth, screens
from gateway.auth import STAFF
from gateway.runtime import GatewayRuntime
from gateway.web.i18n import Translator
from gateway.web.render import page_language, render
from gateway.web.staff import _form
from noodcore.httpguard import Identity, require_page
from schemas import utcnow

router = APIRouter(include_in_schema=False)


def _runtime(request: Request) -> GatewayRuntime:
    runtime: GatewayRuntime = request.app.state.runtime
    return runtime


Runtime = Annotated[GatewayRuntime, Depends(_runtime)]
Staff = Annotated[Identity | None, require_page(*STAFF)]


def _coordinator(rt: GatewayRuntime, identity: Identity | None, t: Translator) -> None:
    token_id = identity.token_id if identity is not None else None
    with Session(rt.outbox.engine) as session:
        row = session.get(auth.StaffToken, token_id) if token_id is not None else None
    if row is None or (row.note or "").startswith("screen:"):
        raise HTTPException(403, t("screens_forbidden"))


def _page(
    request: Request, rt: GatewayRuntime, status: int = 200, **context: object
) -> HTMLResponse:
    lang = page_language(request, rt)
    return render(
        request,
        rt,
        "staff_screens.html",
        lang,
        utcnow(),
        status_code=status,
        screens=screens.list_screens(rt.outbox.engine),
        **{"pairing": None, "qr": None, "pair_url": None, "error": None, **context},
    )


@router.get("/staff/screens", response_class=HTMLResponse)
async def screens_page(request: Request, rt: Runtime, identity: Staff) -> HTMLResponse:
    _coordinator(rt, identity, Translator(page_language(request, rt)))
    return await run_in_threadpool(_page, request, rt)


@router.post("/staff/screens", response_class=HTMLResponse)
async def pair_screen(request: Request, rt: Runtime, identity: Staff) -> Response:
    t = Translator(page_language(request, rt))
    _coordinator(rt, identity, t)
    data = await _form(request)
    name = (data.get("name") or [""])[0].strip()
    pin = (data.get("pin") or [""])[0].strip() or None
    try:
        hours = float((data.get("hours") or ["12"])[0].replace(",", "."))
        pairing = await run_in_threadpool(
            screens.create, rt.outbox.engine, name, pin, timedelta(hours=hours)
        )
    except ValueError:
        return await run_in_threadpool(_page, request, rt, 422, error=t("screens_invalid"))
    url = f"{str(request.base_url).rstrip('/')}{screens.PAIR_PATH}?code={pairing.code}"
    qr = Markup(segno.make(url, error="m").svg_inline(scale=5, title=url))
    return await run_in_threadpool(
        _page,
        request,
        rt,
        pairing=pairing,
        qr=qr,
        pair_url=url,
        code=screens.format_code(pairing.code),
    )


@router.post("/staff/screens/{screen_id}/revoke", response_class=HTMLResponse)
async def revoke_screen(
    screen_id: Annotated[int, Path(ge=1, le=2**62)],
    request: Request,
    rt: Runtime,
    identity: Staff,
) -> Response:
    _coordinator(rt, identity, Translator(page_language(request, rt)))
    await _form(request)
    await run_in_threadpool(screens.revoke, rt.outbox.engine, screen_id)
    return RedirectResponse("/staff/screens", status_code=303)
