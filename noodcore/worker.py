"""The one base of every background worker (CP and gateway): a thread that runs ``step`` in a
loop, can be woken and stopped, backs off when a round fails, and reports its health.

Invariants, and why:
  * A failing round never ends the thread: it is logged, counted and retried after an
    exponential backoff (``noodcore.backoff``), so a database outage costs retries, not a
    worker that silently stopped.
  * One failing item never holds up the others: ``ItemGuard.run`` runs the work for one item,
    and an item that raises is logged, kept in a visible record (``Health.failing_items``) and
    parked with its own backoff while the rest of the round goes on.
  * Health is observable: ``Health.healthy`` turns False after ``failure_threshold`` failed
    rounds in a row, or when no round succeeded for ``stale_after`` seconds; the CP's
    ``/readyz`` and operator console show it, so a worker that keeps failing is seen at once.

Adopting it (e.g. the ingest worker): subclass ``Worker``, pass a ``name``, move the body of
the old ``while not stop: ...`` loop into ``step()`` returning how long to wait (``None``: until
woken or ``interval``), call ``self.items.run(key, fn)`` for per-item work, and drop the old
thread, Event and ``last_error`` attributes (``start``/``stop``/``wake``/``health`` come from
here). A worker with work to finish at shutdown overrides ``drain()`` (runs on the worker
thread after the last step); one that needs a resource for its lifetime (an HTTP client)
overrides ``open()`` / ``close()``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Generic, TypeVar

from noodcore.backoff import backoff_delay

log = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")


def utcnow() -> datetime:
    return datetime.now(UTC)


# How many failing items a worker shows; more are counted, not listed.
SHOWN_ITEMS = 20


@dataclass(frozen=True)
class ItemFailure:
    key: str
    error: str
    failures: int
    first_failed_at: datetime
    last_failed_at: datetime
    retry_in_seconds: float


@dataclass(frozen=True)
class Health:
    """What ``/readyz`` and the console show about one worker."""

    name: str
    running: bool
    healthy: bool
    reason: str | None
    last_success_at: datetime | None
    consecutive_failures: int
    last_error: str | None
    last_error_at: datetime | None
    failing_item_count: int = 0
    failing_items: tuple[ItemFailure, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "running": self.running,
            "healthy": self.healthy,
            "reason": self.reason,
            "last_success_at": self.last_success_at.isoformat() if self.last_success_at else None,
            "consecutive_failures": self.consecutive_failures,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at.isoformat() if self.last_error_at else None,
            "failing_item_count": self.failing_item_count,
            "failing_items": [
                {
                    "key": f.key,
                    "error": f.error,
                    "failures": f.failures,
                    "first_failed_at": f.first_failed_at.isoformat(),
                    "last_failed_at": f.last_failed_at.isoformat(),
                    "retry_in_seconds": round(f.retry_in_seconds, 1),
                }
                for f in self.failing_items
            ],
        }


@dataclass(frozen=True)
class WorkerReport:
    """The health of every worker, and whether the service is fit to serve."""

    workers: list[Health]

    @classmethod
    def of(cls, workers: Iterable[Worker]) -> WorkerReport:
        return cls([w.health() for w in workers])

    @property
    def failing(self) -> list[Health]:
        return [h for h in self.workers if not h.healthy]

    def as_dict(self) -> dict[str, object]:
        return {
            "healthy": not self.failing,
            "failing": [h.name for h in self.failing],
            "workers": [h.as_dict() for h in self.workers],
        }


@dataclass
class _Parked:
    error: str
    failures: int
    first_failed_at: datetime
    last_failed_at: datetime
    retry_at: float  # time.monotonic()


class ItemGuard(Generic[K]):
    """Per-item isolation: a failing item is recorded and parked with its own backoff.

    ``run(key, fn)`` returns ``fn()``; when ``fn`` raises, the failure is logged and recorded
    and ``run`` returns None (the caller goes on with the next item). While an item is parked
    ``run`` skips it (None) until its retry time; a success clears the record.
    """

    def __init__(self, owner: str, base: float = 1.0, cap: float = 300.0) -> None:
        self.owner = owner
        self.base = base
        self.cap = cap
        self._lock = threading.Lock()
        self._parked: dict[K, _Parked] = {}

    def due(self, key: K) -> bool:
        with self._lock:
            parked = self._parked.get(key)
            return parked is None or time.monotonic() >= parked.retry_at

    def run(self, key: K, fn: Callable[[], T]) -> T | None:
        if not self.due(key):
            return None
        try:
            result = fn()
        except Exception as exc:
            self.failed(key, exc)
            return None
        self.succeeded(key)
        return result

    def attempt(self, key: K, fn: Callable[[], object]) -> bool:
        """Like ``run``, for work without a result: True when ``fn`` ran without error."""
        if not self.due(key):
            return False
        try:
            fn()
        except Exception as exc:
            self.failed(key, exc)
            return False
        self.succeeded(key)
        return True

    def failed(self, key: K, exc: BaseException) -> None:
        error = f"{type(exc).__name__}: {exc}"[:1000]
        now = utcnow()
        with self._lock:
            previous = self._parked.get(key)
            failures = previous.failures + 1 if previous else 1
            delay = backoff_delay(failures, self.base, self.cap)
            self._parked[key] = _Parked(
                error,
                failures,
                previous.first_failed_at if previous else now,
                now,
                time.monotonic() + delay,
            )
        log.error(
            "%s: item %s failed (%d time(s)); parked for %.0fs, the others go on: %s",
            self.owner,
            key,
            failures,
            delay,
            error,
            exc_info=exc if failures == 1 else None,
        )

    def succeeded(self, key: K) -> None:
        with self._lock:
            if self._parked.pop(key, None) is not None:
                log.info("%s: item %s went through after failing before", self.owner, key)

    def forget(self, key: K) -> None:
        """The item is gone (done elsewhere, deleted): drop its record."""
        with self._lock:
            self._parked.pop(key, None)

    def failing(self) -> tuple[int, tuple[ItemFailure, ...]]:
        now = time.monotonic()
        with self._lock:
            items = sorted(self._parked.items(), key=lambda kv: kv[1].first_failed_at)
            shown = tuple(
                ItemFailure(
                    str(k),
                    p.error,
                    p.failures,
                    p.first_failed_at,
                    p.last_failed_at,
                    max(0.0, p.retry_at - now),
                )
                for k, p in items[:SHOWN_ITEMS]
            )
            return len(items), shown


class Worker:
    """A background thread running ``step`` until stopped. Subclasses implement ``step``."""

    def __init__(
        self,
        name: str,
        *,
        interval: float | None = None,
        failure_threshold: int = 3,
        stale_after: float | None = None,
        backoff_base: float = 1.0,
        backoff_cap: float = 60.0,
        first_wait: float = 0.0,
        item_backoff_cap: float = 300.0,
    ) -> None:
        """``interval``: wait between rounds when ``step`` returns None (None: until woken).
        ``stale_after``: unhealthy when no round succeeded for that long (None: never).
        ``first_wait``: wait before the first round (e.g. a heartbeat's first interval)."""
        self.name = name
        self.round_interval = interval
        self.failure_threshold = failure_threshold
        self.stale_after = stale_after
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.first_wait = first_wait
        self.items: ItemGuard[Hashable] = ItemGuard(name, backoff_base, item_backoff_cap)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._health_lock = threading.Lock()
        self._started_mono: float | None = None
        self._last_success_mono: float | None = None
        self.last_success_at: datetime | None = None
        self.consecutive_failures = 0
        self.last_error: str | None = None
        self.last_error_at: datetime | None = None

    # -- to implement ---------------------------------------------------------------------

    def step(self) -> float | None:
        """One round of work; returns seconds to wait before the next (None: the interval)."""
        raise NotImplementedError

    def open(self) -> None:
        """Runs on the worker thread before the first round."""

    def close(self) -> None:
        """Runs on the worker thread after the last round (also after ``drain``)."""

    def drain(self) -> None:
        """Runs on the worker thread once stop was asked, before ``close``."""

    # -- control --------------------------------------------------------------------------

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError(f"worker {self.name} already started")
        self._stop.clear()
        self._started_mono = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Run the next round now (e.g. new work was committed)."""
        self._wake.set()

    def signal_stop(self) -> None:
        self._stop.set()
        self._wake.set()

    def join(self, timeout: float = 15.0) -> None:
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("worker %s did not stop within %.0fs", self.name, timeout)

    def stop(self, timeout: float = 15.0) -> None:
        """Ask the worker to stop and wait for it (at most ``timeout`` seconds)."""
        self.signal_stop()
        self.join(timeout)

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def started(self) -> bool:
        return self._thread is not None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- health ---------------------------------------------------------------------------

    def record_success(self) -> None:
        with self._health_lock:
            self._last_success_mono = time.monotonic()
            self.last_success_at = utcnow()
            self.consecutive_failures = 0
            self.last_error = None

    def record_failure(self, exc: BaseException) -> int:
        with self._health_lock:
            self.consecutive_failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"[:1000]
            self.last_error_at = utcnow()
            return self.consecutive_failures

    @property
    def healthy(self) -> bool:
        return self.health().healthy

    def health(self) -> Health:
        with self._health_lock:
            reason: str | None = None
            if self.consecutive_failures >= self.failure_threshold:
                reason = f"{self.consecutive_failures} failed rounds in a row: {self.last_error}"
            elif self.stale_after is not None and self._started_mono is not None:
                since = self._last_success_mono or self._started_mono
                idle = time.monotonic() - since
                if idle > self.stale_after:
                    reason = f"no successful round for {idle:.0f}s"
            ended = self._thread is not None and not self.running and not self._stop.is_set()
            if reason is None and ended:
                reason = "thread ended"
            count, shown = self.items.failing()
            return Health(
                name=self.name,
                running=self.running,
                healthy=reason is None,
                reason=reason,
                last_success_at=self.last_success_at,
                consecutive_failures=self.consecutive_failures,
                last_error=self.last_error,
                last_error_at=self.last_error_at,
                failing_item_count=count,
                failing_items=shown,
            )

    # -- the loop -------------------------------------------------------------------------

    def run_once(self) -> float | None:
        """One round with the failure accounting of the loop (also for tests and callers
        that drive the worker without its thread); returns the wait before the next."""
        try:
            wait = self.step()
        except Exception as exc:
            failures = self.record_failure(exc)
            delay = backoff_delay(failures, self.backoff_base, self.backoff_cap)
            log.error(
                "worker %s: round failed (%d in a row); retrying in %.1fs",
                self.name,
                failures,
                delay,
                exc_info=exc,
            )
            return delay
        self.record_success()
        return wait

    def _run(self) -> None:
        try:
            self.open()
        except Exception as exc:
            self.record_failure(exc)
            log.exception("worker %s could not start", self.name)
            return
        try:
            if self.first_wait > 0:
                self._wake.wait(self.first_wait)
            while not self._stop.is_set():
                self._wake.clear()
                wait = self.run_once()
                if self._stop.is_set():
                    break
                if wait is None:
                    wait = self.round_interval
                if wait is None or wait > 0:
                    self._wake.wait(wait)
            try:
                self.drain()
            except Exception:
                log.exception("worker %s: draining at stop failed", self.name)
        finally:
            try:
                self.close()
            except Exception:
                log.exception("worker %s: closing failed", self.name)
