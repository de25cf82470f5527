"""One running CP service: the engine, the ingest worker, the MQTT bridge, triage, the upward
path and the downward workers, built, started and stopped here (like gateway/runtime.py).

Invariants, and why:
  * The app's lifespan only wires (``start`` before serving, ``stop`` after): the order in
    which the parts start and stop is written once, here, not spread over the app factory.
  * Stop drains before it disconnects: the ingest worker stops first, so acks for committed
    messages still reach the broker, then the workers, then the bridge, then the engine.
  * Every background worker is listed by ``health()``: ``/readyz`` answers 503 and the operator
    console shows a banner when one keeps failing, instead of the failure living in a log.
  * Several processes on one PostgreSQL database (service.cluster): the single-active parts
    (MQTT subscription and ingest unless shared, forwarder, schedulers, ack and resend
    workers, gap filler) start only in the process holding the CP's leader lock
    (``_activate``); a standby serves the HTTP API read-only until it takes over. With a
    shared subscription every process runs ingest; grouping is then serialised across them.
"""

from __future__ import annotations

import logging
import os
import threading

from sqlalchemy.engine import Engine

from noodcore.mqttconf import MqttProtocol
from noodcore.worker import Worker, WorkerReport
from service.aid.sending import AssignmentResender
from service.aid.updates import record_aid
from service.bulletins.publish import BulletinRepublisher
from service.bulletins.reach import record_receipts
from service.cluster.grouping_sync import GroupingSync
from service.cluster.leader import LeaderLock
from service.cluster.migrate import migrate_once
from service.cluster.settings import ClusterSettings
from service.context import ServiceContext
from service.db import make_engine
from service.facilities.directory import FacilityPublisher
from service.facilities.ingest import record_facility_receipts, record_facility_reports
from service.goods.updates import record_goods
from service.ingest import IngestWorker, configure_gc
from service.limits.flags import ThrottleRecorder
from service.limits.ratelimit import AdmissionQueue
from service.mqtt import MqttBridge
from service.ops.gapfill import GapFiller
from service.settings import ServiceSettings
from service.store import StoreResult
from service.tasks.sending import TaskResender
from service.tasks.updates import record_task_updates
from service.triage.runtime import Triage
from service.upstream.runtime import Upstream
from service.upstream.settings import UpstreamSettings

log = logging.getLogger(__name__)


class CpRuntime:
    """Owns every long-lived part of one CP service process."""

    def __init__(
        self,
        settings: ServiceSettings,
        upstream_settings: UpstreamSettings,
        cluster_settings: ClusterSettings | None = None,
    ) -> None:
        self.cluster_settings = cluster_settings or ClusterSettings()
        self.leader: LeaderLock | None = None
        self.shared = False  # ingest behind a shared subscription (service.cluster)
        self._activated = False
        self._active_lock = threading.Lock()
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
        return ServiceContext(
            self.settings, self.engine, self.ingest, self.bridge, self.health, self.cluster_state
        )

    def _stored(self, results: list[StoreResult]) -> None:
        """After every ingest commit."""
        self.triage.after_ingest(results)
        self.upstream.after_ingest(results)

    def cluster_state(self) -> dict[str, object]:
        """For /readyz: active or standby, and how this process shares the database."""
        state: dict[str, object] = {
            "role": self.role,
            "instance": self.cluster_settings.instance_id,
            "ingest": "shared subscription" if self.shared else "single",
            # Messages this process stored since it started (its share of a shared group).
            "stored_here": self._ingest.stored_total if self._ingest is not None else 0,
        }
        if self._triage is not None:
            queue = self._triage.grouping_queue()
            if queue is not None:
                # Grouping in its own process: reports stored and acked, not yet placed.
                state["grouping_queue"] = queue
        if self.leader is not None:
            state["lock"] = "postgresql advisory"
            since = self.leader.acquired_at
            state["since"] = since.isoformat() if since else None
        else:
            state["lock"] = "none (one process per database)"
        return state

    def start(self) -> None:
        """Build and start everything (blocking: database migrations run here). A standby
        (``NOODNET_HA_LEADER_LOCK`` on PostgreSQL) starts its lock watcher and returns; the
        single-active parts start when it gets the lock."""
        settings = self.settings
        cluster = self.cluster_settings
        engine = self.engine = make_engine(settings.database_url)
        postgres = engine.dialect.name == "postgresql"
        migrate_once(engine)
        configure_gc()  # start-up is loaded: a reconnect backlog must not stop ingest for GC
        if cluster.ingest_shared and not postgres:
            log.warning("NOODNET_INGEST_SHARED ignored: SQLite has one ingest process")
        self.shared = cluster.ingest_shared and postgres and settings.mqtt_enabled
        if self.shared and settings.mqtt_protocol is not MqttProtocol.V5:
            raise ValueError("NOODNET_INGEST_SHARED needs MQTT 5 (NOODNET_MQTT_PROTOCOL=5)")
        triage = self._triage = Triage(engine, settings.cp_id)
        if postgres and (self.shared or cluster.ha_leader_lock):
            # Shared: several processes group at once. HA: a deposed active may still commit
            # one batch before its lock check stops it (service/cluster/leader.py).
            triage.hook.sync = GroupingSync(settings.cp_id, cluster.instance_id)
            triage.sync_instance = f"{cluster.instance_id}-grouping"
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
            on_stored=self._stored,
            admission=admission,
        )
        # Reports an earlier run queued for a grouping process, when there is none now:
        # placed before this process ingests anything.
        triage.place_leftovers()
        if upstream.scheduler is not None:
            upstream.scheduler.p1_waiting = ingest.urgent_waiting
        if settings.mqtt_enabled:
            self.bridge = MqttBridge(
                settings,
                ingest.submit_mqtt,
                share_group=cluster.ingest_shared_group if self.shared else None,
                # Each member of a shared subscription has its own (persistent) session.
                client_id=f"{settings.client_id}-{cluster.instance_id}" if self.shared else None,
            )
        ingest.broker = self.bridge
        if self.shared:
            ingest.start()
            assert self.bridge is not None
            self.bridge.start()
        if postgres and (cluster.ha_leader_lock or self.shared):
            self.leader = LeaderLock(
                engine,
                settings.cp_id,
                cluster.ha_check_seconds,
                on_acquired=self._activate,
                on_lost=self._lost_leadership,
            )
            self.leader.start()
            log.info("CP service %s: waiting for the leader lock (standby)", settings.cp_id)
        else:
            self._activate()

    @property
    def active(self) -> bool:
        """This process runs the single-active parts (always, without a leader lock)."""
        return self._activated

    @property
    def role(self) -> str:
        return "active" if self._activated else "standby"

    def _activate(self) -> None:
        """Start the single-active parts (at start, or when the leader lock is acquired)."""
        with self._active_lock:
            if self._activated:
                return
            self._activated = True
        settings = self.settings
        engine, bridge, ingest = self.engine, self.bridge, self.ingest
        assert engine is not None
        triage, upstream = self.triage, self.upstream
        if not self.shared:
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
            if not self.shared:
                bridge.start()
            # Ask gateways to re-send gaps (after a restore from backup): service/ops/gapfill.py.
            self.gapfill = GapFiller(
                engine, settings.cp_id, bridge.publish, lambda: bridge.connected
            )
            self.gapfill.start()
        triage.start(bridge)
        upstream.start()
        triage.listeners.append(upstream.committed)
        log.info("CP service %s up (role %s, active)", settings.cp_id, settings.role.value)

    def _lost_leadership(self, reason: str) -> None:
        """The lock connection failed: a standby may be active already. Stop at once (the
        service manager restarts this process, as a standby); see service.cluster.leader."""
        log.critical("leader lock lost (%s): exiting so two active CPs never run", reason)
        logging.shutdown()
        os._exit(75)

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
        if self.leader is not None:
            # Last: a standby takes over only once nothing of this process runs any more.
            self.leader.stop(5)
        if self.engine is not None:
            self.engine.dispose()

    @property
    def workers(self) -> list[Worker]:
        """Every background worker built on ``noodcore.worker.Worker``."""
        if not self._activated:
            # A standby runs only its lock watcher; the others are built but not started.
            return [self.leader] if self.leader is not None else []
        workers = list(self.downward)
        if self.leader is not None:
            workers.append(self.leader)
        if self._triage is not None:
            workers += self._triage.workers
        if self._upstream is not None:
            workers += self._upstream.workers
        if self.gapfill is not None and self.gapfill.started:
            workers.append(self.gapfill)
        return workers

    def health(self) -> WorkerReport:
        return WorkerReport.of(self.workers)
