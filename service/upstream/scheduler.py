"""The timer of the upward path: scheduled summaries and the NSP silence watch (CP role)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from sqlalchemy.engine import Engine

from schemas.upstream import SummaryTrigger
from service.upstream.changes import UpstreamChanges

log = logging.getLogger(__name__)


class SummaryScheduler:
    def __init__(
        self,
        engine: Engine,
        changes: UpstreamChanges,
        interval_seconds: float,
        watch_seconds: float,
        on_commit: Callable[[], None],
    ) -> None:
        self.engine = engine
        self.changes = changes
        self.interval = interval_seconds
        self.watch_seconds = watch_seconds
        self.on_commit = on_commit
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.last_error: str | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="summary-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 15) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        pending_trigger: SummaryTrigger | None = None
        next_summary = time.monotonic() + self.interval
        while not self._stop.is_set():
            try:
                if self.interval > 0 and time.monotonic() >= next_summary:
                    pending_trigger = pending_trigger or SummaryTrigger.SCHEDULE
                if pending_trigger is not None:
                    self.changes.produce_now(self.engine, pending_trigger)
                    pending_trigger = None
                    next_summary = time.monotonic() + self.interval
                    self.on_commit()
                elif self.changes.watch(self.engine) is not None:
                    self.on_commit()
                self.last_error = None
            except Exception as exc:  # database down: try again on the next tick
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("summary scheduler step failed")
            wait = self.watch_seconds
            if self.interval > 0:
                wait = min(wait, max(0.0, next_summary - time.monotonic()))
            self._stop.wait(max(wait, 0.05))
