"""The periodic status heartbeat: the last status the staff entered, re-sent by the timer.

It never invents facts: until the staff have entered a status there is nothing to repeat,
so nothing is sent (the retained presence message still tells the CP the gateway is up).
"""

from __future__ import annotations

import logging
import threading

from gateway.outbox import Outbox, OutboxEntry

log = logging.getLogger(__name__)


class Heartbeat:
    def __init__(self, outbox: Outbox, interval_seconds: float) -> None:
        self.outbox = outbox
        self.interval = interval_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._warned = False

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="gw-heartbeat", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def beat(self) -> OutboxEntry | None:
        """Enqueue one heartbeat (coalesced by the outbox); None when no status exists yet."""
        status = self.outbox.latest_status()
        if status is None:
            # Warn once; repeating it every interval would drown the log during a long wait.
            level = logging.DEBUG if self._warned else logging.WARNING
            log.log(level, "no status entered yet: heartbeat not sent until the staff enter one")
            self._warned = True
            return None
        entry = self.outbox.enqueue("status", status.model_copy(update={"heartbeat": True}))
        if entry.coalesced:
            log.debug("heartbeat seq %s still undelivered; not adding another", entry.seq)
        return entry

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.beat()
            except Exception:
                log.exception("heartbeat failed; trying again next interval")
