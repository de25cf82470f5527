"""Sign-in for browser pages, shared by the CP service and the gateway: a token entered in a
form, checked like any API token, then kept as the ``noodnet_token`` cookie.

Browsers cannot send an ``Authorization`` header from a plain link or form. So a page that
needs a role answers 401 with a sign-in form (``require_page`` raises ``LoginRequired``); the
token a person enters is checked by the app's own ``TokenVerifier`` and then travels as the
``noodnet_token`` cookie (HttpOnly: scripts cannot read it; SameSite=Strict: another site can
neither read it nor make the browser send it), which ``noodcore.httpguard`` accepts like a
bearer token on every route.

Each app supplies the paths and how its sign-in page looks (``render``); the rules are here::

    SignIn(login_path="/staff/login", logout_path="/staff/logout", default_next="/staff",
           render=my_login_page).install(app)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from noodcore.httpguard import REALM, TOKEN_COOKIE, AuthError, LoginRequired, Role, public

COOKIE_MAX_AGE = 12 * 3600  # one shift
MAX_FORM_BYTES = 4096


def safe_next(value: str | None, default: str) -> str:
    """Where to go after signing in: only a path on this host, never another site.

    Refused: absolute URLs, scheme-relative ``//host``, and what browsers turn into one
    (``/\\host``, tabs and newlines, which URL parsers drop: ``/<TAB>/host``).
    """
    if not value or not value.startswith("/") or value.startswith("//"):
        return default
    if any(c == "\\" or ord(c) < 0x20 or ord(c) == 0x7F for c in value):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return default
    return value


@dataclass(frozen=True)
class Refusal:
    """Why a sign-in was refused, as a text key (``reason_<key>``) and its values, so each app
    says it in the page's language with times in its zone (never the verifier's English)."""

    key: str  # unknown, revoked, expired, role, malformed, invalid, pin_*, pair_*, screen_*
    at: datetime | None = None
    role: str | None = None
    left: int | None = None  # PIN tries left before the screen locks


def refusal(error: str) -> Refusal:
    """The verifier's English reason (``AuthError``) → a ``Refusal`` a page can translate."""
    if error == "unknown token":
        return Refusal("unknown")
    if m := re.fullmatch(r"wrong pin; (\d+) tries left", error):
        return Refusal("pin_wrong", left=int(m.group(1)))
    if m := re.fullmatch(r"pin (locked until|expired at) (\S+)", error):
        key = "pin_locked" if m.group(1).startswith("locked") else "pin_expired"
        try:
            return Refusal(key, at=datetime.fromisoformat(m.group(2)))
        except ValueError:
            return Refusal(key)
    simple = {
        "screen not paired": "screen_unpaired",
        "no pin set": "pin_none",
        "pairing code unknown": "pair_unknown",
        "pairing code expired": "pair_expired",
        "pairing code malformed": "pair_malformed",
    }
    if error in simple:
        return Refusal(simple[error])
    if m := re.fullmatch(r"token (revoked|expired) at (\S+)", error):
        try:
            return Refusal(m.group(1), at=datetime.fromisoformat(m.group(2)))
        except ValueError:
            return Refusal(m.group(1))
    if m := re.match(r"role (\S+) cannot sign in here", error):
        return Refusal("role", role=m.group(1))
    if error.startswith("malformed"):
        return Refusal("malformed")
    return Refusal("invalid")


@dataclass(frozen=True)
class LoginView:
    """What a sign-in page shows."""

    status: int  # 200, or 401 when a page asked for a sign-in
    error: str | None  # why a token was refused (English, as the verifier says it)
    next_url: str  # where the form sends the browser after a successful sign-in
    signed_out: bool = False  # just signed out


LoginRenderer = Callable[[Request, LoginView], HTMLResponse]
PinExchange = Callable[[Request, str], str]


class SignIn:
    """The sign-in and sign-out routes of one app, and its answer to ``LoginRequired``."""

    def __init__(
        self,
        *,
        login_path: str,
        logout_path: str,
        default_next: str,
        render: LoginRenderer,
        roles: Collection[Role] | None = None,
        pin_exchange: PinExchange | None = None,
    ) -> None:
        """``roles``: when given, a valid token of another role is refused at the form (it
        would only lead to 403s on every page behind it). ``pin_exchange``: when given, a
        form with ``pin`` instead of ``token`` is turned into a token by it (the gateway's
        paired staff screens, ``gateway.screens``); it raises ``AuthError`` to refuse."""
        self.pin_exchange = pin_exchange
        self.login_path = login_path
        self.logout_path = logout_path
        self.default_next = default_next
        self.render = render
        self.roles = frozenset(roles) if roles is not None else None
        self.router = APIRouter(include_in_schema=False)
        self.router.add_api_route(
            login_path,
            self.login_form,
            methods=["GET"],
            response_class=HTMLResponse,
            dependencies=[public()],
        )
        self.router.add_api_route(
            login_path,
            self.login,
            methods=["POST"],
            response_class=HTMLResponse,
            dependencies=[public()],
        )
        self.router.add_api_route(
            logout_path,
            self.logout,
            methods=["POST"],
            response_class=HTMLResponse,
            dependencies=[public()],
        )

    def install(self, app: FastAPI) -> None:
        app.include_router(self.router)
        app.add_exception_handler(LoginRequired, self.login_required)

    # ------------------------------------------------------------------ routes

    async def login_form(self, request: Request) -> HTMLResponse:
        next_url = safe_next(request.query_params.get("next"), self.default_next)
        return self.render(request, LoginView(200, None, next_url))

    async def login(self, request: Request) -> Response:
        body = (await request.body())[:MAX_FORM_BYTES]
        form = parse_qs(body.decode("utf-8", errors="replace"))
        token = (form.get("token") or [""])[0].strip()
        pin = (form.get("pin") or [""])[0].strip()
        next_url = safe_next((form.get("next") or [""])[0], self.default_next)
        try:
            if pin and not token and self.pin_exchange is not None:
                # Slow on purpose (a salted PBKDF2 of a short PIN): off the event loop.
                token = await run_in_threadpool(self.pin_exchange, request, pin)
            identity = request.app.state.token_verifier.verify(token)
        except AuthError as exc:
            # The sign-in form itself is public: a wrong code is an answer, not a challenge.
            return self.render(request, LoginView(200, exc.description, next_url))
        if self.roles is not None and identity.role not in self.roles:
            allowed = ", ".join(sorted(r.value for r in self.roles))
            error = f"role {identity.role.value} cannot sign in here; requires role {allowed}"
            return self.render(request, LoginView(200, error, next_url))
        response = RedirectResponse(next_url, status_code=303)
        response.set_cookie(
            TOKEN_COOKIE,
            token,
            max_age=COOKIE_MAX_AGE,
            httponly=True,
            samesite="strict",
            path="/",
        )
        return response

    async def logout(self, request: Request) -> Response:
        response = self.render(request, LoginView(200, None, self.default_next, signed_out=True))
        response.delete_cookie(TOKEN_COOKIE, path="/", httponly=True, samesite="strict")
        return response

    async def login_required(self, request: Request, exc: Exception) -> Response:
        """A page needed a role and the browser brought no valid token: the sign-in form, with
        status 401 and the same challenge an API client gets."""
        headers = getattr(exc, "headers", None) or {}
        challenge = headers.get("WWW-Authenticate", f'Bearer realm="{REALM}"')
        # A token was presented and refused (expired, revoked): say why. None presented: no
        # error, just the form.
        error = getattr(exc, "detail", None) if "error=" in challenge else None
        next_url = safe_next(
            request.url.path + (f"?{request.url.query}" if request.url.query else ""),
            self.default_next,
        )
        response = self.render(request, LoginView(401, error, next_url))
        response.headers["WWW-Authenticate"] = challenge
        return response
