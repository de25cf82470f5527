"""Sign-in for the CP's pages (operator console, dashboard): ``GET/POST /login``,
``POST /logout``.

The same mechanism as the gateway's staff sign-in (``noodcore.signin``): the token is checked
like an API token and kept as the HttpOnly, SameSite=Strict ``noodnet_token`` cookie, which
every CP route accepts like a bearer token. Only roles that may open a CP page (operator,
viewer, admin) can sign in here: a gateway's or a region link's token is refused at the form.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from noodcore.pagelang import DEFAULT_TIMEZONE
from noodcore.signin import LoginView, SignIn
from service.auth.roles import READERS
from service.web.render import page_language, render
from service.web.texts import texts


def _zone(request: Request) -> str:
    ctx = getattr(request.app.state, "ctx", None)
    return ctx.settings.timezone if ctx is not None else DEFAULT_TIMEZONE


def _login_page(request: Request, view: LoginView) -> HTMLResponse:
    lang = page_language(request)
    t = texts(lang)
    return render(
        request,
        "login.html",
        lang,
        status_code=view.status,
        error=t.login_reason(view.error, _zone(request)) if view.error else None,
        required=view.status == 401,
        signed_out=view.signed_out,
        next_url=view.next_url,
    )


SIGN_IN = SignIn(
    login_path="/login",
    logout_path="/logout",
    default_next="/console",
    render=_login_page,
    roles=READERS,
)


def install(app: FastAPI) -> None:
    SIGN_IN.install(app)
