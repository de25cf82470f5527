"""Wires the upward path into the service: built and stopped by the app lifespan."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.engine import Engine

from noodcore.worker import Worker
from schemas.upstream import SummaryTrigger
from service.settings import Role, ServiceSettings
from service.store import BatchHook, StoreResult
from service.upstream.changes import UpstreamChanges
from service.upstream.events import EventNotifier
from service.upstream.forwarder import Forwarder
from service.upstream.node import ensure_node
from service.upstream.scheduler import SummaryScheduler
from service.upstream.settings import UpstreamSettings
from service.upstream.summary import SummaryConfig


class Upstream:
    """Summaries and change detection (CP role), the forwarder and the stream notifier."""

    def __init__(self, engine: Engine, settings: ServiceSettings, upstream: UpstreamSettings):
        self.engine = engine
        self.settings = settings
        self.upstream = upstream
        self.role = settings.role
        self.instance_id = ensure_node(engine)
        self.give_up_after = timedelta(seconds=upstream.upstream_give_up_seconds)
        self.config = SummaryConfig(
            cp_id=settings.cp_id,
            silent_after=timedelta(seconds=settings.silent_after_seconds),
            low_power_hours=upstream.low_power_hours,
            max_items=upstream.summary_max_items,
            information_window=timedelta(hours=upstream.information_window_hours),
        )
        self.notifier = EventNotifier()
        self.forwarder = Forwarder(engine, upstream, sender=settings.cp_id)
        self.changes: UpstreamChanges | None = None
        self.scheduler: SummaryScheduler | None = None
        if self.role == Role.CP:
            self.changes = UpstreamChanges(self.config, upstream.upstream_urls, self.give_up_after)
            self.scheduler = SummaryScheduler(
                engine,
                self.changes,
                upstream.summary_interval_seconds,
                upstream.summary_min_interval_seconds,
                upstream.watch_interval_seconds,
                self.committed,
            )

    @property
    def workers(self) -> list[Worker]:
        """Every background worker of the upward path (for health reports)."""
        workers: list[Worker] = list(self.forwarder.workers)
        if self.scheduler is not None:
            workers.append(self.scheduler)
        return workers

    @property
    def ingest_hooks(self) -> Sequence[BatchHook]:
        return [self.changes.ingest_hook] if self.changes is not None else []

    def after_ingest(self, _results: list[StoreResult]) -> None:
        """Called by the ingest worker after each commit."""
        self.committed()

    def committed(self) -> None:
        """Something upstream-relevant was committed: send and stream it now, not at next poll."""
        self.forwarder.wake()
        self.notifier.notify()
        if self.scheduler is not None:
            self.scheduler.wake()

    def start(self) -> None:
        if self.changes is not None:
            # A summary at start, so the region learns at once that this CP is (back) up.
            self.changes.produce_now(self.engine, SummaryTrigger.STARTUP)
        self.forwarder.start()
        if self.scheduler is not None:
            self.scheduler.start()

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
        self.forwarder.stop()


def get_upstream(request: Request) -> Upstream:
    upstream: Upstream = request.app.state.upstream
    return upstream


UpstreamDep = Annotated[Upstream, Depends(get_upstream)]
