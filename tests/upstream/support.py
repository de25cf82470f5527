"""Helpers for upward-path tests: service processes in CP or region role, message builders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from schemas import make_up
from service.db import make_engine
from tests.support import ROOT, CpAuth, Proc, issue_cp_token

SCREENSHOTS = ROOT / "test-artifacts" / "screenshots"


def service_process(
    tmp: Path,
    role: str,
    node_id: str,
    database_url: str,
    port: int | None = None,
    upstream_database_url: str | None = None,
    **env: str,
) -> Proc:
    """``noodnet cp`` (without MQTT) or ``noodnet region`` in its own process.

    Its test client authenticates as an admin (and as each NSP's gateway when posting
    messages); with ``upstream_database_url`` it forwards with a 'cp' token issued there.
    """
    port = port or 0  # 0: the child binds any free port and reports it (tests/support.py)
    if upstream_database_url is not None:
        env["NOODNET_UPSTREAM_TOKEN"] = issue_cp_token(upstream_database_url, "cp")
    token = issue_cp_token(database_url, "admin")
    proc = Proc(
        [role],
        {
            "NOODNET_CP_ID": node_id,
            "NOODNET_DATABASE_URL": database_url,
            "NOODNET_MQTT_ENABLED": "false",
            "NOODNET_UPSTREAM_RETRY_BASE_SECONDS": "0.2",
            "NOODNET_UPSTREAM_RETRY_MAX_SECONDS": "1",
            "NOODNET_UPSTREAM_POLL_SECONDS": "0.2",
            **env,
        },
        tmp / f"{role}-{node_id}.log",
        port,
        token=token,
    )
    proc.auth = CpAuth(make_engine(database_url))
    return proc


def msg(kind: str, nsp: str, seq: int, **body: Any) -> dict[str, Any]:
    return json.loads(make_up(kind, nsp, seq, body).model_dump_json())


def help_request(nsp: str, seq: int, urgency: str = "P1", **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "category": "medical",
        "urgency": urgency,
        "location": {"address": f"Kerkstraat {seq}, Oss", "lat": 51.765, "lon": 5.52},
        "people_involved": 1,
        "vulnerable_people": 1,
        "description": f"Bewoner benauwd, zuurstof op (melding {seq})",
    }
    body.update(over)
    return msg("help_request", nsp, seq, **body)


def resource_request(nsp: str, seq: int, urgency: str = "P2", **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "resource": "fuel",
        "item": "diesel voor aggregaat",
        "quantity": 200,
        "unit": "liter",
        "urgency": urgency,
    }
    body.update(over)
    return msg("resource_request", nsp, seq, **body)


def status(nsp: str, seq: int, hours: float | None = 24, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "state": "open",
        "power_source": "generator",
        "power_hours_left": hours,
        "staff_present": 2,
        "volunteers_present": 3,
    }
    body.update(over)
    return msg("status", nsp, seq, **body)


def situation(nsp: str, seq: int, category: str, text: str, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"category": category, "severity": "moderate", "description": text}
    body.update(over)
    return msg("situation_report", nsp, seq, **body)
