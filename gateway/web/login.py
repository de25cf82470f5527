"""Staff sign-in for the gateway's pages: a PIN on a paired screen, or the long token.

Browsers cannot send an ``Authorization`` header from a plain link or form, so a page that
needs a role answers 401 with this sign-in form; what staff enter is checked like any API
token and then travels as the ``noodnet_token`` cookie (HttpOnly, SameSite Strict: another
site can neither read it nor make the browser send it). The routes and rules are shared with
the CP's sign-in (``noodcore.signin``).

On a screen paired with ``/staff/pair`` (``gateway.screens``) the form asks only for the
shift's PIN; elsewhere, or when asked (``?code=long``), for the long token machines and the
coordinator use. Every refusal is said in the page's language with times in the NSP's zone.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from gateway import screens
from gateway.runtime import GatewayRuntime
from gateway.web.i18n import Translator, UiLang
from gateway.web.render import Clock, page_language, render
from noodcore.httpguard import AuthError, public
from noodcore.signin import MAX_FORM_BYTES, LoginView, SignIn, refusal
from schemas import utcnow

SCREEN_COOKIE_MAX_AGE = 365 * 24 * 3600


def _reason(rt: GatewayRuntime, lang: UiLang, error: str) -> str:
    why = refusal(error)
    at = Clock(rt.settings.timezone, utcnow()).full(why.at) if why.at else ""
    return Translator(lang)(f"reason_{why.key}", at=at, role=why.role or "", left=why.left or 0)


def _login_page(request: Request, view: LoginView) -> HTMLResponse:
    rt: GatewayRuntime = request.app.state.runtime
    lang = page_language(request, rt)
    screen = screens.screen_of(rt.outbox.engine, request.cookies.get(screens.SCREEN_COOKIE))
    long_code = request.query_params.get("code") == "long" or screen is None
    return render(
        request,
        rt,
        "login.html",
        lang,
        utcnow(),
        status_code=view.status,
        error=_reason(rt, lang, view.error) if view.error else None,
        next_url=view.next_url,
        screen=None if long_code else screen,
        paired=screen is not None,
    )


def _pin_exchange(request: Request, pin: str) -> str:
    rt: GatewayRuntime = request.app.state.runtime
    return screens.sign_in_with_pin(
        rt.outbox.engine, request.cookies.get(screens.SCREEN_COOKIE), pin
    )


SIGN_IN = SignIn(
    login_path="/staff/login",
    logout_path="/staff/logout",
    default_next="/staff",
    render=_login_page,
    pin_exchange=_pin_exchange,
)


def _pair_page(request: Request, code: str, error: str | None, status: int = 200) -> HTMLResponse:
    rt: GatewayRuntime = request.app.state.runtime
    lang = page_language(request, rt)
    return render(
        request,
        rt,
        "staff_pair.html",
        lang,
        utcnow(),
        status_code=status,
        code=code,
        error=_reason(rt, lang, error) if error else None,
    )


async def pair_form(request: Request) -> HTMLResponse:
    # The QR code the administrator shows carries ?code=: the volunteer only confirms.
    code = screens.normalise_code(request.query_params.get("code", ""))[:8]
    return _pair_page(request, code, None)


async def pair(request: Request) -> Response:
    rt: GatewayRuntime = request.app.state.runtime
    body = (await request.body())[:MAX_FORM_BYTES]
    form = parse_qs(body.decode("utf-8", errors="replace"))
    code = (form.get("code") or [""])[0]
    try:
        secret, _name = await run_in_threadpool(screens.pair, rt.outbox.engine, code)
    except AuthError as exc:
        # Public like the sign-in form: a wrong code is an answer, not a challenge.
        return _pair_page(request, screens.normalise_code(code)[:8], exc.description)
    response = RedirectResponse(SIGN_IN.login_path, status_code=303)
    response.set_cookie(
        screens.SCREEN_COOKIE,
        secret,
        max_age=SCREEN_COOKIE_MAX_AGE,
        httponly=True,
        samesite="strict",
        path="/staff",
    )
    return response


def install(app: FastAPI) -> None:
    SIGN_IN.install(app)
    for method, endpoint in (("GET", pair_form), ("POST", pair)):
        app.add_api_route(
            screens.PAIR_PATH,
            endpoint,
            methods=[method],
            response_class=HTMLResponse,
            include_in_schema=False,
            dependencies=[public()],
        )
