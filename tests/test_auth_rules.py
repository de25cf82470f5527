"""What 401 and 403 say, who the audit trail names, a gateway speaking for another NSP, the
demo's anonymous reading, body size and HTTP rate limits."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from gateway.api import create_app as create_gateway_app
from noodcore.httpguard import Role
from schemas import make_up
from service.app import create_app
from service.auth.tokens import create_token_cli
from service.settings import ServiceSettings
from tests.support import bearer, staff_headers
from tests.test_access_matrix import gateway_settings


@asynccontextmanager
async def _cp(database_url: str, **settings: Any) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    app = create_app(
        ServiceSettings(database_url=database_url, mqtt_enabled=False, cp_id="cp-a", **settings)
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://cp") as c,
    ):
        yield c, app.state.ctx.engine


@pytest.fixture
async def cp(database_url: str) -> AsyncIterator[tuple[httpx.AsyncClient, Any]]:
    async with _cp(database_url) as pair:
        yield pair


def status_msg(nsp: str, seq: int) -> dict[str, Any]:
    m = make_up("status", nsp, seq, {"state": "open", "power_source": "grid"})
    return json.loads(m.model_dump_json())


async def test_401_says_what_is_missing_and_403_says_which_role(
    cp: tuple[httpx.AsyncClient, Any],
) -> None:
    client, engine = cp
    r = await client.get("/api/v1/messages")
    assert r.status_code == 401 and "authentication required" in r.json()["detail"]
    assert r.headers["www-authenticate"] == 'Bearer realm="noodnet"'
    r = await client.get("/api/v1/messages", headers={"Authorization": "Token abc"})
    assert r.status_code == 401 and 'error="invalid_request"' in r.headers["www-authenticate"]
    r = await client.get("/api/v1/messages", headers={"Authorization": "Bearer nn_nope"})
    assert r.status_code == 401 and r.json()["detail"] == "unknown token"
    assert 'error="invalid_token"' in r.headers["www-authenticate"]

    viewer = create_token_cli(engine, name="crisisroom", role=Role.VIEWER, expires_in=timedelta(1))
    h = {"Authorization": f"Bearer {viewer.token}"}
    assert (await client.get("/api/v1/messages", headers=h)).status_code == 200
    r = await client.put("/api/v1/nsps/nsp-x", json={"name": "X"}, headers=h)
    assert r.status_code == 403
    assert r.json()["detail"] == (
        "'crisisroom' has role viewer, which may not do this; requires role admin"
    )
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE api_token SET expires_at = '2020-01-01 00:00:00' WHERE id = :id"),
            {"id": viewer.row.id},
        )
    r = await client.get("/api/v1/messages", headers=h)
    assert r.status_code == 401 and r.json()["detail"].startswith("token expired at 2020-01-01")


async def test_tokens_are_stored_hashed_revoked_at_once_and_audited_by_name(
    cp: tuple[httpx.AsyncClient, Any],
) -> None:
    client, engine = cp
    alice = create_token_cli(engine, name="alice", role=Role.ADMIN, expires_in=timedelta(1))
    h = {"Authorization": f"Bearer {alice.token}"}
    r = await client.post(
        "/api/v1/auth/tokens",
        json={"name": "bob", "role": "operator", "expires_in_days": 7},
        headers=h,
    )
    assert r.status_code == 201, r.text
    bob = r.json()
    assert bob["created_by"] == "alice" and bob["token"].startswith("nn_")
    with engine.connect() as conn:
        dump = json.dumps(
            [list(map(str, row)) for row in conn.execute(sa.text("SELECT * FROM api_token"))]
        )
    assert bob["token"] not in dump and alice.token not in dump, "secrets must not be stored"
    bob_h = {"Authorization": f"Bearer {bob['token']}"}
    who = (await client.get("/api/v1/auth/whoami", headers=bob_h)).json()
    assert who == {"name": "bob", "role": "operator", "nsp_id": None, "token_id": bob["id"]}

    r = await client.post(f"/api/v1/auth/tokens/{bob['id']}/revoke", headers=h)
    assert r.status_code == 200 and r.json()["revoked_by"] == "alice"
    r = await client.get("/api/v1/messages", headers=bob_h)
    assert r.status_code == 401 and r.json()["detail"].startswith("token revoked at")
    again = await client.post(f"/api/v1/auth/tokens/{bob['id']}/revoke", headers=h)
    assert again.status_code == 409
    assert (await client.post("/api/v1/auth/tokens/9999/revoke", headers=h)).status_code == 404
    bad = await client.post("/api/v1/auth/tokens", json={"name": "g", "role": "gateway"}, headers=h)
    assert bad.status_code == 422 and "nsp_id" in bad.text

    r = await client.put("/api/v1/nsps/nsp-q", json={"name": "Dorpshuis Q"}, headers=h)
    assert r.status_code == 200
    events = (await client.get("/api/v1/security-events", headers=h)).json()
    newest = {}
    for e in reversed(events):
        newest[e["kind"]] = e
    assert newest["nsp_registered"]["actor"] == "alice"
    assert newest["token_revoked"]["actor"] == "alice"
    assert (
        newest["token_issued"]["actor"] == "alice" and "to bob" in newest["token_issued"]["detail"]
    )


async def test_gateway_may_post_only_for_its_own_nsp(cp: tuple[httpx.AsyncClient, Any]) -> None:
    client, engine = cp
    gw = bearer(engine, "gateway", "nsp-a")
    assert (
        await client.post("/api/v1/messages", json=status_msg("nsp-a", 1), headers=gw)
    ).status_code == 201
    r = await client.post("/api/v1/messages", json=status_msg("nsp-b", 1), headers=gw)
    assert r.status_code == 403
    assert "does not match the authenticated identity 'test-gateway-nsp-a'" in r.json()["detail"]
    admin = bearer(engine, "admin")
    dead = (await client.get("/api/v1/dead-letters", headers=admin)).json()
    assert len(dead) == 1 and dead[0]["nsp_id"] == "nsp-a" and '"nsp-b"' in dead[0]["payload_text"]
    events = (
        await client.get("/api/v1/security-events", params={"kind": "nsp_mismatch"}, headers=admin)
    ).json()
    assert [e["actor"] for e in events] == ["test-gateway-nsp-a"]
    stored = (await client.get("/api/v1/messages", headers=admin)).json()
    assert [m["nsp_id"] for m in stored] == ["nsp-a"]
    # An operator is not a gateway: it cannot post messages at all.
    r = await client.post(
        "/api/v1/messages", json=status_msg("nsp-a", 2), headers=bearer(engine, "operator")
    )
    assert r.status_code == 403


async def test_anonymous_read_only_when_configured(database_url: str) -> None:
    async with _cp(database_url, auth_anonymous_read=True) as (client, _engine):
        assert (await client.get("/api/v1/messages")).status_code == 200
        assert (await client.get("/api/v1/auth/whoami")).json()["name"] == "anonymous"
        assert (await client.get("/api/v1/dead-letters")).status_code == 401
        assert (await client.put("/api/v1/nsps/nsp-x", json={"name": "X"})).status_code == 401
        assert (
            await client.post("/api/v1/messages", json=status_msg("nsp-x", 1))
        ).status_code == 401


async def test_gateway_public_board_opens_bulletins_only(tmp_path: Path) -> None:
    app = create_gateway_app(gateway_settings(tmp_path, public_board=True))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gw") as c,
    ):
        assert (await c.get("/api/v1/bulletins")).status_code == 200
        assert (await c.get("/api/v1/reports")).status_code == 401
        viewer = staff_headers(tmp_path / "gw.db", "viewer")
        assert (await c.get("/api/v1/bulletins", headers=viewer)).status_code == 200
        r = await c.post(
            "/api/v1/status", json={"state": "open", "power_source": "grid"}, headers=viewer
        )
        assert r.status_code == 403 and "nsp-staff" in r.json()["detail"]


async def test_body_size_limit_413_on_both_apps(database_url: str, tmp_path: Path) -> None:
    async with _cp(database_url, http_max_body_bytes=4096) as (client, engine):
        gw = bearer(engine, "gateway", "nsp-a")
        big = status_msg("nsp-a", 1)
        big["body"]["note"] = "x" * 10_000
        r = await client.post("/api/v1/messages", json=big, headers=gw)
        assert r.status_code == 413 and "limit is 4096 bytes" in r.json()["detail"]

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(10):
                yield b" " * 1000

        r = await client.post(
            "/api/v1/messages", content=chunks(), headers={**gw, "content-type": "application/json"}
        )
        assert r.status_code == 413
        # A normal message still goes through.
        assert (
            await client.post("/api/v1/messages", json=status_msg("nsp-a", 1), headers=gw)
        ).status_code == 201
    app = create_gateway_app(gateway_settings(tmp_path, http_max_body_bytes=2048))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gw") as c,
    ):
        h = staff_headers(tmp_path / "gw.db")
        body = {
            "kind": "status",
            "body": {"state": "open", "power_source": "grid", "note": "y" * 5000},
        }
        r = await c.post("/api/v1/reports", json=body, headers=h)
        assert r.status_code == 413 and "2048" in r.json()["detail"]


async def test_http_posts_over_the_rate_limit_get_429_with_retry_after(database_url: str) -> None:
    async with _cp(database_url, rate_limit_per_second=0.01, rate_limit_burst=3) as (
        client,
        engine,
    ):
        gw = bearer(engine, "gateway", "nsp-a")
        codes = [
            (
                await client.post("/api/v1/messages", json=status_msg("nsp-a", s), headers=gw)
            ).status_code
            for s in range(1, 6)
        ]
        assert codes == [201, 201, 201, 429, 429]
        r = await client.post("/api/v1/messages", json=status_msg("nsp-a", 9), headers=gw)
        assert int(r.headers["retry-after"]) >= 1 and "rate limit" in r.json()["detail"]
        other = bearer(engine, "gateway", "nsp-b")
        assert (
            await client.post("/api/v1/messages", json=status_msg("nsp-b", 1), headers=other)
        ).status_code == 201
