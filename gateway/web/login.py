"""Staff sign-in for the gateway's pages: the staff token, kept in an HttpOnly cookie.

Browsers cannot send an ``Authorization`` header from a plain link or form, so a page that
needs a role answers 401 with this sign-in form; the token a staff member enters is checked
like any API token and then travels as the ``noodnet_token`` cookie (HttpOnly, SameSite
Strict: another site can neither read it nor make the browser send it).
"""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from gateway.runtime import GatewayRuntime
from gateway.web.render import page_language, render
from noodnet.httpguard import TOKEN_COOKIE, AuthError, LoginRequired, public
from schemas import utcnow

router = APIRouter(include_in_schema=False)
COOKIE_MAX_AGE = 12 * 3600  # one shift


def _safe_next(value: str | None) -> str:
    # Only paths on this gateway: never redirect a signed-in browser to another site.
    if value and value.startswith("/") and not value.startswith("//"):
        return value
    return "/staff"


def _login_page(
    request: Request,
    status: int,
    error: str | None,
    next_url: str,
    challenge: str = 'Bearer realm="noodnet"',
) -> HTMLResponse:
    rt: GatewayRuntime = request.app.state.runtime
    response = render(
        request,
        rt,
        "login.html",
        page_language(request, rt),
        utcnow(),
        status_code=status,
        error=error,
        next_url=next_url,
    )
    if status == 401:
        response.headers["WWW-Authenticate"] = challenge
    return response


@router.get("/staff/login", response_class=HTMLResponse, dependencies=[public()])
async def login_form(request: Request) -> HTMLResponse:
    return _login_page(request, 200, None, _safe_next(request.query_params.get("next")))


@router.post("/staff/login", response_class=HTMLResponse, dependencies=[public()])
async def login(request: Request) -> Response:
    form = parse_qs((await request.body())[:4096].decode("utf-8", errors="replace"))
    token = (form.get("token") or [""])[0].strip()
    next_url = _safe_next((form.get("next") or [""])[0])
    try:
        request.app.state.token_verifier.verify(token)
    except AuthError as exc:
        # The sign-in form itself is public: a wrong code is an answer, not a challenge.
        return _login_page(request, 200, exc.description, next_url)
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        TOKEN_COOKIE, token, max_age=COOKIE_MAX_AGE, httponly=True, samesite="strict", path="/"
    )
    return response


@router.post("/staff/logout", response_class=HTMLResponse, dependencies=[public()])
async def logout(request: Request) -> Response:
    response = _login_page(request, 200, None, "/staff")
    response.delete_cookie(TOKEN_COOKIE, path="/")
    return response


async def _login_required(request: Request, exc: Exception) -> Response:
    headers = getattr(exc, "headers", None) or {}
    challenge = headers.get("WWW-Authenticate", 'Bearer realm="noodnet"')
    return _login_page(request, 401, None, request.url.path, challenge)


def install(app: FastAPI) -> None:
    app.include_router(router)
    app.add_exception_handler(LoginRequired, _login_required)
