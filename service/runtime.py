"""One running CP service: the engine, the ingest worker, the MQTT bridge, triage, the upward
path and the downward workers, built, started and stopped here (like gateway/runtime.py).

Invariants, and why:
  * The app's lifespan only wires (``start`` before serving, ``stop`` after): the order in
    which the parts start and stop is written once, here, not spread over the app factory.
  * Stop drains before it disconnects: the ingest worker stops first, so acks for committed
    messages still reach the broker, then the workers, then the bridge, then the engine.
  * Every background worker is listed by ``health()``: ``/readyz`` answers 503 and the operator
    console shows a banner when one keeps failing, instead of the failure living in a log.
"""

from __future__ import annotations

import logging

from sqlalchemy.engine import Engine

from noodcore.worker import Worker, WorkerReport
from service.aid.sending import AssignmentResender
from service.aid.updates import record_aid
from service.bulletins.publish import BulletinRepublisher
from service.bulletins.reach import record_receipts
from service.context import ServiceContext
from service.db import make_engine, migrate
from service.facilities.directory import FacilityPublisher
from service.facilities.ingest import record_facility_receipts, record_facility_reports
from service.goods.updates import record_goods
from service.ingest import IngestWorker
from service.limits.flags import ThrottleRecorder
from service.limits.ratelimit import AdmissionQueue
from service.mqtt import MqttBridge
from service.ops.gapfill import GapFiller
from service.settings import ServiceSettings
from service.tasks.sending import TaskResender
from service.tasks.updates import record_task_updates
from service.triage.runtime import Triage
from service.upstream.runtime import Upstream
from service.upstream.settings import UpstreamSettings

log = logging.getLogger(__name__)


class CpRuntime:
    """Owns every long-lived part of one CP service process."""

    def __init__(self, settings: ServiceSettings, upstream_settings: UpstreamSettings) -> None:
        self.gapfill: GapFiller | None = None
        self.settings = settings
        self.upstream_settings = upstream_settings
        self.engine: Engine | None = None
        self.bridge: MqttBridge | None = None
        self.downward: list[Worker] = []
        self._ingest: IngestWorker | None = None
        self._triage: Triage | None = None
        self._upstream: Upstream | None = None

    # The parts, once started (the routes only run after ``start``).
    @property
    def ingest(self) -> IngestWorker:
        assert self._ingest is not None, "CpRuntime.start() has not run"
        return self._ingest

    @property
    def triage(self) -> Triage:
        assert self._triage is not None, "CpRuntime.start() has not run"
        return self._triage

    @property
    def upstream(self) -> Upstream:
        assert self._upstream is not None, "CpRuntime.start() has not run"
        return self._upstream

    @property
    def context(self) -> ServiceContext:
        assert self.engine is not None, "CpRuntime.start() has not run"
        return ServiceContext(self.settings, self.engine, self.ingest, self.bridge, self.health)

    def start(self) -> None:
        """Build and start everything (blocking: database migrations run here)."""
        settings = self.settings
        engine = self.engine = make_engine(settings.database_url)
        migrate(engine)
        triage = self._triage = Triage(engine, settings.cp_id)
        upstream = self._upstream = Upstream(engine, settings, self.upstream_settings)
        admission = AdmissionQueue(
            rate=settings.rate_limit_per_second,
            burst=settings.rate_limit_burst,
            park_max=settings.rate_limit_park_max,
            overflow_batch=settings.rate_limit_overflow_batch,
        )
        ingest = self._ingest = IngestWorker(
            engine,
            settings,
            hooks=[
                ThrottleRecorder(admission),
                *triage.hooks,
                record_receipts,
                record_task_updates,
                record_facility_receipts,
                record_facility_reports,
                record_aid,
                record_goods,
                *upstream.ingest_hooks,
            ],
            on_stored=upstream.after_ingest,
            admission=admission,
        )
        bridge = self.bridge = (
            MqttBridge(settings, ingest.submit_mqtt) if settings.mqtt_enabled else None
        )
        ingest.broker = bridge
        ingest.start()
        # Downward state the broker may have lost is sent again after every (re)connect.
        if bridge is not None:
            self.downward = [
                BulletinRepublisher(engine, settings.cp_id, bridge),
                TaskResender(engine, settings.cp_id, bridge, settings.task_resend_seconds),
                FacilityPublisher(engine, settings.cp_id, bridge),
                AssignmentResender(engine, settings.cp_id, bridge, settings.task_resend_seconds),
            ]
        if settings.sms_inbox_dir is not None:
            from service.fallback.sms import SmsInbox

            # Upward, but a worker like these: started, stopped and shown in /readyz with them.
            self.downward.append(SmsInbox(engine, ingest, settings.sms_inbox_dir))
        for worker in self.downward:
            worker.start()
        if bridge is not None:
            bridge.start()
            # Ask gateways to re-send gaps (after a restore from backup): service/ops/gapfill.py.
            self.gapfill = GapFiller(
                engine, settings.cp_id, bridge.publish, lambda: bridge.connected
            )
            self.gapfill.start()
        triage.start(bridge)
        upstream.start()
        triage.listeners.append(upstream.committed)
        log.info("CP service %s up (role %s)", settings.cp_id, settings.role.value)

    def stop(self) -> None:
        # Drain first so acks for committed messages still go out, then disconnect.
        if self.gapfill is not None:
            self.gapfill.stop()
        if self._ingest is not None:
            self._ingest.stop()
        if self._triage is not None:
            self._triage.stop()
        for worker in self.downward:
            worker.signal_stop()
        for worker in self.downward:
            worker.join(5)
        if self._upstream is not None:
            self._upstream.stop()
        if self.bridge is not None:
            self.bridge.stop()
        if self.engine is not None:
            self.engine.dispose()

    @property
    def workers(self) -> list[Worker]:
        """Every background worker built on ``noodcore.worker.Worker``."""
        workers = list(self.downward)
        if self._triage is not None:
            workers += self._triage.workers
        if self._upstream is not None:
            workers += self._upstream.workers
        if self.gapfill is not None and self.gapfill.started:
            workers.append(self.gapfill)
        return workers

    def health(self) -> WorkerReport:
        return WorkerReport.of(self.workers)
