"""Liveness and readiness probes (open to everyone, for load balancers and systemd)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from noodcore.httpguard import public
from service.context import ContextDep

router = APIRouter(tags=["health"], dependencies=[public()])


@router.get("/healthz", summary="The process is alive")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Database and broker reachable, every background worker healthy; 'role' says "
    "whether this process is the active CP or a standby (a ready standby answers 200 too)",
    responses={
        503: {
            "description": "Not ready; 'checks' says which dependency or worker failed, "
            "'workers' shows every worker's health."
        }
    },
)
def readyz(ctx: ContextDep) -> JSONResponse:
    checks: dict[str, Any] = {}
    try:
        with ctx.engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}: {exc}"
    cluster = ctx.cluster()
    standby = cluster.get("role") == "standby"
    # A standby has not connected to the broker yet (it takes over the active's session).
    if ctx.bridge is not None and not (standby and cluster.get("ingest") == "single"):
        checks["broker"] = "ok" if ctx.bridge.connected else f"error: {ctx.bridge.last_error}"
    if ctx.worker.last_error:
        checks["ingest"] = f"error: {ctx.worker.last_error}"
    report = ctx.workers()
    for h in report.failing:
        checks[f"worker {h.name}"] = f"error: {h.reason}"
    ready = all(v == "ok" for v in checks.values())
    return JSONResponse(
        {
            "status": "ready" if ready else "not ready",
            "role": cluster.get("role"),
            "cluster": cluster,
            "checks": checks,
            "workers": [h.as_dict() for h in report.workers],
        },
        status_code=200 if ready else 503,
    )
