"""The timer of the upward path (CP role): owed summaries, scheduled summaries, and the watch
for NSPs going silent."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy.engine import Engine

from noodcore.worker import Worker
from schemas.upstream import SummaryTrigger
from service.upstream.changes import UpstreamChanges
from service.upstream.node import summary_due

log = logging.getLogger(__name__)


class SummaryScheduler(Worker):
    def __init__(
        self,
        engine: Engine,
        changes: UpstreamChanges,
        interval_seconds: float,
        min_interval_seconds: float,
        watch_seconds: float,
        on_commit: Callable[[], None],
    ) -> None:
        # A failed round (database down) is tried again within the watch period at the latest.
        super().__init__("summary scheduler", backoff_base=0.5, backoff_cap=min(watch_seconds, 5.0))
        self.engine = engine
        self.changes = changes
        self.interval = interval_seconds
        self.min_interval = min_interval_seconds
        self.watch_seconds = watch_seconds
        self.on_commit = on_commit
        self._last_summary = time.monotonic()
        self._next_scheduled = time.monotonic() + interval_seconds
        self._next_watch = 0.0

    def start(self) -> None:
        """Start the timer; the caller has just made the startup summary."""
        self._last_summary = time.monotonic()
        self._next_scheduled = self._last_summary + self.interval
        super().start()

    def wake(self) -> None:
        """A change was committed: a summary may be owed."""
        super().wake()

    def step(self) -> float:
        """One round; returns how long to sleep unless woken."""
        now = time.monotonic()
        if now >= self._next_watch:  # not on every wake-up: those come per ingest batch
            self._next_watch = now + self.watch_seconds
            if self.changes.watch(self.engine):
                self.on_commit()  # the events
        now = time.monotonic()
        made = None
        if self.interval > 0 and now >= self._next_scheduled:
            made = self.changes.produce(self.engine, [SummaryTrigger.SCHEDULE])
        elif summary_due(self.engine):
            # During a burst, one summary per min interval carries all triggers since.
            if now - self._last_summary < self.min_interval:
                return self._last_summary + self.min_interval - now
            made = self.changes.produce(self.engine)
        if made is not None:
            self._last_summary = time.monotonic()
            self._next_scheduled = self._last_summary + self.interval if self.interval else 0
            self.on_commit()
        wait = self._next_watch - time.monotonic()
        if self.interval > 0:
            wait = min(wait, self._next_scheduled - time.monotonic())
        return max(wait, 0.01)
