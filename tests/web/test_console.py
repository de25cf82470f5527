"""The operator console over HTTP (in-process, real app): who gets which console, what a
viewer may not do, what the page tells its script, and that nothing comes from another host.
The browser side (the script itself) is in test_console_browser.py."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

from noodcore.httpguard import TOKEN_COOKIE
from service.web import console
from tests.upstream.support import help_request
from tests.web.support import running_cp, token


@pytest.fixture
async def cp(database_url: str) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    async with running_cp(database_url, "cp-c") as app_client:
        yield app_client


def config_of(html: str) -> dict[str, object]:
    m = re.search(r'<script type="application/json" id="console-config">(.*?)</script>', html)
    assert m, html
    config: dict[str, object] = json.loads(m.group(1))
    return config


async def p1_item(app: FastAPI, c: httpx.AsyncClient) -> int:
    """A P1 help request, posted as its NSP's gateway would, and the queue item it became."""
    gw = {"Authorization": f"Bearer {token(app, 'gateway', 'nsp-c')}"}
    r = await c.post("/api/v1/messages", json=help_request("nsp-c", 1), headers=gw)
    assert r.status_code == 201, r.text
    op = {"Authorization": f"Bearer {token(app, 'operator')}"}
    queue = (await c.get("/api/v1/queue", headers=op)).json()
    assert queue[0]["item"]["top_class"] == "P1"
    return int(queue[0]["item"]["id"])


async def test_a_viewer_sees_the_console_read_only_and_may_not_act(
    cp: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, c = cp
    item = await p1_item(app, c)
    c.cookies.set(TOKEN_COOKIE, token(app, "viewer", name="crisisruimte"))
    page = await c.get("/console")
    assert page.status_code == 200
    assert "Aangemeld als crisisruimte (viewer)" in page.text
    assert 'id="readonly"' in page.text and "Alleen lezen: uw rol (viewer)" in page.text
    config = config_of(page.text)
    assert config["can_act"] is False
    assert "operator-code" in str(config["readonly_reason"])
    # What the console reads, a viewer may read too ...
    assert (await c.get("/api/v1/queue")).status_code == 200
    assert (await c.get(f"/api/v1/items/{item}")).status_code == 200
    assert (await c.get(f"/api/v1/items/{item}/audit")).status_code == 200
    # ... but every action the console offers operators is refused, naming who may.
    for path, body in [
        (f"/api/v1/items/{item}/state", {"state": "acknowledged", "note": "gezien"}),
        (f"/api/v1/incidents/{item}/merge", {"into": item + 1, "note": "x"}),
        (f"/api/v1/incidents/{item}/split", {"message_ids": ["0" * 26], "note": "x"}),
        (f"/api/v1/incidents/{item}/keep-separate", {"note": "x"}),
    ]:
        r = await c.post(path, json=body)
        assert r.status_code == 403, (path, r.text)
        assert r.json()["detail"] == (
            "'crisisruimte' has role viewer, which may not do this; requires role admin, operator"
        )
    audit = (await c.get(f"/api/v1/items/{item}/audit")).json()
    assert [a["action"] for a in audit if a["action"] == "state"] == []


async def test_an_operator_acts_with_the_sign_in_cookie_and_is_named_in_the_audit(
    cp: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, c = cp
    item = await p1_item(app, c)
    c.cookies.set(TOKEN_COOKIE, token(app, "operator", name="anna"))
    page = await c.get("/console")
    assert page.status_code == 200 and 'id="readonly"' not in page.text
    config = config_of(page.text)
    assert config["can_act"] is True and config["readonly_reason"] is None
    assert config["lang"] == "nl"
    assert config["state_actions"]["acknowledged"] == "Bevestigen"  # type: ignore[index]
    detail = (await c.get(f"/api/v1/items/{item}")).json()
    assert detail["allowed_states"] == [
        "acknowledged",
        "dispatched",
        "in_progress",
        "closed_duplicate",
        "closed_not_needed",
    ]
    r = await c.post(
        f"/api/v1/items/{item}/state", json={"state": "acknowledged", "note": "ambulance gebeld"}
    )
    assert r.status_code == 200 and r.json()["state"] == "acknowledged"
    assert "acknowledged" not in r.json()["allowed_states"]
    audit = (await c.get(f"/api/v1/items/{item}/audit")).json()
    assert (audit[-1]["actor"], audit[-1]["note"]) == ("anna", "ambulance gebeld")
    # What the console shows for an illegal step: 409 naming the allowed states.
    unknown = await c.post(f"/api/v1/items/{item}/state", json={"state": "gone", "note": "x"})
    assert unknown.status_code == 422
    r = await c.post(f"/api/v1/items/{item}/state", json={"state": "resolved", "note": "klaar"})
    assert r.status_code == 200 and r.json()["allowed_states"] == ["acknowledged"]
    again = await c.post(f"/api/v1/items/{item}/state", json={"state": "resolved", "note": "x"})
    assert again.status_code == 409 and "(allowed: acknowledged)" in again.json()["detail"]


async def test_anonymous_reading_gives_a_read_only_console_with_a_way_to_sign_in(
    database_url: str,
) -> None:
    async with running_cp(database_url, "cp-c", auth_anonymous_read=True) as (_app, c):
        page = await c.get("/console?lang=en")
        assert page.status_code == 200
        assert "Not signed in" in page.text and 'href="/login?next=/console"' in page.text
        assert "Read only: you are not signed in" in page.text
        assert config_of(page.text)["can_act"] is False
        r = await c.post("/api/v1/items/1/state", json={"state": "acknowledged", "note": "x"})
        assert r.status_code == 401  # writes always need a token


async def test_pages_refer_only_to_this_host_and_forbid_framing(
    cp: tuple[FastAPI, httpx.AsyncClient],
) -> None:
    app, c = cp
    c.cookies.set(TOKEN_COOKIE, token(app, "operator"))
    pages = [await c.get("/console"), await c.get("/login"), await c.post("/logout")]
    for r in pages:
        assert r.status_code == 200, r.text
        csp = r.headers["content-security-policy"]
        assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert r.headers["cache-control"] == "no-store"
        for ref in re.findall(r"""(?:src|href|action)\s*=\s*["']([^"']+)""", r.text):
            assert ref.startswith(("/", "#")) and not ref.startswith("//"), ref
    for name, media_type in console.ASSETS.items():
        asset = await c.get(f"/console/static/{name}")
        assert asset.status_code == 200 and asset.headers["content-type"] == media_type
        code = re.sub(r"/\*.*?\*/|^\s*//.*$", "", asset.text, flags=re.S | re.M)
        assert not re.search(r"https?://|wss?://|//[a-z0-9.-]+\.[a-z]{2,}/", code), name
        assert "innerHTML" not in code, "report texts come from the public: textContent only"
    assert (await c.get("/console/static/secret.py")).status_code == 404
