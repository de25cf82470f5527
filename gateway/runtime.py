"""Wiring of one running gateway: outbox, inbox, MQTT publisher and heartbeat."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import timedelta

from gateway.aid import AidStore
from gateway.down import DownHandler
from gateway.facilities import FacilityStore
from gateway.goods import GoodsStore
from gateway.heartbeat import Heartbeat
from gateway.inbox import Inbox
from gateway.outbox import Outbox
from gateway.publisher import Publisher
from gateway.settings import GatewaySettings
from noodcore.jsonlog import set_process_ids
from noodcore.worker import Worker, WorkerReport

log = logging.getLogger(__name__)


@dataclass
class GatewayRuntime:
    settings: GatewaySettings
    outbox: Outbox
    inbox: Inbox
    down_handler: DownHandler
    publisher: Publisher
    heartbeat: Heartbeat
    facilities: FacilityStore
    aid: AidStore
    goods: GoodsStore

    @classmethod
    def open(cls, settings: GatewaySettings) -> GatewayRuntime:
        set_process_ids(nsp_id=settings.nsp_id)  # every log line names the NSP
        outbox = Outbox(
            settings.db_path,
            settings.nsp_id,
            clock_offset=timedelta(seconds=settings.clock_offset_seconds),
        )
        inbox = Inbox(outbox)
        facilities = FacilityStore(outbox)
        aid = AidStore(outbox)
        goods = GoodsStore(outbox, settings.timezone)
        down_handler = DownHandler(
            settings.cp_id,
            settings.nsp_id,
            outbox,
            inbox,
            facilities=facilities,
            aid=aid,
            goods=goods,
        )
        publisher = Publisher(settings, outbox, down_handler)
        down_handler.on_requeue = publisher.rescan
        down_handler.on_acked = publisher.acked
        heartbeat = Heartbeat(outbox, settings.heartbeat_seconds)
        return cls(
            settings, outbox, inbox, down_handler, publisher, heartbeat, facilities, aid, goods
        )

    @property
    def workers(self) -> list[Worker]:
        """The gateway's background workers (``noodcore.worker``): sender, retry of downward
        messages that failed, and heartbeat."""
        return [self.publisher.sender, self.publisher.down_retry, self.heartbeat]

    def health(self) -> WorkerReport:
        return WorkerReport.of(self.workers)

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
