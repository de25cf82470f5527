"""The HTTP edges of the CP and the gateway (issue 10, part B): no request, however hostile,
changes state it should not or stops the server from serving others.

* a state-changing request with the sign-in cookie from a foreign page is refused (403) and
  changes nothing; the same page on this site works; a bearer token needs no Origin;
* integers beyond 64 bits and out-of-range timestamps in any path or query parameter are a
  422 naming the field, not a 500 (every route is walked);
* a 405 lists every method the path serves in ``Allow`` (every route is walked);
* a huge or malformed ``Last-Event-ID`` is a 400 before the stream starts.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from noodnet.httpguard import TOKEN_COOKIE
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
