"""The triage part of the running service: the grouping hook for the ingest worker and the
worker that sends state acks down. Built and stopped by the app's lifespan."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy.engine import Engine

from noodcore.worker import Worker
from service.gazetteer.importer import seed_gazetteer
from service.triage.acks import StateAckSender
from service.triage.grouping import GroupingHook
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
        # Called after every operator change (the app adds the upstream summary scheduler).
        self.listeners: list[Callable[[], None]] = []

    @property
    def hooks(self) -> list[GroupingHook]:
        """The ingest worker's batch hooks (none when grouping is switched off)."""
        return [self.hook] if self.settings.grouping else []

    @property
    def workers(self) -> list[Worker]:
        # Only once started (without MQTT it never is); a thread that died still shows.
        return [self.ack_sender] if self.ack_sender is not None and self.ack_sender.started else []

    def start(self, bridge: Any) -> None:
        """Start sending state acks through ``bridge`` (service.mqtt.MqttBridge, or None)."""
        self.ack_sender = StateAckSender(self.engine, bridge, self.settings.ack_poll_seconds)
        self.ack_sender.start()

    def changed(self) -> None:
        """An operator's change was committed: grouping re-reads the items (merges and splits
        moved reports), and its acks go out now, not at the next poll."""
        self.hook.recent.invalidate()
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
        if self.ack_sender is not None:
            self.ack_sender.stop()
