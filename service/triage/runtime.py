"""The triage part of the running service: the grouping hook for the ingest worker (or, with
``grouping_process``, the queue hook and the grouping process: service/triage/grouper.py) and
the worker that sends state acks down. Built and stopped by the app's lifespan."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from noodcore.worker import Worker
from service.gazetteer.importer import seed_gazetteer
from service.store import BatchHook, StoreResult
from service.triage.acks import StateAckSender
from service.triage.grouper import (
    Grouper,
    GrouperProcess,
    QueueForGrouping,
    grouper_config,
    pending_state,
)
from service.triage.grouping import PLACED_KINDS, GroupingHook
from service.triage.settings import TriageSettings

log = logging.getLogger(__name__)


class Triage:
    def __init__(self, engine: Engine, cp_id: str, settings: TriageSettings | None = None) -> None:
        self.engine = engine
        self.cp_id = cp_id
        self.settings = settings or TriageSettings()
        if self.settings.gazetteer_dir:
            seed_gazetteer(engine, Path(self.settings.gazetteer_dir))
        self.hook = GroupingHook(cp_id, self.settings)
        self.ack_sender: StateAckSender | None = None
        self.grouping_process: GrouperProcess | None = None
        # Given by the runtime (PostgreSQL with a leader lock or shared ingest): the instance
        # name the grouping process takes the grouping lock under.
        self.sync_instance: str | None = None
        # Called after every operator change (the app adds the upstream summary scheduler).
        self.listeners: list[Callable[[], None]] = []

    @property
    def hooks(self) -> list[BatchHook]:
        """The ingest worker's batch hooks (none when grouping is switched off)."""
        if not self.settings.grouping:
            return []
        if self.settings.grouping_process:
            return [QueueForGrouping()]
        return [self.hook]

    @property
    def workers(self) -> list[Worker]:
        # Only once started (without MQTT it never is); a thread that died still shows.
        workers: list[Worker] = []
        if self.ack_sender is not None and self.ack_sender.started:
            workers.append(self.ack_sender)
        if self.grouping_process is not None and self.grouping_process.started:
            workers.append(self.grouping_process)
        return workers

    def place_leftovers(self) -> int:
        """Place reports an earlier run left queued for a grouping process (the setting was
        switched off, or the CP stopped before they were placed). Without the grouping
        process this runs before ingest starts, with the ingest's own hook and window."""
        if not self.settings.grouping or self.settings.grouping_process:
            return 0
        done = Grouper(self.engine, self.hook, self.cp_id).drain_all()
        if done:
            log.warning("placed %d reports an earlier run left queued for grouping", done)
        return done

    def start(self, bridge: Any) -> None:
        """Start sending state acks through ``bridge`` (service.mqtt.MqttBridge, or None),
        and the grouping process when grouping runs in its own."""
        self.ack_sender = StateAckSender(self.engine, bridge, self.settings.ack_poll_seconds)
        self.ack_sender.start()
        if self.settings.grouping and self.settings.grouping_process:
            url = self.engine.url.render_as_string(hide_password=False)
            self.grouping_process = GrouperProcess(
                self.engine,
                grouper_config(url, self.cp_id, self.settings, self.sync_instance),
                on_grouped=self.grouped,
            )
            self.grouping_process.start()

    def after_ingest(self, results: list[StoreResult]) -> None:
        """Called by the ingest worker after each commit: wake the grouping process when
        reports were queued for it."""
        gp = self.grouping_process
        if gp is not None and any(r.new and r.kind in PLACED_KINDS for r in results):
            gp.wake_grouping()

    def grouped(self) -> None:
        """The grouping process placed reports: their state acks and the upstream picture
        go now, not at the next poll."""
        if self.ack_sender is not None:
            self.ack_sender.wake()
        for listener in self.listeners:
            listener()

    def grouping_queue(self) -> dict[str, Any] | None:
        """For /readyz: reports waiting for the grouping process, and the process's state
        (``GrouperProcess.state``; absent on a standby, which runs none). None: grouping at
        ingest."""
        if not (self.settings.grouping and self.settings.grouping_process):
            return None
        try:
            queue = pending_state(self.engine)
        except sa.exc.SQLAlchemyError as exc:
            # /readyz must answer while the database is gone (its "database" check says so);
            # the queue is then unknown, not a reason for a 500.
            queue = {"unknown": f"database unreachable ({type(exc).__name__})"}
        if self.grouping_process is not None:
            queue["process"] = self.grouping_process.state()
        return queue

    def changed(self) -> None:
        """An operator's change was committed: grouping re-reads the items (merges and splits
        moved reports), and its acks go out now, not at the next poll."""
        self.hook.recent.invalidate()
        if self.grouping_process is not None:
            self.grouping_process.operator_changed()
        if self.hook.sync is not None:
            # The other ingest processes of this database reload their window too.
            try:
                self.hook.sync.operator_changed(self.engine)
            except Exception:  # the change itself is committed; only their window lags
                log.exception("could not tell the other CP processes about a triage change")
        if self.ack_sender is not None:
            self.ack_sender.wake()
        for listener in self.listeners:
            listener()

    def stop(self) -> None:
        if self.grouping_process is not None:
            self.grouping_process.stop(30)
        if self.ack_sender is not None:
            self.ack_sender.stop()
