"""The CP service: one FastAPI app factory. Its lifespan only wires: ``service.runtime.CpRuntime``
builds, owns and stops the database engine, the ingest worker, the MQTT bridge and every
background worker."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from noodcore import apidocs
from service.aid import api as aid_api
from service.api import dead_letters, health, messages, nsps
from service.auth import api as auth_api
from service.auth import setup as auth_setup
from service.bulletins import api as bulletins_api
from service.cluster.http import StandbyReadOnly
from service.exercise import api as exercise_api
from service.facilities import api as facilities_api
from service.facilities import page as facilities_page
from service.fallback import api as fallback_api
from service.goods import api as goods_api
from service.ops import aar as aar_api
from service.ops import metrics as ops_metrics
from service.region import api as region_api
from service.runtime import CpRuntime
from service.settings import ServiceSettings
from service.tasks import api as tasks_api
from service.triage import api as triage_api
from service.upstream import api as upstream_api
from service.upstream import stream
from service.upstream.settings import UpstreamSettings
from service.web import api as picture_api
from service.web import basemap, console, desk, nspf_console, pages, relay_page
from service.web import login as web_login

log = logging.getLogger(__name__)


def create_app(
    settings: ServiceSettings | None = None, upstream_settings: UpstreamSettings | None = None
) -> FastAPI:
    settings = settings or ServiceSettings()
    upstream_settings = upstream_settings or UpstreamSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = CpRuntime(settings, upstream_settings)
        app.state.runtime = runtime
        try:
            await run_in_threadpool(runtime.start)
            auth_setup.start(app, settings, runtime.context.engine)
            app.state.triage = runtime.triage
            app.state.upstream = runtime.upstream
            app.state.ctx = runtime.context
            yield
        finally:
            await run_in_threadpool(runtime.stop)

    app = FastAPI(
        title="Noodnet CP service",
        version="0.1.0",
        summary="Coordination point: ingest, store and serve reports from noodsteunpunten.",
        lifespan=lifespan,
        docs_url=None,  # served from package assets by noodcore.apidocs (no CDN)
        redoc_url=None,
    )
    apidocs.install(app)
    for module in (
        health,
        messages,
        nsps,
        dead_letters,
        triage_api,
        bulletins_api,
        tasks_api,
        auth_api,
        upstream_api,
        stream,
        region_api,
        picture_api,
        pages,
        basemap,
        console,
        relay_page,
        desk,
        fallback_api,
        exercise_api,
        aid_api,
        goods_api,
        nspf_console,
    ):
        app.include_router(module.router)
    app.include_router(auth_api.events_router)
    messages.install(app)  # 422 answers that survive any input
    web_login.install(app)  # /login, /logout; pages answer 401 with the sign-in form
    ops_metrics.install(app)  # /metrics (Prometheus) and the SSE client count
    app.include_router(facilities_api.router)
    app.include_router(facilities_api.reports_router)
    app.include_router(facilities_page.router)  # /console/facilities
    app.include_router(aar_api.router)  # after-action report: /api/v1/aar..., /aar
    auth_setup.install(app, settings)
    app.add_middleware(StandbyReadOnly)  # a standby CP serves reads only (service.cluster)
    return app


def run(settings: ServiceSettings, upstream_settings: UpstreamSettings | None = None) -> None:
    """Serve the CP service with uvicorn (used by ``noodnet cp`` and ``noodnet region``)."""
    from noodcore.httpserve import make_server

    app = create_app(settings, upstream_settings)

    def end_streams() -> None:
        upstream = getattr(app.state, "upstream", None)  # set by the lifespan
        if upstream is not None:
            upstream.notifier.close()

    server, sock = make_server(
        app,
        settings,
        on_shutdown=end_streams,
        log_level="info",
        timeout_graceful_shutdown=10,
    )
    server.run(sockets=[sock])
