"""The HTTP edges of the CP and the gateway (issue 10, part B): no request, however hostile,
changes state it should not or stops the server from serving others.

* a state-changing request with the sign-in cookie from a foreign page is refused (403) and
  changes nothing; the same page on this site works; a bearer token needs no Origin;
* integers beyond 64 bits (beyond PostgreSQL's INTEGER for row ids) and out-of-range
  timestamps in any path or query parameter are a 422 naming the field, not a 500 (every
  route is walked);
* a 405 lists every method the path serves in ``Allow`` (every route is walked);
* a huge or malformed ``Last-Event-ID`` is a 400 before the stream starts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any, get_args

import httpx
import pytest
from fastapi import FastAPI
from fastapi.dependencies.utils import get_flat_params
from starlette.routing import compile_path

from gateway.api import create_app as create_gateway_app
from noodcore.httpguard import TOKEN_COOKIE, Role, http_routes, is_api_route, rule_of
from tests.test_access_matrix import _insert_staff_token, gateway_settings
from tests.web.support import issue, running_cp, token


@pytest.fixture
async def cp(database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_cp(database_url, "cp-edge") as app_client:
        yield app_client


# --------------------------------------------------------------------------- Origin


async def _token_state(c: httpx.AsyncClient, admin: str, token_id: int) -> str | None:
    r = await c.get("/api/v1/auth/tokens", headers={"Authorization": f"Bearer {admin}"})
    assert r.status_code == 200, r.text
    (row,) = [t for t in r.json() if t["id"] == token_id]
    revoked: str | None = row["revoked_at"]
    return revoked


async def test_a_foreign_page_cannot_use_the_sign_in_cookie_to_change_anything(
    cp: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, c = cp
    admin = token(app, "admin", name="beheer")
    victim = issue(app, "viewer", name="crisisruimte")
    c.cookies.set(TOKEN_COOKIE, admin)
    url = f"/api/v1/auth/tokens/{victim.row.id}/revoke"
    # What a form or fetch() on another site sends: text/plain, no preflight, with the cookie.
    forged = [
        {"Origin": "http://evil.example"},
        {"Origin": "http://cp.test.evil.example"},
        {"Origin": "http://cp.test:8443"},  # another port is another origin
        {"Origin": "null"},
        {"Referer": "http://evil.example/page.html"},
        {"Origin": "not a url at all"},
    ]
    for headers in forged:
        r = await c.post(url, content="x", headers={"Content-Type": "text/plain", **headers})
        assert r.status_code == 403, (headers, r.text)
        assert r.json()["detail"].startswith("cross-origin request refused:"), r.text
        assert await _token_state(c, admin, int(victim.row.id or 0)) is None, headers
    # Reading is not affected (a GET changes nothing; the pages load their data with it).
    assert (await c.get("/api/v1/auth/tokens", headers={"Origin": "http://x.example"})).is_success
    # The same action from this site's own page works (also behind a proxy speaking https).
    other = issue(app, "viewer", name="tweede")
    ok = await c.post(url, headers={"Origin": "http://cp.test"})
    assert ok.status_code == 200, ok.text
    assert await _token_state(c, admin, victim.row.id) is not None
    ok = await c.post(
        f"/api/v1/auth/tokens/{other.row.id}/revoke", headers={"Referer": "https://cp.test/console"}
    )
    assert ok.status_code == 200, ok.text


async def test_a_bearer_token_needs_no_origin(cp: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, c = cp
    admin = token(app, "admin")
    victim = issue(app, "viewer")
    r = await c.post(
        f"/api/v1/auth/tokens/{victim.row.id}/revoke",
        headers={"Authorization": f"Bearer {admin}", "Origin": "http://elsewhere.example"},
    )
    assert r.status_code == 200, r.text


# --------------------------------------------------------------------------- route walks

HUGE = "99999999999999999999"  # 20 digits: beyond any 64-bit integer
# One past PostgreSQL's INTEGER, the type of every row id: "integer out of range" (a 500) on
# PostgreSQL, where SQLite found no row. Every int parameter of the CP refuses it.
PAST_INT4 = str(2**31)
EARLY = "0001-01-01T00:00:00+14:00"  # before year 1 in UTC
PROBED_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")


def _fill(path: str, values: dict[str, str]) -> str:
    """The path with each ``{param}`` replaced (by ``values[param]`` or "1")."""
    out, _, rest = path.partition("{")
    while rest:
        name, _, rest = rest.partition("}")
        out += values.get(name.partition(":")[0], "1")
        more, _, rest = rest.partition("{")
        out += more
    return out


def _bounded_params(app: FastAPI, int4_ids: bool) -> list[tuple[Any, str, str, str, str]]:
    """(route, method, location, name) of every int and timestamp path/query parameter,
    with each value that used to cause a 500 (``int4_ids``: the app may run on PostgreSQL,
    so ids past its INTEGER too; the gateway's database is always SQLite)."""
    out = []
    for route in http_routes(app):
        if not is_api_route(route):
            continue
        in_path = {p.name for p in _path_params(route)}
        for p in get_flat_params(route.dependant):
            if p.name in {h.name for h in _header_params(route)}:
                continue
            types = set(get_args(p.field_info.annotation)) or {p.field_info.annotation}
            if int in types:
                values = [HUGE]
                if int4_ids:
                    values.append(PAST_INT4)
            elif any("datetime" in str(t).lower() for t in types):
                values = [EARLY]
            else:
                continue
            where = "path" if p.name in in_path else "query"
            for method in sorted(route.methods - {"HEAD"}):
                out.extend((route, method, where, p.name, value) for value in values)
    return out


def _header_params(route: Any) -> list[Any]:
    pending, found = [route.dependant], []
    while pending:
        d = pending.pop()
        found.extend(d.header_params)
        pending.extend(d.dependencies)
    return found


def _path_params(route: Any) -> list[Any]:
    pending, found = [route.dependant], []
    while pending:
        d = pending.pop()
        found.extend(d.path_params)
        pending.extend(d.dependencies)
    return found


async def _walk_bounds(
    app: FastAPI, c: httpx.AsyncClient, creds: dict[Role, str], int4_ids: bool
) -> int:
    failures, checked = [], 0
    for route, method, where, name, value in _bounded_params(app, int4_ids):
        rule = rule_of(route)
        assert rule is not None
        role = None if rule.public else sorted(rule.roles)[0]
        headers = {"Authorization": f"Bearer {creds[role]}"} if role else {}
        if where == "path":
            url, params = _fill(route.path_format, {name: value}), {}
        else:
            url, params = _fill(route.path_format, {}), {name: value}
        try:
            # A value the route takes can start the live stream, which never ends.
            r = await asyncio.wait_for(
                c.request(method, url, params=params, headers=headers, json={}), 20
            )
        except TimeoutError:
            failures.append(f"{method} {url} {params}: taken (no answer within 20 s)")
            continue
        checked += 1
        locs = [tuple(e["loc"]) for e in r.json()["detail"]] if r.status_code == 422 else []
        if (where, name) not in locs:
            failures.append(f"{method} {url} {params}: {r.status_code} {r.text[:300]}")
    assert not failures, "\n".join(failures)
    return checked


async def test_every_integer_and_timestamp_parameter_of_the_cp_is_bounded(
    cp: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, c = cp
    creds = {
        role: token(app, role.value, "nsp-e" if role in (Role.GATEWAY, Role.NSP_STAFF) else None)
        for role in Role
    }
    checked = await _walk_bounds(app, c, creds, int4_ids=True)
    # Those named in the issue are among them.
    walked = {(r.path_format, name) for r, _m, _w, name, _v in _bounded_params(app, True)}
    assert {
        ("/api/v1/upstream/outbox", "offset"),
        ("/api/v1/upstream/outbox/{item_id}", "item_id"),
        ("/api/v1/upstream/summaries", "offset"),
        ("/api/v1/events", "after"),
        ("/api/v1/stream", "after"),
        ("/api/v1/messages", "since"),
    } <= walked
    assert checked >= 30


async def test_an_nsp_name_with_a_control_character_is_a_422(
    cp: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    # PostgreSQL refuses a NUL in text: it was a 500 there (found by schemathesis).
    app, c = cp
    headers = {"Authorization": f"Bearer {token(app, Role.ADMIN.value, None)}"}
    for body in ({"name": "Bieb\u0000Oss"}, {"name": "Bieb", "address": "Kerkstraat 1\u0000"}):
        r = await c.put("/api/v1/nsps/nsp-nul", json=body, headers=headers)
        assert r.status_code == 422 and "pattern" in r.text, r.text


@pytest.mark.parametrize("seq", ["99999999999999999999", "\u00b2", "-1"])
async def test_a_summary_number_that_cannot_be_one_is_a_422(
    cp: tuple[FastAPI, httpx.AsyncClient], seq: str
) -> None:
    # A text parameter, so the walk above does not reach it: too long for BIGINT (a 500 on
    # both databases), or a digit only to str.isdigit ("²": int() refused it, a 500).
    app, c = cp
    headers = {"Authorization": f"Bearer {token(app, Role.VIEWER.value, None)}"}
    r = await c.get(f"/api/v1/upstream/summaries/{seq}", headers=headers)
    assert r.status_code == 422 and "seq must be" in r.text, r.text


async def test_every_integer_parameter_of_the_gateway_is_bounded(tmp_path: Path) -> None:
    app = create_gateway_app(gateway_settings(tmp_path))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gw") as c,
    ):
        engine = app.state.runtime.outbox.engine
        creds = {
            role: _insert_staff_token(engine, role.value, timedelta(days=1))[1] for role in Role
        }
        assert await _walk_bounds(app, c, creds, int4_ids=False) >= 2
        await _walk_allow(app, c)


async def _walk_allow(app: FastAPI, c: httpx.AsyncClient) -> int:
    served: dict[str, set[str]] = {}
    for route in http_routes(app):
        # route.path keeps convertors ({item_id:int}), as the router matches them.
        methods, path = getattr(route, "methods", None), getattr(route, "path", None)
        if methods and path:
            served.setdefault(path, set()).update(methods)
    failures, checked = [], 0
    for path in served:
        url = _fill(path, {})
        # Every path pattern the URL matches serves it (/bulletins/cap also matches
        # /bulletins/{bulletin_id}).
        methods = set().union(
            *(m for p, m in served.items() if compile_path(p)[0].match(url) is not None)
        )
        for method in PROBED_METHODS:
            if method in methods:
                continue
            r = await c.request(method, url)
            checked += 1
            if r.status_code != 405 or set(r.headers["allow"].split(", ")) != methods:
                failures.append(
                    f"{method} {url}: {r.status_code} Allow {r.headers.get('allow')}"
                    f", serves {sorted(methods)}"
                )
    assert not failures, "\n".join(failures)
    return checked


async def test_a_405_lists_every_method_of_the_path(cp: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, c = cp
    assert await _walk_allow(app, c) > 50
    r = await c.put("/api/v1/bulletins")
    assert r.headers["allow"] == "GET, POST"  # was "GET": two routes, one path


# --------------------------------------------------------------------------- Last-Event-ID


async def test_a_bad_last_event_id_is_refused_before_the_stream_starts(
    cp: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, c = cp
    viewer = {"Authorization": f"Bearer {token(app, 'viewer')}"}
    # b"\xb2" arrives as "²" (latin-1), which str.isdigit() accepts and int() does not.
    for bad in (HUGE, "-1", "1e3", b"\xb2", "12 13", "4611686018427387905"):
        r = await c.get("/api/v1/stream", headers={**viewer, "Last-Event-ID": bad})
        assert r.status_code == 422, (bad, r.text)
        (error,) = r.json()["detail"]
        assert error["loc"] == ["header", "Last-Event-ID"] and "event id from 0 to" in error["msg"]
