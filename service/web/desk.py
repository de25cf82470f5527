"""The information desk (``/console/desk``): bulletins, their reach, CAP, and tasks, in a browser.

Like the console, the page is rendered here (language, who is signed in, whether they may act)
and its script (``static/desk.js``) works through the JSON APIs that already exist
(``/api/v1/bulletins``, ``/api/v1/tasks``, ``/api/v1/nsps``) with the sign-in cookie: the
desk can do exactly what the API allows that person, and the API's checks (Dutch text
required, valid targets, expected version) stay the only checks that count.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from noodcore.httpguard import Identity, require_page
from service.auth.roles import OPERATORS, READERS
from service.web import desk_texts as dt
from service.web.desk_templates import TEMPLATE_NAMES, TEMPLATES
from service.web.render import page_language, render
from service.web.texts import TEXTS, texts

router = APIRouter(tags=["console"])

REFRESH_SECONDS = 2  # reach fills in while the operator watches


@router.get(
    "/console/desk",
    response_class=HTMLResponse,
    summary="Information desk: write, preview, publish and withdraw bulletins, watch their "
    "reach, CAP import/export, tasks for NSP staff (HTML; sign-in page when needed)",
)
def desk(
    request: Request, identity: Annotated[Identity | None, require_page(*READERS)]
) -> HTMLResponse:
    assert identity is not None  # the rule admits no caller without one
    lang = page_language(request)
    t = texts(lang)
    anonymous = identity.token_id is None
    can_act = identity.role in OPERATORS and not anonymous
    words = {**TEXTS["nl"], **TEXTS[lang], **dt.DESK["nl"], **dt.DESK[lang]}
    config = {
        "lang": lang,
        "can_act": can_act,
        "refresh_seconds": REFRESH_SECONDS,
        "time_zone": request.app.state.ctx.settings.timezone,
        "text": words,
        "templates": TEMPLATES,
        "template_names": TEMPLATE_NAMES[lang],
        "board": dt.BOARD,
        "bulletin_states": dt.BULLETIN_STATES[lang],
        "reach_states": dt.REACH_STATES[lang],
        "liveness": dt.LIVENESS[lang],
        "task_states": dt.TASK_STATES[lang],
        "cap_outcomes": dt.CAP_OUTCOMES[lang],
    }
    return render(
        request,
        "desk.html",
        lang,
        identity=identity,
        anonymous=anonymous,
        can_act=can_act,
        readonly_reason=None
        if can_act
        else t("readonly_anonymous")
        if anonymous
        else t("readonly_role", role=identity.role.value),
        cp_id=request.app.state.ctx.settings.cp_id,
        d=lambda key, **v: words[key].format(**v) if v else words[key],
        urgencies=dt.URGENCIES[lang],
        config=config,
    )
