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
from collections.abc import Callable
from datetime import timedelta
from typing import Protocol

from sqlalchemy.engine import Engine
from sqlmodel import Session

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


def republish_all(engine: Engine, cp_id: str, broker: Broker) -> tuple[int, int]:
    """Publish every bulletin's current version again; returns (published, cleared)."""
    now = utcnow()
    published = cleared = 0
    with PUBLISH_LOCK, Session(engine) as session:
        for _record, version in current_versions(session, now=now):
            if version.valid_until is not None and version.valid_until < now - CLEAR_AFTER:
                # An empty retained message removes the retained one; gateways ignore it.
                broker.publish(topics.bulletin(cp_id, version.bulletin_id), b"", 1, True)
                cleared += 1
            else:
                publish_version(broker, cp_id, version)
                published += 1
    return published, cleared


class BulletinRepublisher:
    """Re-publishes the current bulletins after every broker (re)connect."""

    def __init__(self, engine: Engine, cp_id: str, broker: ConnectingBroker) -> None:
        self.engine = engine
        self.cp_id = cp_id
        self.broker = broker
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.runs = 0

    def start(self) -> None:
        self.broker.add_connect_listener(self._wake.set)
        self._thread = threading.Thread(target=self._run, name="bulletin-republisher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            self._wake.wait()
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                published, cleared = republish_all(self.engine, self.cp_id, self.broker)
                self.runs += 1
                log.info("re-published %d bulletin(s), cleared %d ended", published, cleared)
            except Exception:  # database down: try again shortly
                log.exception("re-publishing bulletins failed; retrying")
                if self._stop.wait(5):
                    return
                self._wake.set()
