"""The periodic status heartbeat: the last status the staff entered, re-sent by the timer.

It never invents facts: until the staff have entered a status there is nothing to repeat,
so nothing is sent (the retained presence message still tells the CP the gateway is up).
"""

from __future__ import annotations

import logging

from gateway.outbox import Outbox, OutboxEntry
from noodcore.worker import Worker

log = logging.getLogger(__name__)


class Heartbeat(Worker):
    def __init__(self, outbox: Outbox, interval_seconds: float) -> None:
        # The first beat comes one interval after start (the staff have just been asked).
        super().__init__(
            "gateway heartbeat",
            interval=interval_seconds,
            first_wait=interval_seconds,
            backoff_cap=interval_seconds,
        )
        self.outbox = outbox
        self._warned = False

    def step(self) -> None:
        self.beat()

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
