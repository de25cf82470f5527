"""Sign-in for browser pages over HTTP (in-process, real app, real token store): the CP's
``/login`` and ``/logout`` and the gateway's ``/staff/login`` share ``noodcore.signin``.

The cookie is HttpOnly and SameSite=Strict; a wrong, expired, revoked or misplaced token
re-shows the form with the reason; ``next`` never leads off-site; signing out clears the
cookie; pages answer an unknown browser with the form (401), the API with JSON.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from gateway.api import create_app as create_gateway_app
from gateway.settings import GatewaySettings
from noodcore.httpguard import TOKEN_COOKIE
from noodcore.signin import safe_next
from schemas import utcnow
from tests.support import free_port, issue_staff_token
from tests.web.support import issue, running_cp, token

OFF_SITE = [
    "//evil.example/console",
    "https://evil.example/",
    "http:/evil.example",
    "/\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "javascript:alert(1)",
    "evil.example",
    "",
]


@pytest.fixture
async def cp(database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_cp(database_url, "cp-s") as app_client:
        yield app_client


def set_cookie(response: httpx.Response) -> str:
    cookies = [v for k, v in response.headers.multi_items() if k == "set-cookie"]
    found = [c for c in cookies if c.startswith(f"{TOKEN_COOKIE}=")]
    assert len(found) == 1, cookies
    return found[0]


def hidden_next(html: str) -> str:
    m = re.search(r'name="next" value="([^"]*)"', html)
    assert m, html
    return m.group(1)


# --------------------------------------------------------------------------- the rule


@pytest.mark.parametrize("value", OFF_SITE)
def test_next_never_leaves_the_host(value: str) -> None:
    assert safe_next(value, "/console") == "/console"


@pytest.mark.parametrize("value", ["/console", "/console?lang=en#item-3", "/dashboard"])
def test_next_keeps_local_paths(value: str) -> None:
    assert safe_next(value, "/x") == value


# --------------------------------------------------------------------------- CP


async def test_cp_sign_in_sets_an_httponly_strict_cookie(
    cp: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, c = cp
    form = await c.get("/login")
    assert form.status_code == 200 and "text/html" in form.headers["content-type"]
    assert hidden_next(form.text) == "/console" and 'action="/login"' in form.text
    secret = token(app, "operator", name="anna")
    r = await c.post("/login", data={"token": f"  {secret} ", "next": "/console?lang=en"})
    assert r.status_code == 303 and r.headers["location"] == "/console?lang=en"
    cookie = set_cookie(r)
    assert cookie.startswith(f"{TOKEN_COOKIE}={secret};")
    attrs = {a.strip().lower() for a in cookie.split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= attrs
    assert "max-age=43200" in attrs  # one shift
    # The browser now opens the console as anna, and the API accepts the same cookie.
    page = await c.get("/console")
    assert page.status_code == 200 and "Aangemeld als anna (operator)" in page.text
    assert (await c.get("/api/v1/auth/whoami")).json()["name"] == "anna"


async def test_cp_wrong_revoked_expired_or_misplaced_token_shows_the_form_again(
    cp: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, c = cp
    revoked, expired = issue(app, "operator"), issue(app, "operator")
    with app.state.ctx.engine.begin() as conn:
        now = utcnow().replace(tzinfo=None)
        conn.execute(
            sa.text("UPDATE api_token SET revoked_at = :t, revoked_by = 'test' WHERE id = :id"),
            {"t": now, "id": revoked.row.id},
        )
        conn.execute(
            sa.text("UPDATE api_token SET expires_at = :t WHERE id = :id"),
            {"t": now - timedelta(hours=1), "id": expired.row.id},
        )
    cases = {
        "nn_not-a-real-token": "Deze toegangscode werkt niet: de code is onbekend (typefout?)",
        "": "Deze toegangscode werkt niet: de code is onbekend",
        revoked.token: "Deze toegangscode werkt niet: de code is ingetrokken op ",
        expired.token: "Deze toegangscode werkt niet: de code is verlopen op ",
        # A gateway's token is valid, but no CP page would open with it.
        token(app, "gateway", "nsp-x"): "met de rol gateway kunt u hier niet inloggen",
        token(app, "cp"): "met de rol cp kunt u hier niet inloggen",
    }
    for secret, message in cases.items():
        r = await c.post("/login", data={"token": secret, "next": "/dashboard"})
        assert r.status_code == 200, r.text
        assert message in r.text, (secret[:9], r.text)
        assert 'role="alert"' in r.text and hidden_next(r.text) == "/dashboard"
        assert "set-cookie" not in r.headers or TOKEN_COOKIE not in r.headers["set-cookie"]
    # In English when the browser asks for it.
    r = await c.post(
        "/login", data={"token": revoked.token}, headers={"Accept-Language": "en-GB,en;q=0.9"}
    )
    assert "This access code does not work: the code was revoked on " in r.text


@pytest.mark.parametrize("target", OFF_SITE)
async def test_cp_next_cannot_point_off_site(
    cp: tuple[FastAPI, httpx.AsyncClient], target: str
) -> None:
    app, c = cp
    assert hidden_next((await c.get("/login", params={"next": target})).text) == "/console"
    r = await c.post("/login", data={"token": token(app, "viewer"), "next": target})
    assert r.status_code == 303 and r.headers["location"] == "/console"


async def test_cp_sign_out_clears_the_cookie(cp: tuple[FastAPI, httpx.AsyncClient]) -> None:
    app, c = cp
    r = await c.post("/login", data={"token": token(app, "operator")})
    assert r.status_code == 303 and c.cookies.get(TOKEN_COOKIE)
    assert (await c.get("/console")).status_code == 200
    out = await c.post("/logout")
    assert out.status_code == 200 and "U bent uitgelogd" in out.text
    cleared = set_cookie(out).lower()
    assert cleared.startswith(f'{TOKEN_COOKIE}="";') or cleared.startswith(f"{TOKEN_COOKIE}=;")
    assert "max-age=0" in cleared and "httponly" in cleared
    assert c.cookies.get(TOKEN_COOKIE) is None
    assert (await c.get("/console")).status_code == 401


@pytest.mark.parametrize("path", ["/console", "/dashboard", "/console?lang=en"])
async def test_cp_pages_answer_an_unknown_browser_with_the_sign_in_page(
    cp: tuple[FastAPI, httpx.AsyncClient], path: str
) -> None:
    _, c = cp
    r = await c.get(path)
    assert r.status_code == 401 and r.headers["content-type"].startswith("text/html")
    assert r.headers["www-authenticate"].startswith('Bearer realm="noodnet"')
    assert 'action="/login"' in r.text and 'name="token"' in r.text
    assert hidden_next(r.text) == path.replace("&", "&amp;")
    assert ("Sign in to open this page" if "lang=en" in path else "Log in om") in r.text
    # A cookie that stopped working: the form says why.
    c.cookies.set(TOKEN_COOKIE, "nn_revoked-or-unknown")
    again = await c.get(path)
    unknown = "the code is unknown" if "lang=en" in path else "de code is onbekend"
    assert again.status_code == 401 and unknown in again.text
    assert 'error="invalid_token"' in again.headers["www-authenticate"]
    c.cookies.clear()
    # The API keeps answering JSON.
    api = await c.get("/api/v1/queue")
    assert api.status_code == 401 and api.headers["content-type"] == "application/json"
    assert "authentication required" in api.json()["detail"]


async def test_cp_page_language_follows_lang_then_accept_language(
    cp: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    _, c = cp
    assert '<html lang="nl">' in (await c.get("/login")).text
    en = await c.get("/login", headers={"Accept-Language": "de-DE,en;q=0.8,nl;q=0.5"})
    assert '<html lang="en">' in en.text and "Access code" in en.text
    nl = await c.get("/login", headers={"Accept-Language": "nl-BE,nl;q=0.9,en;q=0.8"})
    assert '<html lang="nl">' in nl.text and "Toegangscode" in nl.text
    # ?lang= wins and is remembered.
    chosen = await c.get("/login?lang=en", headers={"Accept-Language": "nl"})
    assert '<html lang="en">' in chosen.text and c.cookies.get("noodnet_lang") == "en"
    assert '<html lang="en">' in (await c.get("/login", headers={"Accept-Language": "nl"})).text


# --------------------------------------------------------------------------- gateway


@pytest.fixture
async def gateway(tmp_path: Path) -> AsyncIterator[tuple[Path, httpx.AsyncClient]]:
    settings = GatewaySettings(
        nsp_id="nsp-s",
        cp_id="cp-s",
        db_path=tmp_path / "gw.db",
        mqtt_port=free_port(),  # nobody listens: the link stays down
        heartbeat_seconds=3600,
    )
    app = create_gateway_app(settings)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gw.test") as c,
    ):
        yield settings.db_path, c


async def test_gateway_staff_sign_in_works_as_before(
    gateway: tuple[Path, httpx.AsyncClient],
) -> None:
    db_path, c = gateway
    page = await c.get("/staff")
    assert page.status_code == 401 and 'action="/staff/login"' in page.text
    assert hidden_next(page.text) == "/staff"
    wrong = await c.post("/staff/login", data={"token": "nn_wrong", "next": "/staff/tasks"})
    assert wrong.status_code == 200
    assert "Deze toegangscode werkt niet: de code is onbekend (typefout?)" in wrong.text
    assert TOKEN_COOKIE not in wrong.headers.get("set-cookie", "")
    secret = issue_staff_token(db_path)
    r = await c.post("/staff/login", data={"token": secret, "next": "//evil.example"})
    assert r.status_code == 303 and r.headers["location"] == "/staff"
    attrs = {a.strip().lower() for a in set_cookie(r).split(";")[1:]}
    assert {"httponly", "samesite=strict", "path=/"} <= attrs
    assert (await c.get("/staff")).status_code == 200
    out = await c.post("/staff/logout")
    assert out.status_code == 200 and "max-age=0" in set_cookie(out).lower()
    assert (await c.get("/staff")).status_code == 401
