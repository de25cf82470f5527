"""The timer of the upward path (CP role): owed summaries, scheduled summaries, and the watch
for NSPs going silent.

A summary is built from the whole store (counts, open items, the information topics), so
its cost grows with the store, and during a reconnect backlog a change is owed after every
ingest batch. Owed summaries therefore also keep to a CPU budget: after one that took ``c``
seconds of this thread's CPU, the next owed one waits at least ``c / SUMMARY_CPU_SHARE``.
Without it, summaries every ``summary_min_interval_seconds`` took a sixth of the CP's CPU
while a backlog drained (bench/ingest.py, py-spy), CPU the ingest worker needs to store and
ack P1s. Scheduled summaries and the watch are not affected; the crisis room sees the burst
a few seconds later, never less than every ``min_interval``.

For the same reason an owed summary waits while P1s are queued for ingest (``p1_waiting``),
at most ``MAX_P1_DEFER_SECONDS``: during a reconnect every NSP's P1s arrive at once, and a
summary of 0.1 – 0.3 s of CPU in the middle of them delays their acks by as much. Each P1
item goes upward on its own, from the ingest transaction, so the crisis room's P1 list does
not wait for the summary.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy.engine import Engine

from noodcore.worker import Worker
from schemas.upstream import Summary, SummaryTrigger
from service.upstream.changes import UpstreamChanges
from service.upstream.node import summary_due

log = logging.getLogger(__name__)

# At most this share of one core goes to owed summaries (see the module docstring).
SUMMARY_CPU_SHARE = 0.05
# Longest an owed summary waits for the queued P1s to be stored (see the module docstring).
MAX_P1_DEFER_SECONDS = 10.0


def owed_gap(min_interval: float, last_cost: float) -> float:
    """Seconds between two owed summaries: the configured minimum, or longer when the last
    one's CPU cost would otherwise exceed ``SUMMARY_CPU_SHARE`` of a core."""
    return max(min_interval, last_cost / SUMMARY_CPU_SHARE)


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
        self._last_cost = 0.0  # CPU seconds of the last summary
        # Set by the runtime: how many P1s wait for the ingest worker (they go first).
        self.p1_waiting: Callable[[], int] = lambda: 0
        self._deferred_since: float | None = None

    def start(self) -> None:
        """Start the timer; the caller has just made the startup summary."""
        self._last_summary = time.monotonic()
        self._next_scheduled = self._last_summary + self.interval
        super().start()

    def wake(self) -> None:
        """A change was committed: a summary may be owed."""
        super().wake()

    def _produce(self, triggers: list[SummaryTrigger]) -> Summary | None:
        cpu = time.thread_time()
        try:
            return self.changes.produce(self.engine, triggers)
        finally:
            self._last_cost = time.thread_time() - cpu

    def step(self) -> float:
        """One round; returns how long to sleep unless woken."""
        now = time.monotonic()
        if now >= self._next_watch:  # not on every wake-up: those come per ingest batch
            self._next_watch = now + self.watch_seconds
            if self.changes.watch(self.engine):
                self.on_commit()  # the events
        now = time.monotonic()
        made = None
        # The scheduler is woken after every ingest batch: the gates that need no database
        # (the gap since the last summary, the P1s queued) are looked at before asking the
        # database whether a summary is owed. During a burst the read was 4 % of the CP.
        gap_left = self._last_summary + owed_gap(self.min_interval, self._last_cost) - now
        p1s = self.p1_waiting()
        if p1s == 0:
            self._deferred_since = None  # the deferral counts from the P1 queue's start
        if self.interval > 0 and now >= self._next_scheduled:
            made = self._produce([SummaryTrigger.SCHEDULE])
        elif gap_left > 0:
            # During a burst, one summary per min interval (or per CPU budget, the longer)
            # carries all triggers since.
            return min(gap_left, self._sleep_for_timers())
        elif p1s > 0 and (
            self._deferred_since is None or now - self._deferred_since < MAX_P1_DEFER_SECONDS
        ):
            if self._deferred_since is None:
                self._deferred_since = now
            return 0.1  # the P1s first; looked at again shortly
        elif summary_due(self.engine):
            made = self._produce([])
        if made is not None:
            self._deferred_since = None
            self._last_summary = time.monotonic()
            self._next_scheduled = self._last_summary + self.interval if self.interval else 0
            self.on_commit()
        return self._sleep_for_timers()

    def _sleep_for_timers(self) -> float:
        """Seconds until the watch or the scheduled summary is due."""
        wait = self._next_watch - time.monotonic()
        if self.interval > 0:
            wait = min(wait, self._next_scheduled - time.monotonic())
        return max(wait, 0.01)
