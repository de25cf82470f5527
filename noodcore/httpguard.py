"""The HTTP edge shared by the CP service and the gateway: who may call a route, and how much
they may send.

* Every route states its rule with one dependency, next to the route or on its router:
  ``dependencies=[require(Role.OPERATOR, Role.ADMIN)]`` or ``dependencies=[public()]``.
  ``rule_of(route)`` finds it again, so the access-matrix test can walk ``app.routes`` and
  fail on any route without a rule, and ``document_access`` writes it into the OpenAPI
  document (``x-noodnet-access``, the bearer scheme, 401/403 responses).
* 401 means "who are you?" (no, malformed, unknown, expired or revoked token; always with a
  ``WWW-Authenticate`` header); 403 means "you are known, but your role may not do this"
  and names the roles that may.
* A state-changing request authenticated by the sign-in cookie must come from this site's
  own pages (``check_same_origin``: a foreign ``Origin``/``Referer`` gets a 403 that says so).
* ``BodySizeLimit`` answers 413 before a large body is read into memory.

Each app puts a ``TokenVerifier`` (its own token store) on ``app.state.token_verifier`` and,
when it allows anonymous reading, an ``Identity`` on ``app.state.anonymous_identity``.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Protocol, cast
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi import routing as fastapi_routing
from fastapi.exception_handlers import http_exception_handler
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import AfterValidator, AwareDatetime
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

REALM = "noodnet"
TOKEN_PREFIX = "nn_"


class Role(StrEnum):
    """Who a credential speaks for."""

    GATEWAY = "gateway"  # an NSP gateway posting its own NSP's messages to the CP
    NSP_STAFF = "nsp-staff"  # staff at an NSP, on the gateway's local screens
    OPERATOR = "operator"  # works the queue and the bulletins of its CP
    VIEWER = "viewer"  # crisis room (CP) or info board (gateway): read and stream only
    ADMIN = "admin"  # manages NSPs and credentials
    CP = "cp"  # a coordination point forwarding summaries and P1 items to its region


@dataclass(frozen=True)
class Identity:
    """An authenticated caller. ``name`` is what audit trails record."""

    name: str
    role: Role
    token_id: int | None = None
    nsp_id: str | None = None  # the NSP a gateway or nsp-staff credential is bound to


# --------------------------------------------------------------------------- tokens


def new_token() -> str:
    """256 random bits; shown once at creation, only its hash is stored."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    # SHA-256, not a slow password hash: the token is 256 random bits, so there is nothing to
    # brute-force, and a fast hash keeps the per-request cost (and a DoS lever) negligible.
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_hint(token: str) -> str:
    """The first characters, to recognise a token in lists without revealing it."""
    return token[: len(TOKEN_PREFIX) + 6]


class AuthError(Exception):
    """A credential was presented and is not acceptable (-> 401 invalid_token)."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


class TokenVerifier(Protocol):
    def verify(self, token: str) -> Identity:
        """Return the identity of a valid token; raise AuthError otherwise."""
        ...


# --------------------------------------------------------------------------- rules


@dataclass(frozen=True)
class AccessRule:
    roles: frozenset[Role]
    public: bool = False
    page: bool = False  # a page for browsers: 401 is the sign-in form (text/html)

    def describe(self) -> str:
        if self.public:
            return "public"
        return ", ".join(sorted(r.value for r in self.roles))


# The cookie the sign-in pages of the CP and the gateway set (noodcore.signin; HttpOnly,
# SameSite=Strict): same token, same rules as the Authorization header.
TOKEN_COOKIE = "noodnet_token"

_bearer = HTTPBearer(auto_error=False, description="API token: 'Authorization: Bearer nn_...'")


def _unauthorized(description: str, error: str | None = None) -> HTTPException:
    challenge = f'Bearer realm="{REALM}"'
    if error:
        safe = description.replace('"', "'").replace("\\", "/")
        challenge += f', error="{error}", error_description="{safe}"'
    return HTTPException(401, detail=description, headers={"WWW-Authenticate": challenge})


class Requirement:
    """The dependency behind ``require``: authenticates, then checks the role."""

    def __init__(self, rule: AccessRule) -> None:
        self.rule = rule

    def __call__(
        self,
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    ) -> Identity | None:
        if self.rule.public:
            return None
        allowed = ", ".join(sorted(r.value for r in self.rule.roles))
        header = request.headers.get("authorization")
        cookie = request.cookies.get(TOKEN_COOKIE)
        if header is None and cookie:
            # Browsers on the CP's and the gateway's pages carry the token in an HttpOnly cookie.
            check_same_origin(request)
            credentials = HTTPAuthorizationCredentials(scheme="Bearer", credentials=cookie)
            header = f"Bearer {cookie}"
        if header is None:
            anonymous: Identity | None = getattr(request.app.state, "anonymous_identity", None)
            if anonymous is not None and anonymous.role in self.rule.roles:
                request.state.identity = anonymous
                return anonymous
            raise _unauthorized(
                f"authentication required: send 'Authorization: Bearer <token>' "
                f"of a credential with role {allowed}"
            )
        if credentials is None or not credentials.credentials.strip():
            raise _unauthorized(
                "malformed Authorization header: expected 'Bearer <token>'", "invalid_request"
            )
        verifier: TokenVerifier = request.app.state.token_verifier
        try:
            identity = verifier.verify(credentials.credentials.strip())
        except AuthError as exc:
            raise _unauthorized(exc.description, "invalid_token") from None
        request.state.identity = identity
        if identity.role not in self.rule.roles:
            raise HTTPException(
                403,
                detail=f"'{identity.name}' has role {identity.role.value}, which may not do "
                f"this; requires role {allowed}",
            )
        return identity


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_DEFAULT_PORTS = {"http": "80", "https": "443"}


def _origin_of(value: str) -> tuple[str, str] | None:
    """(scheme, host[:port] without the scheme's default port) of an Origin or Referer."""
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    netloc = parts.netloc.rpartition("@")[2].lower()
    return parts.scheme, netloc.removesuffix(f":{_DEFAULT_PORTS[parts.scheme]}")


def check_same_origin(request: Request) -> None:
    """Refuse a state-changing request that a browser sent from another site with the sign-in
    cookie (cross-site request forgery): 403 naming the origin.

    Only cookie-authenticated requests are checked; a request with an ``Authorization``
    header carries its credential itself and cannot be forged by a foreign page. The
    browser's ``Origin`` (else ``Referer``) must name this host, as the ``Host`` header does
    (the scheme may differ behind a TLS-terminating proxy, so host and port are compared).
    ``Origin: null`` (sandboxed frames, privacy redirects) is refused. A request with neither
    header is let through: every current browser sends ``Origin`` on a POST, so it did not
    come from a page, and a non-browser client that holds the cookie holds the token.
    """
    if request.method in SAFE_METHODS:
        return
    claimed = request.headers.get("origin")
    source = "Origin"
    if claimed is None:
        claimed = request.headers.get("referer")
        source = "Referer"
    if claimed is None:
        return
    host = request.headers.get("host", "").lower()
    origin = _origin_of(claimed)
    if origin is not None:
        _, netloc = origin
        candidates = {host, host.removesuffix(":80"), host.removesuffix(":443")}
        if netloc in candidates:
            return
    shown = claimed if len(claimed) <= 200 else claimed[:200] + "..."
    raise HTTPException(
        403,
        detail=f"cross-origin request refused: {source} {shown!r} is not this site "
        f"({host or 'no Host header'}); a page of another site may not use the sign-in "
        "cookie. API clients send 'Authorization: Bearer <token>' instead.",
    )


def require(*roles: Role) -> Any:
    """The rule of a route: callers must hold one of ``roles``. Returns a ``Depends``."""
    if not roles:
        raise ValueError("require() needs at least one role; use public() for open routes")
    return Depends(Requirement(AccessRule(frozenset(roles))))


class PageRequirement(Requirement):
    """A rule for HTML pages: instead of a JSON 401 the browser gets the sign-in page (still
    with status 401 and the same ``WWW-Authenticate``, so the access matrix sees the same
    answer as for the API; the app installs the page with ``noodcore.signin.SignIn``). A 403
    stays JSON: the sign-in form cannot help a known caller whose role does not fit."""

    def __call__(
        self,
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(_bearer),
    ) -> Identity | None:
        try:
            return super().__call__(request, credentials)
        except HTTPException as exc:
            if exc.status_code == 401:
                raise LoginRequired(exc.detail, exc.headers) from None
            raise


class LoginRequired(HTTPException):
    def __init__(self, detail: Any, headers: Mapping[str, str] | None) -> None:
        super().__init__(401, detail=detail, headers=headers)


def require_page(*roles: Role) -> Any:
    """Like ``require``, for pages a person opens in a browser."""
    if not roles:
        raise ValueError("require_page() needs at least one role")
    return Depends(PageRequirement(AccessRule(frozenset(roles), page=True)))


def public() -> Any:
    """The rule of an open route (health probes)."""
    return Depends(Requirement(AccessRule(frozenset(), public=True)))


def http_routes(app: FastAPI) -> list[Any]:
    """Every route the app serves, with its router's dependencies applied.

    Newer FastAPI keeps included routers as lazy branches in ``app.routes``;
    ``iter_route_contexts`` flattens them (older versions list APIRoutes directly).
    """
    flatten = getattr(fastapi_routing, "iter_route_contexts", None)
    return list(flatten(app.routes)) if flatten is not None else list(app.routes)


def is_api_route(route: Any) -> bool:
    return isinstance(getattr(route, "original_route", route), APIRoute)


def rule_of(route: Any) -> AccessRule | None:
    """The access rule an API route declares (on itself or its router), or None."""
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return None
    pending = list(dependant.dependencies)
    while pending:
        dep = pending.pop()
        if isinstance(dep.call, Requirement):
            return dep.call.rule
        pending.extend(dep.dependencies)
    return None


def current_identity(request: Request) -> Identity | None:
    """The identity the route's rule authenticated (None on public routes)."""
    identity: Identity | None = getattr(request.state, "identity", None)
    return identity


# Paths FastAPI serves itself: the API description, open so clients and tools can read it.
DOCUMENTATION_PATHS = frozenset({"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"})


def document_access(app: FastAPI) -> None:
    """Write every route's rule into the OpenAPI document, with the 401/403 it can answer."""
    error = {
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "properties": {"detail": {"type": "string"}},
                    "required": ["detail"],
                }
            }
        }
    }

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            summary=app.summary,
            description=app.description,
            routes=app.routes,
        )
        for route in http_routes(app):
            if not is_api_route(route):
                continue
            rule = rule_of(route)
            path = schema["paths"].get(route.path_format, {})
            for method in route.methods:
                op = path.get(method.lower())
                if op is None:
                    continue
                op["x-noodnet-access"] = (
                    {"missing": True}  # fails the access-matrix test
                    if rule is None
                    else {"public": True}
                    if rule.public
                    else {"roles": sorted(r.value for r in rule.roles)}
                )
                responses = op.setdefault("responses", {})
                if "requestBody" in op:
                    responses.setdefault("400", {"description": "Body is not valid JSON", **error})
                    responses.setdefault("413", {"description": "Body too large", **error})
                if rule is None or rule.public:
                    op.pop("security", None)
                    continue
                unauthorized = "No, malformed, unknown, expired or revoked token"
                if rule.page:
                    # A browser gets the sign-in form (noodcore.signin), still with status 401.
                    responses.setdefault(
                        "401",
                        {
                            "description": f"{unauthorized}: the sign-in page",
                            "content": {"text/html": {"schema": {"type": "string"}}},
                        },
                    )
                else:
                    responses.setdefault("401", {"description": unauthorized, **error})
                responses.setdefault(
                    "403",
                    {"description": f"Role not allowed; requires {rule.describe()}", **error},
                )
        # A 422 carries FastAPI's list of field errors, or one sentence when a handler
        # rejects a combination of valid fields: say so, so clients handle both.
        validation = schema.get("components", {}).get("schemas", {}).get("HTTPValidationError")
        if validation is not None:
            detail = validation["properties"]["detail"]
            validation["properties"]["detail"] = {
                "title": detail.get("title", "Detail"),
                "anyOf": [{k: v for k, v in detail.items() if k != "title"}, {"type": "string"}],
            }
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


# --------------------------------------------------------------------------- 405 Allow


def allow_every_method(app: FastAPI) -> None:
    """A 405 names every method the path serves in ``Allow``, not just one route's.

    Starlette answers 405 from the first route whose path matches, and that route knows only
    its own methods; a path served by several routes (GET and POST as two handlers) answered
    ``Allow: GET``. This handler collects the methods of every route matching the path.
    """
    patterns: list[tuple[Any, frozenset[str]]] = []

    def allowed(path: str) -> list[str]:
        if not patterns:
            for route in http_routes(app):
                methods = getattr(route, "methods", None)
                route_path = getattr(route, "path", None)
                if methods and route_path:
                    patterns.append((compile_path(route_path)[0], frozenset(methods)))
        found: set[str] = set()
        for regex, methods in patterns:
            if regex.match(path):
                found |= methods
        return sorted(found)

    async def method_not_allowed(request: Request, exc: Exception) -> Response:
        methods = allowed(request.url.path)
        if not methods:  # not ours to explain: keep what was raised
            return await http_exception_handler(request, cast(StarletteHTTPException, exc))
        body = {
            "detail": f"method {request.method} is not allowed on this path; "
            f"allowed: {', '.join(methods)}"
        }
        return JSONResponse(body, status_code=405, headers={"Allow": ", ".join(methods)})

    app.add_exception_handler(405, method_not_allowed)


# --------------------------------------------------------------------------- body size


class BodySizeLimit:
    """Pure ASGI middleware: 413 for request bodies over ``max_bytes``.

    A declared Content-Length is checked before anything is read; a chunked body is counted
    as it streams and cut off at the limit, so neither can fill the memory of a Pi.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, by_path: dict[str, int] | None = None) -> None:
        self.app = app
        self.max_bytes = max_bytes
        # Exact paths with their own limit (e.g. a USB-stick file upload).
        self.by_path = by_path or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.by_path.get(scope.get("path", ""), self.max_bytes)
        declared = _content_length(scope["headers"])
        if declared is not None and declared > limit:
            await self._reject(send, declared, limit)
            return
        seen = 0
        started = False
        rejected = False

        async def counting_receive() -> Message:
            nonlocal seen, rejected
            if rejected:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Answer now and tell the app the client is gone: frameworks turn an
                    # exception while reading the body into their own 400.
                    rejected = True
                    if not started:
                        await self._reject(send, seen, limit)
                    return {"type": "http.disconnect"}
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if rejected:
                return  # the 413 has been sent; drop whatever the app answers
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except Exception:
            if not rejected:
                raise

    async def _reject(self, send: Send, size: int, limit: int) -> None:
        await send_refusal(
            send, 413, f"request body too large: {size} bytes or more, limit is {limit} bytes"
        )


async def send_refusal(send: Send, status: int, detail: str) -> None:
    """The one way an ASGI middleware here refuses a request before the app has it (413 for a
    large body, ``httpserve``'s 408 for a slow one): ``{"detail": ...}`` as JSON, and the
    connection closed, since the rest of the body is not read."""
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _content_length(headers: Iterable[tuple[bytes, bytes]]) -> int | None:
    for name, value in headers:
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


# --------------------------------------------------------------------------- parameters

# Bounds of integer path and query parameters: no list is paged past a billion rows, and an
# id fits the column it is looked up in. Row ids are INTEGER columns, which on PostgreSQL (the
# production database) end at 2^31 - 1: a larger id in a query is "integer out of range"
# there (a 500), where SQLite, with 64-bit integers, simply finds no row. Every int parameter
# states one (tests/test_http_edges.py walks every route; the schemathesis run on PostgreSQL
# sends the largest).
MAX_ID = 2**31 - 1
MAX_OFFSET = 1_000_000_000


def _utc_representable(value: datetime) -> datetime:
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError(
            "timestamp out of range: in UTC it must lie between 0001-01-01 and 9999-12-31"
        ) from None
    return value


# A timestamp parameter with its offset (``2026-01-01T12:00:00+01:00``) that can be compared
# with stored UTC times: 0001-01-01T00:00:00+14:00 would be before year 1 in UTC.
Timestamp = Annotated[AwareDatetime, AfterValidator(_utc_representable)]


def unprocessable(loc: tuple[str | int, ...], msg: str, value: Any = None) -> Exception:
    """A 422 in FastAPI's documented shape (``detail`` is a list naming the field), so the
    OpenAPI document tells the truth about every 422."""
    from fastapi.exceptions import RequestValidationError

    return RequestValidationError([{"type": "value_error", "loc": loc, "msg": msg, "input": value}])


def expired(expires_at: datetime | None, now: datetime) -> bool:
    return expires_at is not None and expires_at <= now
