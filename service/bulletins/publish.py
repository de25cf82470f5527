"""Putting bulletin versions on the broker: retained, one topic per bulletin.

Retained messages make a gateway that connects late (or after days offline) get the current
set at once. The broker may lose them (a restart without persistence, a SIGKILL between two
autosaves), so after every (re)connect the service publishes the current version of each
bulletin again; the bytes are the stored ones, so gateways that already have it ignore it.

``PUBLISH_LOCK`` orders "commit a version, publish it" against a concurrent re-publish: without
it a re-publish that read version 2 could reach the broker after version 3 and leave 2 retained.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable
from datetime import timedelta
from functools import partial
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session

from noodcore.worker import ItemGuard, Worker
from schemas import topics, utcnow
from service.bulletins.models import BulletinVersion
from service.bulletins.versions import current_versions

log = logging.getLogger(__name__)

PUBLISH_LOCK = threading.RLock()

# A bulletin that ended longer ago than this is cleared from the broker instead of re-published:
# no gateway would show it any more, and late gateways need not download it.
CLEAR_AFTER = timedelta(days=1)


class Broker(Protocol):
    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None: ...


class ConnectingBroker(Broker, Protocol):
    def add_connect_listener(self, callback: Callable[[], None]) -> None: ...


def publish_version(broker: Broker | None, cp_id: str, version: BulletinVersion) -> None:
    """Publish one stored version retained (a no-op when the service runs without MQTT)."""
    if broker is None:
        return
    broker.publish(
        topics.bulletin(cp_id, version.bulletin_id), version.payload.encode(), qos=1, retain=True
    )


def republish_all(
    engine: Engine, cp_id: str, broker: Broker, guard: ItemGuard[Hashable] | None = None
) -> tuple[int, int]:
    """Publish every bulletin's current version again; returns (published, cleared).

    A bulletin whose publish fails is logged and recorded by ``guard`` (and parked with its
    own backoff); the other bulletins are still published."""
    guard = guard or ItemGuard("bulletin re-publish")
    now = utcnow()
    published = cleared = 0
    with PUBLISH_LOCK, Session(engine) as session:
        for _record, version in current_versions(session, now=now):
            if version.valid_until is not None and version.valid_until < now - CLEAR_AFTER:
                # An empty retained message removes the retained one; gateways ignore it.
                topic = topics.bulletin(cp_id, version.bulletin_id)
                if guard.attempt(version.bulletin_id, partial(broker.publish, topic, b"", 1, True)):
                    cleared += 1
            elif guard.attempt(
                version.bulletin_id, partial(publish_version, broker, cp_id, version)
            ):
                published += 1
    return published, cleared


class BulletinRepublisher(Worker):
    """Re-publishes the current bulletins after every broker (re)connect; a round that fails
    (database down) is tried again with backoff, a bulletin that fails is parked on its own."""

    def __init__(self, engine: Engine, cp_id: str, broker: ConnectingBroker) -> None:
        super().__init__("bulletin republisher", interval=None, backoff_cap=30.0)
        self.engine = engine
        self.cp_id = cp_id
        self.broker = broker
        self.runs = 0
        self._owed = False

    def start(self) -> None:
        self.broker.add_connect_listener(self._on_connect)
        super().start()

    def _on_connect(self) -> None:
        self._owed = True
        self.wake()

    def step(self) -> float | None:
        if not self._owed:
            return None
        self._owed = False
        try:
            published, cleared = republish_all(self.engine, self.cp_id, self.broker, self.items)
        except Exception:
            self._owed = True  # the round failed: the retry after the backoff must run it
            raise
        self.runs += 1
        log.info("re-published %d bulletin(s), cleared %d ended", published, cleared)
        # A parked bulletin is tried again when its backoff ends, not only at the next connect.
        count, shown = self.items.failing()
        if count:
            self._owed = True
            return max(min(f.retry_in_seconds for f in shown), 0.1)
        return None
