"""The CP service: one FastAPI app factory whose lifespan owns the database, the ingest worker
and the MQTT connection."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from service.api import dead_letters, health, messages, nsps
from service.auth import api as auth_api
from service.auth import setup as auth_setup
from service.bulletins import api as bulletins_api
from service.bulletins.publish import BulletinRepublisher
from service.bulletins.reach import record_receipts
from service.context import ServiceContext
from service.db import make_engine, migrate
from service.fallback import api as fallback_api
from service.ingest import IngestWorker
from service.limits.flags import ThrottleRecorder
from service.limits.ratelimit import AdmissionQueue
from service.mqtt import MqttBridge
from service.region import api as region_api
from service.settings import ServiceSettings
from service.tasks import api as tasks_api
from service.tasks.sending import TaskResender
from service.tasks.updates import record_task_updates
from service.triage import api as triage_api
from service.triage.runtime import Triage
from service.upstream import api as upstream_api
from service.upstream import stream
from service.upstream.runtime import Upstream
from service.upstream.settings import UpstreamSettings
from service.web import api as picture_api
from service.web import console, pages
from service.web import login as web_login

log = logging.getLogger(__name__)


def create_app(
    settings: ServiceSettings | None = None, upstream_settings: UpstreamSettings | None = None
) -> FastAPI:
    settings = settings or ServiceSettings()
    upstream_settings = upstream_settings or UpstreamSettings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        await run_in_threadpool(migrate, engine)
        triage = Triage(engine, settings.cp_id)
        upstream = await run_in_threadpool(Upstream, engine, settings, upstream_settings)
        admission = AdmissionQueue(
            rate=settings.rate_limit_per_second,
            burst=settings.rate_limit_burst,
            park_max=settings.rate_limit_park_max,
            overflow_batch=settings.rate_limit_overflow_batch,
        )
        worker = IngestWorker(
            engine,
            settings,
            hooks=[
                ThrottleRecorder(admission),
                *triage.hooks,
                record_receipts,
                record_task_updates,
                *upstream.ingest_hooks,
            ],
            on_stored=upstream.after_ingest,
            admission=admission,
        )
        auth_setup.start(app, settings, engine)
        bridge = MqttBridge(settings, worker.submit_mqtt) if settings.mqtt_enabled else None
        worker.downlink = bridge
        worker.start()
        # Downward state the broker may have lost is sent again after every (re)connect.
        downward: list[BulletinRepublisher | TaskResender] = []
        if bridge is not None:
            downward = [
                BulletinRepublisher(engine, settings.cp_id, bridge),
                TaskResender(engine, settings.cp_id, bridge, settings.task_resend_seconds),
            ]
        for d in downward:
            d.start()
        if bridge is not None:
            bridge.start()
        triage.start(bridge)
        app.state.triage = triage
        await run_in_threadpool(upstream.start)
        triage.listeners.append(upstream.committed)
        app.state.upstream = upstream
        app.state.ctx = ServiceContext(settings, engine, worker, bridge)
        log.info("CP service %s up (role %s)", settings.cp_id, settings.role.value)
        try:
            yield
        finally:
            # Drain first so acks for committed messages still go out, then disconnect.
            await run_in_threadpool(worker.stop)
            await run_in_threadpool(triage.stop)
            for d in downward:
                await run_in_threadpool(d.stop)
            await run_in_threadpool(upstream.stop)
            if bridge is not None:
                await run_in_threadpool(bridge.stop)
            engine.dispose()

    app = FastAPI(
        title="Noodnet CP service",
        version="0.1.0",
        summary="Coordination point: ingest, store and serve reports from noodsteunpunten.",
        lifespan=lifespan,
    )
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
        console,
        fallback_api,
    ):
        app.include_router(module.router)
    app.include_router(auth_api.events_router)
    web_login.install(app)  # /login, /logout; pages answer 401 with the sign-in form
    auth_setup.install(app, settings)
    return app


def run(settings: ServiceSettings, upstream_settings: UpstreamSettings | None = None) -> None:
    """Serve the CP service with uvicorn (used by ``noodnet cp`` and ``noodnet region``)."""
    import uvicorn

    uvicorn.run(
        create_app(settings, upstream_settings),
        host=settings.http_host,
        port=settings.http_port,
        log_level="info",
        timeout_graceful_shutdown=10,
    )
