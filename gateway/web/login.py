"""Staff sign-in for the gateway's pages: the staff token, kept in an HttpOnly cookie.

Browsers cannot send an ``Authorization`` header from a plain link or form, so a page that
needs a role answers 401 with this sign-in form; the token a staff member enters is checked
like any API token and then travels as the ``noodnet_token`` cookie (HttpOnly, SameSite
Strict: another site can neither read it nor make the browser send it). The routes and rules
are shared with the CP's sign-in (``noodcore.signin``); this module is how the page looks.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from gateway.runtime import GatewayRuntime
from gateway.web.i18n import Translator
from gateway.web.render import Clock, page_language, render
from noodcore.signin import LoginView, SignIn, refusal
from schemas import utcnow


def _login_page(request: Request, view: LoginView) -> HTMLResponse:
    rt: GatewayRuntime = request.app.state.runtime
    lang = page_language(request, rt)
    now = utcnow()
    error = None
    if view.error:
        # In the page's language, times in the NSP's zone: never the verifier's English.
        why = refusal(view.error)
        at = Clock(rt.settings.timezone, now).full(why.at) if why.at else ""
        error = Translator(lang)(f"reason_{why.key}", at=at, role=why.role or "")
    return render(
        request,
        rt,
        "login.html",
        lang,
        now,
        status_code=view.status,
        error=error,
        next_url=view.next_url,
    )


SIGN_IN = SignIn(
    login_path="/staff/login",
    logout_path="/staff/logout",
    default_next="/staff",
    render=_login_page,
)


def install(app: FastAPI) -> None:
    SIGN_IN.install(app)
