"""The operator console (``/console``): the CP's queue and one item at a time, in a browser.

The page is rendered here (language, who is signed in, whether they may act); its script
(``static/console.js``) reads and acts through the operator JSON API (``service/triage/api.py``)
with the sign-in cookie, so the console can do exactly what the API allows that person, and
every refusal of the API (403, 409, 422) reaches the operator in words.

Operators and admins act; viewers (and anonymous readers, where allowed) see the same page
read-only, with the reason instead of the buttons.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from noodcore.httpguard import Identity, public, require_page
from noodcore.pagelang import clock_config
from service.auth.roles import OPERATORS, READERS
from service.web.render import CSP, page_language, render, static_asset
from service.web.texts import texts

router = APIRouter(tags=["console"])

ASSETS = {
    "console.css": "text/css; charset=utf-8",
    "pagekit.js": "text/javascript; charset=utf-8",
    "console.js": "text/javascript; charset=utf-8",
    "relay.js": "text/javascript; charset=utf-8",
    "facilities.css": "text/css; charset=utf-8",
    "desk.css": "text/css; charset=utf-8",
    "desk.js": "text/javascript; charset=utf-8",
}
ASSET_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": CSP,
}
REFRESH_SECONDS = 5


@router.get(
    "/console",
    response_class=HTMLResponse,
    summary="Operator console: the queue, items, actions (HTML; sign-in page when needed)",
)
def console(
    request: Request, identity: Annotated[Identity | None, require_page(*READERS)]
) -> HTMLResponse:
    assert identity is not None  # the rule admits no caller without one
    lang = page_language(request)
    t = texts(lang)
    anonymous = identity.token_id is None
    can_act = identity.role in OPERATORS and not anonymous
    config = {
        "lang": lang,
        **clock_config(request.app.state.ctx.settings.timezone),
        "can_act": can_act,
        "refresh_seconds": REFRESH_SECONDS,
        "login_url": "/login?next=/console",
        "readonly_reason": None
        if can_act
        else t("readonly_anonymous")
        if anonymous
        else t("readonly_role", role=identity.role.value),
        **t.for_script(),
    }
    return render(
        request,
        "console.html",
        lang,
        identity=identity,
        anonymous=anonymous,
        can_act=can_act,
        cp_id=request.app.state.ctx.settings.cp_id,
        config=config,
    )


@router.get("/console/static/{name}", include_in_schema=False, dependencies=[public()])
def asset(name: str) -> FileResponse:
    # Open like the sign-in page that uses them: code and styles, no data.
    return static_asset(
        name,
        ASSETS,
        "console",
        {
            "Cache-Control": "no-cache",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": CSP,
        },
    )
