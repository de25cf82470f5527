"""Must show 2: every HTTP endpoint x every role (and no, bad, expired, revoked credentials)
gets the expected 2xx / 401 / 403, on the CP service and on the gateway.

The matrix is generated from the apps' routes: a route without an access rule fails
``test_every_route_states_its_rule``; a route without an example request below is still
checked for 401/403 and, for allowed roles, for "no 401/403/5xx". Examples make allowed roles
prove a 2xx.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from gateway import auth as gw_auth
from gateway.api import create_app as create_gateway_app
from gateway.settings import GatewaySettings
from noodcore.httpguard import (
    DOCUMENTATION_PATHS,
    AccessRule,
    Role,
    hash_token,
    http_routes,
    is_api_route,
    new_token,
    rule_of,
    token_hint,
)
from schemas import make_up, utcnow
from service.app import create_app as create_cp_app
from service.auth.tokens import create_token_cli
from service.settings import ServiceSettings
from tests.support import free_port

NSP = "nsp-m"


@dataclass
class Request:
    method: str
    path: str
    json: Any = None


Example = Callable[["Harness"], Request]


@dataclass
class Harness:
    app: FastAPI
    client: httpx.AsyncClient
    creds: dict[str, dict[str, str]]  # credential label -> headers
    examples: dict[tuple[str, str], Example]
    state: dict[str, Any]

    async def call(self, req: Request, headers: dict[str, str]) -> httpx.Response:
        return await self.client.request(req.method, req.path, json=req.json, headers=headers)


BAD_CREDENTIALS = ("none", "malformed", "unknown", "expired", "revoked")

# Routes that never finish in-process (an SSE stream): probe them with a parameter the
# handler rejects (422) once the access rule has let the caller through.
NO_BODY_PROBES = {("GET", "/api/v1/stream"): "/api/v1/stream?after=-1"}


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _fill_path(path: str) -> str:
    # A route without an example: any value in every path parameter.
    out, _, rest = path.partition("{")
    while rest:
        _, _, rest = rest.partition("}")
        out += "1"
        more, _, rest = rest.partition("{")
        out += more
    return out


def routes_with_rules(app: FastAPI) -> list[tuple[str, str, AccessRule | None]]:
    out = []
    for route in http_routes(app):
        if not is_api_route(route):
            continue
        for method in sorted(route.methods - {"HEAD"}):
            out.append((method, route.path_format, rule_of(route)))
    return out


async def check_matrix(h: Harness) -> int:
    """Run every (route, credential) cell; returns how many cells were checked."""
    cells = 0
    failures: list[str] = []
    for method, path, rule in routes_with_rules(h.app):
        assert rule is not None, f"{method} {path} has no access rule"
        example = h.examples.get((method, path))
        for label, headers in h.creds.items():
            probe = NO_BODY_PROBES.get((method, path), _fill_path(path))
            req = example(h) if example else Request(method, probe, {})
            r = await h.call(req, headers)
            cells += 1
            where = f"{method} {path} as {label}: {r.status_code} {r.text[:200]}"
            if rule.public:
                ok = 200 <= r.status_code < 300
            elif label in BAD_CREDENTIALS:
                ok = r.status_code == 401 and r.headers.get("www-authenticate", "").startswith(
                    'Bearer realm="noodnet"'
                )
                if label != "none":
                    ok = ok and "error=" in r.headers["www-authenticate"]
            elif Role(label) in rule.roles:
                ok = (
                    200 <= r.status_code < 300
                    if example
                    else r.status_code not in (401, 403) and r.status_code < 500
                )
            else:
                ok = r.status_code == 403 and all(
                    role.value in r.json()["detail"] for role in rule.roles
                )
            if not ok:
                failures.append(where)
    assert not failures, "\n".join(failures)
    return cells


# --------------------------------------------------------------------------- CP service


def cp_examples() -> dict[tuple[str, str], Example]:
    seq = itertools.count(100)

    def message(h: Harness) -> Request:
        msg = make_up("status", NSP, next(seq), {"state": "open", "power_source": "grid"})
        return Request("POST", "/api/v1/messages", json.loads(msg.model_dump_json()))

    def revoke_fresh(h: Harness) -> Request:
        issued = create_token_cli(
            h.state["engine"], name="victim", role=Role.VIEWER, expires_in=timedelta(days=1)
        )
        return Request("POST", f"/api/v1/auth/tokens/{issued.row.id}/revoke")

    get = lambda path: lambda h: Request("GET", path.format(**h.state))  # noqa: E731
    return {
        ("GET", "/healthz"): get("/healthz"),
        ("GET", "/readyz"): get("/readyz"),
        ("POST", "/api/v1/messages"): message,
        ("GET", "/api/v1/messages"): get("/api/v1/messages"),
        ("GET", "/api/v1/messages/{message_id}"): get("/api/v1/messages/{message_id}"),
        ("GET", "/api/v1/nsps"): get("/api/v1/nsps"),
        ("GET", "/api/v1/nsps/{nsp_id}"): get("/api/v1/nsps/" + NSP),
        ("PUT", "/api/v1/nsps/{nsp_id}"): lambda h: Request(
            "PUT", f"/api/v1/nsps/{NSP}", {"name": "Matrix NSP"}
        ),
        ("GET", "/api/v1/dead-letters"): get("/api/v1/dead-letters"),
        ("GET", "/api/v1/dead-letters/{dead_letter_id}"): get(
            "/api/v1/dead-letters/{dead_letter_id}"
        ),
        ("POST", "/api/v1/dead-letters/{dead_letter_id}/reprocess"): lambda h: Request(
            "POST", "/api/v1/dead-letters/{dead_letter_id}/reprocess".format(**h.state)
        ),
        ("POST", "/api/v1/auth/tokens"): lambda h: Request(
            "POST", "/api/v1/auth/tokens", {"name": "new", "role": "viewer"}
        ),
        ("GET", "/api/v1/auth/tokens"): get("/api/v1/auth/tokens"),
        ("POST", "/api/v1/auth/tokens/{token_id}/revoke"): revoke_fresh,
        ("POST", "/api/v1/auth/nsps/{nsp_id}/revoke"): lambda h: Request(
            "POST", "/api/v1/auth/nsps/nsp-unused/revoke"
        ),
        ("GET", "/api/v1/auth/whoami"): get("/api/v1/auth/whoami"),
        ("GET", "/api/v1/security-events"): get("/api/v1/security-events"),
        # Pages and their sign-in (a page's 401 is the sign-in form, with the same challenge).
        ("GET", "/dashboard"): get("/dashboard"),
        ("GET", "/console"): get("/console"),
        ("GET", "/console/static/{name}"): get("/console/static/console.js"),
        # The information desk and the dashboard's base map (issue 12).
        ("GET", "/console/desk"): get("/console/desk"),
        ("GET", "/api/v1/basemap"): get("/api/v1/basemap"),
        ("GET", "/dashboard/static/leaflet/{name}"): get("/dashboard/static/leaflet/leaflet.js"),
        ("GET", "/login"): get("/login?next=/console"),
        ("POST", "/login"): lambda h: Request("POST", "/login"),
        ("POST", "/logout"): lambda h: Request("POST", "/logout"),
        # Operations (service/ops): Prometheus metrics, after-action report.
        ("GET", "/metrics"): get("/metrics"),
        ("GET", "/api/v1/aar"): get("/api/v1/aar"),
        ("GET", "/api/v1/aar/timeline.csv"): get("/api/v1/aar/timeline.csv"),
        ("GET", "/aar"): get("/aar"),
        ("GET", "/aar/static/aar.css"): get("/aar/static/aar.css"),
        # Facilities (service/facilities): the directory, states, observations, the page.
        ("GET", "/api/v1/facilities"): get("/api/v1/facilities"),
        ("POST", "/api/v1/facilities"): lambda h: Request(
            "POST",
            "/api/v1/facilities",
            {"facility_id": f"fac-{next(seq)}", "type": "shelter", "name": "X", "address": "Y"},
        ),
        ("GET", "/api/v1/facilities/reach"): get("/api/v1/facilities/reach"),
        ("GET", "/api/v1/facilities/{facility_id}"): get("/api/v1/facilities/fac-matrix"),
        ("PATCH", "/api/v1/facilities/{facility_id}"): lambda h: Request(
            "PATCH", "/api/v1/facilities/fac-matrix", {"note": "matrix"}
        ),
        ("POST", "/api/v1/facilities/{facility_id}/state"): lambda h: Request(
            "POST", "/api/v1/facilities/fac-matrix/state", {"state": "full"}
        ),
        ("GET", "/api/v1/facility-observations"): get("/api/v1/facility-observations"),
        ("GET", "/console/facilities"): get("/console/facilities"),
        ("GET", "/docs/assets/{name}"): get("/docs/assets/swagger-ui.css"),
    }


def _cp_bad_credentials(engine: sa.Engine) -> dict[str, dict[str, str]]:
    expired = create_token_cli(engine, name="old", role=Role.ADMIN, expires_in=timedelta(days=1))
    revoked = create_token_cli(engine, name="gone", role=Role.ADMIN, expires_in=timedelta(days=1))
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE api_token SET expires_at = :t WHERE id = :id"),
            {"t": (utcnow() - timedelta(days=1)).replace(tzinfo=None), "id": expired.row.id},
        )
        conn.execute(
            sa.text("UPDATE api_token SET revoked_at = :t, revoked_by = 'test' WHERE id = :id"),
            {"t": utcnow().replace(tzinfo=None), "id": revoked.row.id},
        )
    return {
        "none": {},
        "malformed": {"Authorization": "Basic YWRtaW46YWRtaW4="},
        "unknown": _bearer(new_token()),
        "expired": _bearer(expired.token),
        "revoked": _bearer(revoked.token),
    }


@pytest.fixture
async def cp_harness(database_url: str) -> AsyncIterator[Harness]:
    app = create_cp_app(
        ServiceSettings(database_url=database_url, mqtt_enabled=False, cp_id="cp-m")
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://cp") as client,
    ):
        engine = app.state.ctx.engine
        creds = _cp_bad_credentials(engine)
        for role in Role:
            nsp = NSP if role in (Role.GATEWAY, Role.NSP_STAFF) else None
            issued = create_token_cli(
                engine, name=f"m-{role.value}", role=role, expires_in=timedelta(days=1), nsp_id=nsp
            )
            creds[role.value] = _bearer(issued.token)
        gw = creds[Role.GATEWAY.value]
        first = make_up("status", NSP, 1, {"state": "open", "power_source": "grid"})
        r = await client.post(
            "/api/v1/messages", json=json.loads(first.model_dump_json()), headers=gw
        )
        assert r.status_code == 201, r.text
        foreign = make_up("status", "nsp-other", 1, {"state": "open", "power_source": "grid"})
        r = await client.post(
            "/api/v1/messages", json=json.loads(foreign.model_dump_json()), headers=gw
        )
        assert r.status_code == 403, r.text
        r = await client.post(
            "/api/v1/facilities",
            json={"facility_id": "fac-matrix", "type": "shelter", "name": "M", "address": "A"},
            headers=creds["admin"],
        )
        assert r.status_code == 201, r.text
        dead = (await client.get("/api/v1/dead-letters", headers=creds["admin"])).json()
        state = {
            "engine": engine,
            "message_id": first.message_id,
            "dead_letter_id": dead[0]["id"],
        }
        yield Harness(app, client, creds, cp_examples(), state)


async def test_cp_access_matrix(cp_harness: Harness) -> None:
    cells = await check_matrix(cp_harness)
    routes = routes_with_rules(cp_harness.app)
    assert cells == len(routes) * len(cp_harness.creds) and len(routes) >= 16


# --------------------------------------------------------------------------- gateway


def gateway_examples() -> dict[tuple[str, str], Example]:
    status = {"state": "open", "power_source": "generator", "staff_present": 2}
    get = lambda path: lambda h: Request("GET", path.format(**h.state))  # noqa: E731
    return {
        ("POST", "/api/v1/reports"): lambda h: Request(
            "POST", "/api/v1/reports", {"kind": "status", "body": status}
        ),
        ("POST", "/api/v1/status"): lambda h: Request("POST", "/api/v1/status", status),
        ("GET", "/api/v1/reports"): get("/api/v1/reports"),
        ("GET", "/api/v1/reports/{message_id}"): get("/api/v1/reports/{message_id}"),
        ("GET", "/api/v1/link"): get("/api/v1/link"),
        ("GET", "/api/v1/bulletins"): get("/api/v1/bulletins"),
        ("GET", "/api/v1/tasks"): get("/api/v1/tasks"),
        ("GET", "/api/v1/dead-letters"): get("/api/v1/dead-letters"),
        ("GET", "/healthz"): get("/healthz"),
        ("GET", "/metrics"): get("/metrics"),
        ("GET", "/board/facilities"): get("/board/facilities"),
        ("GET", "/staff/facilities"): get("/staff/facilities"),
        ("GET", "/docs/assets/{name}"): get("/docs/assets/swagger-ui.css"),
    }


def _insert_staff_token(engine: sa.Engine, role: str, expires_in: timedelta) -> tuple[int, str]:
    """Also roles the CLI refuses to issue here (gateway, operator, admin): they must get 403."""
    token = new_token()
    now = utcnow()
    row = gw_auth.StaffToken(
        token_hash=hash_token(token),
        hint=token_hint(token),
        name=f"gw-{role}",
        role=role,
        created_at=now,
        expires_at=now + expires_in,
    )
    from sqlmodel import Session

    with Session(engine) as session:
        session.add(row)
        session.commit()
        assert row.id is not None
        return row.id, token


def gateway_settings(tmp_path: Path, **overrides: Any) -> GatewaySettings:
    values: dict[str, Any] = {
        "nsp_id": NSP,
        "cp_id": "cp-m",
        "db_path": tmp_path / "gw.db",
        "mqtt_port": free_port(),
        "heartbeat_seconds": 3600,
    }
    values.update(overrides)
    return GatewaySettings(**values)


@pytest.fixture
async def gateway_harness(tmp_path: Path) -> AsyncIterator[Harness]:
    app = create_gateway_app(gateway_settings(tmp_path))
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gw") as client,
    ):
        engine = app.state.runtime.outbox.engine
        creds: dict[str, dict[str, str]] = {
            "none": {},
            "malformed": {"Authorization": "Bearer "},
            "unknown": _bearer(new_token()),
        }
        _, expired = _insert_staff_token(engine, "nsp-staff", timedelta(seconds=-1))
        creds["expired"] = _bearer(expired)
        revoked_id, revoked = _insert_staff_token(engine, "nsp-staff", timedelta(days=1))
        assert gw_auth.revoke(engine, revoked_id)
        creds["revoked"] = _bearer(revoked)
        for role in Role:
            creds[role.value] = _bearer(
                _insert_staff_token(engine, role.value, timedelta(days=1))[1]
            )
        r = await client.post(
            "/api/v1/status",
            json={"state": "open", "power_source": "grid"},
            headers=creds["nsp-staff"],
        )
        assert r.status_code == 201, r.text
        yield Harness(
            app, client, creds, gateway_examples(), {"message_id": r.json()["message_id"]}
        )


async def test_gateway_access_matrix(gateway_harness: Harness) -> None:
    cells = await check_matrix(gateway_harness)
    assert cells == len(routes_with_rules(gateway_harness.app)) * len(gateway_harness.creds)


# --------------------------------------------------------------------------- the rules


@pytest.mark.parametrize("make", [lambda p: create_cp_app(ServiceSettings(mqtt_enabled=False)),
                                  lambda p: create_gateway_app(gateway_settings(p))])  # fmt: skip
def test_every_route_states_its_rule(make: Callable[[Path], FastAPI], tmp_path: Path) -> None:
    app = make(tmp_path)
    missing = [f"{m} {p}" for m, p, rule in routes_with_rules(app) if rule is None]
    assert not missing, f"routes without an access rule (see docs/auth.md): {missing}"
    others = [getattr(r, "path", repr(r)) for r in http_routes(app) if not is_api_route(r)]
    # The API description and the gateway pages' own CSS/JS are the only open non-API paths.
    allowed = DOCUMENTATION_PATHS | {"/static"}
    assert set(others) <= allowed, f"routes outside the access rules: {others}"
    spec = app.openapi()
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            assert "x-noodnet-access" in op, f"{method} {path} undocumented access"


def test_a_route_without_a_rule_fails_the_check(tmp_path: Path) -> None:
    app = create_cp_app(ServiceSettings(mqtt_enabled=False))

    @app.get("/api/v1/forgotten")
    def forgotten() -> dict[str, str]:
        return {}

    missing = [p for _, p, rule in routes_with_rules(app) if rule is None]
    assert missing == ["/api/v1/forgotten"]
