"""The gateway's local HTTP API (staff form, info board, machines at the NSP) and its server."""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool

from gateway.api_models import (
    REPORT_KINDS,
    AckEventOut,
    BulletinOut,
    DeadLetterOut,
    ExerciseModeIn,
    ExerciseModeOut,
    LinkOut,
    ReportCreated,
    ReportDetail,
    ReportIn,
    ReportOut,
    TaskOut,
)
from gateway.auth import BOARD_READERS, STAFF, StaffTokenVerifier
from gateway.metrics import router as metrics_router
from gateway.nspf_api import router as nspf_router
from gateway.outbox import EntryState, OutboxEntry, body_model
from gateway.runtime import GatewayRuntime
from gateway.settings import GatewaySettings
from gateway.task_api import router as task_router
from gateway.usb_api import IMPORT_PATH as USB_IMPORT_PATH
from gateway.usb_api import router as usb_router
from gateway.web import register as register_pages
from noodcore import apidocs
from noodcore.httpguard import (
    MAX_OFFSET,
    BodySizeLimit,
    Identity,
    Role,
    allow_every_method,
    document_access,
    public,
    require,
)
from schemas import UP_KINDS, Status
from schemas.common import EXERCISE_MARK
from schemas.transfer import MAX_FILE_BYTES

log = logging.getLogger(__name__)

router = APIRouter()


def _runtime(request: Request) -> GatewayRuntime:
    runtime: GatewayRuntime = request.app.state.runtime
    return runtime


Runtime = Annotated[GatewayRuntime, Depends(_runtime)]


def _invalid(
    loc: Sequence[str | int], msg: str, value: Any, kind: str = "value_error"
) -> RequestValidationError:
    """A 422 in FastAPI's own error format, so clients handle one shape."""
    return RequestValidationError([{"type": kind, "loc": tuple(loc), "msg": msg, "input": value}])


def _prefixed(exc: ValidationError, prefix: tuple[str, ...]) -> RequestValidationError:
    errors = [
        {"type": e["type"], "loc": (*prefix, *e["loc"]), "msg": e["msg"], "input": e["input"]}
        for e in exc.errors(include_url=False, include_context=False)
    ]
    return RequestValidationError(errors)


def _created(entry: OutboxEntry, response: Response) -> ReportCreated:
    # A heartbeat folded into one that is still waiting creates nothing new.
    response.status_code = 200 if entry.coalesced else 201
    return ReportCreated.of(entry)


@router.post(
    "/api/v1/reports",
    status_code=201,
    dependencies=[require(*STAFF)],
    responses={200: {"description": "A heartbeat status folded into one not yet delivered."}},
)
def create_report(report: ReportIn, rt: Runtime, response: Response) -> ReportCreated:
    """Accept a report; it is on disk in the outbox when this returns."""
    if report.kind not in REPORT_KINDS:
        raise _invalid(
            ("body", "kind"),
            f"unknown kind {report.kind!r}; expected one of: {', '.join(REPORT_KINDS)}",
            report.kind,
            "enum",
        )
    try:
        body = body_model(report.kind).model_validate(report.body)
    except ValidationError as exc:
        raise _prefixed(exc, ("body", "body")) from None
    return _created(rt.outbox.enqueue(report.kind, body, report.exercise), response)


@router.post(
    "/api/v1/status",
    status_code=201,
    dependencies=[require(*STAFF)],
    responses={200: {"description": "A heartbeat status folded into one not yet delivered."}},
)
def post_status(status: Status, rt: Runtime, response: Response) -> ReportCreated:
    """Record the NSP's status (open/closed, power, staff); repeated by the heartbeat."""
    return _created(rt.outbox.enqueue("status", status), response)


@router.get("/api/v1/reports", dependencies=[require(*STAFF)])
def list_reports(
    rt: Runtime,
    response: Response,
    kind: str | None = None,
    state: EntryState | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> list[ReportOut]:
    """Reports in the outbox, newest first; the X-Total-Count header counts all matches."""
    if kind is not None and kind not in UP_KINDS:
        raise _invalid(
            ("query", "kind"),
            f"unknown kind {kind!r}; expected one of: {', '.join(UP_KINDS)}",
            kind,
            "enum",
        )
    entries, total = rt.outbox.list_entries(kind=kind, state=state, limit=limit, offset=offset)
    response.headers["X-Total-Count"] = str(total)
    return [ReportOut.of(e) for e in entries]


@router.get(
    "/api/v1/reports/{message_id}",
    dependencies=[require(*STAFF)],
    responses={404: {"description": "No report with this message id"}},
)
def get_report(message_id: str, rt: Runtime) -> ReportDetail:
    entry = rt.outbox.get(message_id)
    if entry is None:
        raise HTTPException(404, f"no report with message_id {message_id!r}")
    return ReportDetail(
        **ReportOut.of(entry).model_dump(),
        history=[AckEventOut.of(e) for e in rt.outbox.history(message_id)],
    )


@router.get("/api/v1/link", dependencies=[require(*STAFF)])
def link(rt: Runtime) -> LinkOut:
    """Is the CP reachable, and what is still waiting for it."""
    info = rt.publisher.info()
    counts = rt.outbox.counts()
    return LinkOut(
        connected=info.connected,
        since=info.last_connected_at if info.connected else info.last_disconnected_at,
        last_error=info.last_error,
        last_error_at=info.last_error_at,
        pending_count=counts["queued"] + counts["sent"],
        counts=dict(counts),
        broker=str(rt.publisher.failover.current),
        last_connected_at=info.last_connected_at,
        last_disconnected_at=info.last_disconnected_at,
        refused_count=info.refused_count,
        dead_letter_count=rt.inbox.dead_letter_count(),
        cut=rt.publisher.link_cut,
    )


@router.post("/api/v1/link/cut", dependencies=[require(*STAFF)])
def cut_link(rt: Runtime) -> LinkOut:
    """Exercise: drop the MQTT link as a real outage would (the broker announces the gateway
    offline) and keep it down until ``/api/v1/link/restore``. Reports keep queueing."""
    rt.publisher.cut_link()
    return link(rt)


@router.post("/api/v1/link/restore", dependencies=[require(*STAFF)])
def restore_link(rt: Runtime) -> LinkOut:
    """End a link cut: connect again; everything queued meanwhile is sent."""
    rt.publisher.restore_link()
    return link(rt)


def _mode_out(row: Any) -> ExerciseModeOut:
    if row is None:
        return ExerciseModeOut(active=False)
    return ExerciseModeOut(
        active=True,
        exercise_id=row.exercise_id,
        name=row.name,
        since=row.since,
        set_by=row.set_by,
        mark=EXERCISE_MARK,
    )


@router.get("/api/v1/exercise", dependencies=[require(*STAFF)])
def get_exercise_mode(rt: Runtime) -> ExerciseModeOut:
    """Whether the staff screen is in exercise (oefening) mode."""
    return _mode_out(rt.outbox.exercise_mode())


@router.put("/api/v1/exercise", dependencies=[require(*STAFF)])
def set_exercise_mode(mode: ExerciseModeIn, rt: Runtime) -> ExerciseModeOut:
    """Put the staff screen in exercise mode: it shows OEFENING and asks for every report
    whether it is exercise or a real emergency (never assumed)."""
    return _mode_out(rt.outbox.set_exercise_mode(mode.exercise_id, mode.name, mode.by))


@router.delete("/api/v1/exercise", dependencies=[require(*STAFF)])
def end_exercise_mode(rt: Runtime) -> ExerciseModeOut:
    """Back to normal operation."""
    return _mode_out(rt.outbox.set_exercise_mode(None))


@router.get("/api/v1/bulletins", dependencies=[require(*BOARD_READERS)])
def bulletins(rt: Runtime, lang: Literal["nl", "en"] | None = None) -> list[BulletinOut]:
    """Current public information: addressed to this NSP, not withdrawn, not expired."""
    language = lang or rt.settings.language
    return [BulletinOut.of(b, language) for b in rt.inbox.current_bulletins()]


@router.get("/api/v1/tasks", dependencies=[require(*STAFF)])
def tasks(rt: Runtime) -> list[TaskOut]:
    return [TaskOut.of(t) for t in rt.inbox.tasks()]


@router.get("/api/v1/dead-letters", dependencies=[require(*STAFF)])
def dead_letters(
    rt: Runtime, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[DeadLetterOut]:
    """Downward messages the gateway rejected, newest first, with the reason."""
    return [DeadLetterOut.of(d) for d in rt.inbox.dead_letters(limit)]


@router.get(
    "/healthz",
    dependencies=[public()],
    responses={503: {"description": "Not healthy; 'detail' says why (database, disk)"}},
)
def healthz(rt: Runtime) -> dict[str, Any]:
    """200 only when reports can be saved: the database answers, the disk is not (almost)
    full and the last write (a report, or the probe this check commits now and then) went
    through. Otherwise 503 naming every reason."""
    try:
        rt.outbox.ping()
    except Exception as exc:
        log.exception("health check: database unreadable")
        raise HTTPException(503, f"database unreadable: {exc}") from None
    problems = _storage_problems(rt)
    if problems:
        raise HTTPException(503, "not healthy: " + "; ".join(problems))
    return {
        "status": "ok",
        "nsp_id": rt.settings.nsp_id,
        "cp_id": rt.settings.cp_id,
        "connected": rt.publisher.connected,
        # Shown, not a reason for 503: the gateway keeps accepting reports into its outbox.
        "workers": rt.health().as_dict(),
    }


def _storage_problems(rt: GatewayRuntime) -> list[str]:
    s = rt.settings
    problems = []
    directory = s.db_path.parent
    try:
        st = os.statvfs(directory)
        free = st.f_bavail * st.f_frsize
        if free < s.health_min_free_bytes:
            problems.append(
                f"disk almost full: {free // 1024} KiB free under {directory}, at least "
                f"{s.health_min_free_bytes // 1024} KiB needed to keep accepting reports"
            )
    except OSError as exc:
        problems.append(f"cannot check free disk space under {directory}: {exc}")
    with contextlib.suppress(OperationalError):  # recorded in last_write_error
        rt.outbox.probe_write(min_interval=s.health_write_probe_seconds)
    failed = rt.outbox.last_write_error
    if failed is not None:
        at, error = failed
        problems.append(f"the last database write failed at {at.isoformat()}: {error}")
    return problems


def create_app(settings: GatewaySettings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = await run_in_threadpool(GatewayRuntime.open, settings)
        await run_in_threadpool(runtime.start)
        app.state.runtime = runtime
        app.state.token_verifier = StaffTokenVerifier(runtime.outbox.engine, settings.nsp_id)
        app.state.anonymous_identity = (
            Identity(name="anonymous", role=Role.VIEWER) if settings.public_board else None
        )
        try:
            yield
        finally:
            await run_in_threadpool(runtime.stop)

    app = FastAPI(
        title=f"Noodnet gateway {settings.nsp_id}",
        version="0.1.0",
        summary="Local API of an NSP gateway: accept reports, show link state and bulletins.",
        lifespan=lifespan,
        docs_url=None,  # served from package assets by noodcore.apidocs (no CDN)
        redoc_url=None,
    )
    apidocs.install(app)
    app.include_router(router)
    app.include_router(task_router)
    app.include_router(nspf_router)  # citizen aid and scarce goods
    app.include_router(metrics_router)  # /metrics (Prometheus)
    app.include_router(usb_router)
    register_pages(app)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.http_max_body_bytes,
        by_path={USB_IMPORT_PATH: MAX_FILE_BYTES},  # the CP's file for a whole outbox
    )
    document_access(app)
    allow_every_method(app)
    app.add_exception_handler(OperationalError, _storage_failed)
    return app


async def _storage_failed(request: Request, exc: Exception) -> JSONResponse:
    """The database refused a write (full disk, I/O error): a 503 that says nothing was
    saved, instead of a bare 500. (The staff pages show their own message in Dutch.)"""
    orig = getattr(exc, "orig", exc)
    return JSONResponse(
        {
            "detail": f"not saved: the gateway's database refused the write ({orig}); "
            "nothing was queued for the CP. Free disk space on the gateway (see /healthz)."
        },
        status_code=503,
    )


def run(settings: GatewaySettings) -> None:
    """Serve the gateway until SIGTERM/SIGINT, then stop cleanly (used by ``noodnet gateway``)."""
    from noodcore.httpserve import make_server

    server, sock = make_server(
        create_app(settings), settings, log_level="info", timeout_graceful_shutdown=10
    )
    if threading.current_thread() is not threading.main_thread():
        server.run(sockets=[sock])
        return
    # uvicorn shuts down gracefully (lifespan: offline presence, outbox closed) and then
    # re-raises the signal to the handler installed before it; a no-op handler there turns
    # that into a normal return and exit status 0 instead of death by signal.
    previous = {sig: signal.signal(sig, _after_shutdown) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _after_shutdown(signum: int, _frame: Any) -> None:
    log.info("stopped by %s", signal.Signals(signum).name)
