"""Wiring of one running gateway: outbox, inbox, MQTT publisher and heartbeat."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from gateway.downlink import Downlink
from gateway.heartbeat import Heartbeat
from gateway.inbox import Inbox
from gateway.outbox import Outbox
from gateway.publisher import Publisher
from gateway.settings import GatewaySettings
from noodnet.jsonlog import set_process_ids

log = logging.getLogger(__name__)


@dataclass
class GatewayRuntime:
    settings: GatewaySettings
    outbox: Outbox
    inbox: Inbox
    downlink: Downlink
    publisher: Publisher
    heartbeat: Heartbeat

    @classmethod
    def open(cls, settings: GatewaySettings) -> GatewayRuntime:
        set_process_ids(nsp_id=settings.nsp_id)  # every log line names the NSP
        outbox = Outbox(settings.db_path, settings.nsp_id)
        inbox = Inbox(outbox)
        downlink = Downlink(settings.cp_id, settings.nsp_id, outbox, inbox)
        publisher = Publisher(settings, outbox, downlink)
        downlink.on_requeue = publisher.rescan
        heartbeat = Heartbeat(outbox, settings.heartbeat_seconds)
        return cls(settings, outbox, inbox, downlink, publisher, heartbeat)

    def start(self) -> None:
        self.publisher.start()
        self.heartbeat.start()
        counts = self.outbox.counts()
        log.info(
            "gateway %s (CP %s) up; outbox %s at %s",
            self.settings.nsp_id,
            self.settings.cp_id,
            counts,
            self.settings.db_path,
        )

    def stop(self) -> None:
        self.heartbeat.stop()
        self.publisher.stop()
        self.outbox.close()
        log.info("gateway %s stopped", self.settings.nsp_id)
