"""``/metrics`` of the CP service in Prometheus text format.

Invariant: a scrape reads state, it never changes it, and it costs the ingest path nothing.
Everything is read at scrape time by one ``Collector`` from what already exists: the ingest
worker's counters and queues, the database (messages per kind, dead letters, NSPs, triage
items, the upstream outbox, bulletin reach) and an in-process count of open SSE streams.
That keeps ingest free of metric calls, and the numbers are the database's own: after a
restart the per-kind totals continue instead of starting at zero.

Each app has its own registry (tests run several apps in one process); the ingest batch
latency and ack wait histograms are the process-wide exceptions, observed by the worker (see
``service/ops/timing.py``).
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlmodel import Session
from starlette.types import ASGIApp, Receive, Scope, Send

from noodcore.db import table_of
from noodcore.httpguard import Role, require
from schemas import UP_KINDS, utcnow
from service.ops.timing import ACK_SECONDS, INGEST_BATCH_SECONDS, MESSAGES_RECEIVED

log = logging.getLogger(__name__)

SSE_PATH = "/api/v1/stream"
router = APIRouter()


def _since(t: Any, now_ts: float) -> float:
    return max(0.0, now_ts - t.timestamp()) if t is not None else 0.0


def _kind_of_topic(topic: str | None) -> str:
    # noodnet/v1/{cp}/nsp/{nsp}/up/{kind}; anything else (HTTP, presence) by what it is.
    if not topic:
        return "http"
    parts = topic.split("/")
    if len(parts) >= 7 and parts[5] == "up":
        return parts[6]
    return parts[-1] if parts[-1] == "status" else "other"


class SseClients:
    """ASGI middleware counting open responses on the SSE stream (no edit to the stream)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.open = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path") != SSE_PATH:
            await self.app(scope, receive, send)
            return
        self.open += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.open -= 1


class CpCollector(Collector):
    """Reads the CP's state at scrape time; see the module docstring."""

    def __init__(self, app_state: Any, sse: SseClients | None = None) -> None:
        self.state = app_state
        self.sse = sse

    def collect(self) -> Iterator[Metric]:
        ctx = getattr(self.state, "ctx", None)
        if ctx is None:  # not started yet (or stopping)
            return
        started = time.perf_counter()
        ok = 1.0
        yield from self._worker(ctx.worker)
        with Session(ctx.engine) as session:
            parts = (
                lambda: self._messages(session),
                lambda: self._nsps(session, ctx.settings),
                lambda: self._triage(session),
                lambda: self._forwarder(session),
                lambda: self._reach(session, ctx.settings),
            )
            for part in parts:
                # One part failing (e.g. a table a newer migration renames) leaves the others.
                try:
                    yield from list(part())
                except Exception:
                    log.exception("metrics: reading the CP's state failed")
                    session.rollback()
                    ok = 0.0
        up = GaugeMetricFamily("noodnet_cp_metrics_ok", "1 when the last scrape read all state.")
        up.add_metric([], ok)
        yield up
        took = GaugeMetricFamily("noodnet_cp_metrics_scrape_seconds", "Time this scrape took.")
        took.add_metric([], time.perf_counter() - started)
        yield took
        sse = GaugeMetricFamily("noodnet_cp_sse_clients", "Open live-stream (SSE) connections.")
        sse.add_metric([], float(self.sse.open if self.sse else 0))
        yield sse

    # ---------------------------------------------------------------- parts

    def _worker(self, worker: Any) -> Iterator[Metric]:
        stored = CounterMetricFamily(
            "noodnet_cp_ingest_stored",
            "Messages the ingest worker stored since this process started.",
        )
        stored.add_metric([], float(getattr(worker, "stored_total", 0)))
        yield stored
        dead = CounterMetricFamily(
            "noodnet_cp_ingest_dead_lettered",
            "Messages the ingest worker dead-lettered since this process started.",
        )
        dead.add_metric([], float(getattr(worker, "dead_lettered_total", 0)))
        yield dead
        depth = GaugeMetricFamily(
            "noodnet_cp_queue_depth", "Messages waiting in an ingest lane.", labels=["lane"]
        )
        backlog = getattr(worker, "backlog", None)
        depth.add_metric(["ingest"], float(backlog() if callable(backlog) else 0))
        queue = getattr(worker, "_queue", None)
        parked = getattr(queue, "parked", None)
        if callable(parked):
            depth.add_metric(["admission_parked"], float(sum(parked().values())))
        yield depth
        err = GaugeMetricFamily(
            "noodnet_cp_ingest_failing", "1 while the ingest worker retries a failing batch."
        )
        err.add_metric([], 1.0 if getattr(worker, "last_error", None) else 0.0)
        yield err
        yield from INGEST_BATCH_SECONDS.collect()
        yield from ACK_SECONDS.collect()
        yield from MESSAGES_RECEIVED.collect()

    def _messages(self, session: Session) -> Iterator[Metric]:
        stored = CounterMetricFamily(
            "noodnet_cp_messages_stored",
            "Messages in the CP's database, per kind (the database's own count).",
            labels=["kind"],
        )
        from service.models import DeadLetter, Message

        m = table_of(Message)
        # Every kind from the start (0 included), so rate() and increase() see the first one.
        counts: Counter[str] = Counter(dict.fromkeys(UP_KINDS, 0))
        for kind, n in session.execute(
            sa.select(m.c.kind, sa.func.count()).group_by(m.c.kind)
        ).all():
            counts[kind] += n
        for kind, n in sorted(counts.items()):
            stored.add_metric([kind], float(n))
        yield stored
        dead = CounterMetricFamily(
            "noodnet_cp_messages_dead_lettered",
            "Rejected messages in the dead-letter store, per kind (from the topic).",
            labels=["kind"],
        )
        per_kind: Counter[str] = Counter(dict.fromkeys(UP_KINDS, 0))
        d = table_of(DeadLetter)
        for topic, n in session.execute(
            sa.select(d.c.topic, sa.func.count()).group_by(d.c.topic)
        ).all():
            per_kind[_kind_of_topic(topic)] += n
        for kind, n in sorted(per_kind.items()):
            dead.add_metric([kind], float(n))
        yield dead

    def _nsps(self, session: Session, settings: Any) -> Iterator[Metric]:
        now_ts = utcnow().timestamp()
        last_seen = GaugeMetricFamily(
            "noodnet_cp_nsp_last_seen_timestamp_seconds",
            "When the CP last heard from the NSP (Unix time).",
            labels=["nsp_id"],
        )
        silent = GaugeMetricFamily(
            "noodnet_cp_nsp_silent_seconds",
            "Seconds since the NSP was last heard.",
            labels=["nsp_id"],
        )
        gaps = GaugeMetricFamily(
            "noodnet_cp_nsp_sequence_gap_messages",
            "Messages of the NSP's sequence the CP has not received (sum of the gaps).",
            labels=["nsp_id"],
        )
        max_seq = GaugeMetricFamily(
            "noodnet_cp_nsp_max_seq", "Highest sequence number received.", labels=["nsp_id"]
        )
        online = GaugeMetricFamily(
            "noodnet_cp_nsp_online",
            "Presence from the retained topic (1 online).",
            labels=["nsp_id"],
        )
        from sqlmodel import select

        from service.models import Nsp

        for nsp in session.exec(select(Nsp)).all():  # a few dozen rows per CP
            if nsp.last_seen is not None:
                last_seen.add_metric([nsp.nsp_id], nsp.last_seen.timestamp())
                silent.add_metric([nsp.nsp_id], _since(nsp.last_seen, now_ts))
            missing = sum(int(b) - int(a) + 1 for a, b in (nsp.gaps or []))
            gaps.add_metric([nsp.nsp_id], float(missing))
            max_seq.add_metric([nsp.nsp_id], float(nsp.max_seq))
            online.add_metric([nsp.nsp_id], 1.0 if nsp.online else 0.0)
        yield from (last_seen, silent, gaps, max_seq, online)
        threshold = GaugeMetricFamily(
            "noodnet_cp_nsp_silent_after_seconds", "The CP's own 'silent' threshold."
        )
        threshold.add_metric([], float(settings.silent_after_seconds))
        yield threshold

    def _triage(self, session: Session) -> Iterator[Metric]:
        now_ts = utcnow().timestamp()
        unacked = GaugeMetricFamily(
            "noodnet_cp_items_unacknowledged",
            "Open items no operator has acknowledged yet, per P-level.",
            labels=["p_level"],
        )
        oldest = GaugeMetricFamily(
            "noodnet_cp_items_unacknowledged_oldest_seconds",
            "Age of the oldest unacknowledged item, per P-level (0 when none).",
            labels=["p_level"],
        )
        from service.triage.models import TriageItem

        items = table_of(TriageItem)
        rows = session.execute(
            sa.select(items.c.top_class, sa.func.count(), sa.func.min(items.c.first_seen))
            .where(items.c.state == "new", items.c.merged_into.is_(None))
            .group_by(items.c.top_class)
        ).all()
        seen = {cls: (n, first) for cls, n, first in rows}
        for cls in ("P1", "P2", "P3", "P4"):
            n, first = seen.get(cls, (0, None))
            unacked.add_metric([cls], float(n))
            oldest.add_metric([cls], _since(_aware(first), now_ts))
        yield unacked
        yield oldest
        # Grouping in its own process (service/triage/grouper.py): reports stored and acked
        # but not yet in the queue. Always exported (0 when grouping runs at ingest).
        from service.triage.grouper import pending_state

        waiting = GaugeMetricFamily(
            "noodnet_cp_grouping_waiting",
            "Reports stored but not yet placed in the queue by the grouping process.",
            labels=["p_level"],
        )
        wait_oldest = GaugeMetricFamily(
            "noodnet_cp_grouping_oldest_seconds",
            "How long the oldest report waiting for the grouping process has waited "
            "(0 when none); p_level P1 or all.",
            labels=["p_level"],
        )
        queue = pending_state(session.connection())
        for label, n, age in (
            ("P1", queue["waiting_p1"], queue["oldest_p1_seconds"]),
            ("all", queue["waiting"], queue["oldest_seconds"]),
        ):
            waiting.add_metric([label], float(n))
            wait_oldest.add_metric([label], float(age or 0.0))
        yield waiting
        yield wait_oldest

    def _forwarder(self, session: Session) -> Iterator[Metric]:
        now_ts = utcnow().timestamp()
        backlog = GaugeMetricFamily(
            "noodnet_cp_forwarder_backlog",
            "Items waiting in the upstream outbox, per target.",
            labels=["target"],
        )
        oldest = GaugeMetricFamily(
            "noodnet_cp_forwarder_oldest_seconds",
            "Age of the oldest item waiting for the target (0 when none).",
            labels=["target"],
        )
        dead = GaugeMetricFamily(
            "noodnet_cp_forwarder_dead",
            "Items the forwarder gave up on (until an operator retries), per target.",
            labels=["target"],
        )
        from service.upstream.models import UpstreamOutbox

        outbox = table_of(UpstreamOutbox)
        rows = session.execute(
            sa.select(
                outbox.c.target, outbox.c.state, sa.func.count(), sa.func.min(outbox.c.created_at)
            )
            .where(outbox.c.state.in_(("pending", "dead")))
            .group_by(outbox.c.target, outbox.c.state)
        ).all()
        targets = sorted({r[0] for r in rows})
        by = {(t, s): (n, first) for t, s, n, first in rows}
        for t in targets:
            n, first = by.get((t, "pending"), (0, None))
            backlog.add_metric([t], float(n))
            oldest.add_metric([t], _since(_aware(first), now_ts))
            dead.add_metric([t], float(by.get((t, "dead"), (0, None))[0]))
        yield from (backlog, oldest, dead)

    def _reach(self, session: Session, settings: Any) -> Iterator[Metric]:
        from service.bulletins.reach import reach
        from service.bulletins.versions import current_versions

        now = utcnow()
        targeted = GaugeMetricFamily(
            "noodnet_cp_bulletin_targeted_nsps",
            "NSPs a bulletin in force is addressed to.",
            labels=["bulletin_id"],
        )
        current = GaugeMetricFamily(
            "noodnet_cp_bulletin_current_nsps",
            "NSPs that confirmed showing the bulletin's current version.",
            labels=["bulletin_id"],
        )
        for _record, version in current_versions(session, include_ended=False, now=now):
            r = reach(
                session,
                version,
                now,
                timedelta(seconds=settings.bulletin_stale_after_seconds),
                timedelta(seconds=settings.silent_after_seconds),
                with_versions=False,
            )
            targeted.add_metric([version.bulletin_id], float(r.summary.targeted))
            current.add_metric([version.bulletin_id], float(r.summary.current))
        yield targeted
        yield current


def _aware(t: Any) -> Any:
    """Raw SQL returns what the driver gives: naive UTC on SQLite (sometimes as text)."""
    from datetime import UTC, datetime

    if t is None:
        return None
    if isinstance(t, str):
        t = datetime.fromisoformat(t)
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)


def install(app: Any) -> None:
    """Add ``/metrics`` and the SSE counter to the CP app (call once, in create_app)."""
    app.add_middleware(_SseMiddleware)
    app.include_router(router)


class _SseMiddleware:
    """Starlette builds middleware lazily; the instance registers itself on the app state."""

    def __init__(self, app: ASGIApp) -> None:
        self.inner = SseClients(app)
        self.registered = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not self.registered and scope["type"] in ("http", "lifespan"):
            state = scope["app"].state
            state.sse_clients = self.inner
            self.registered = True
        await self.inner(scope, receive, send)


@router.get(
    "/metrics",
    dependencies=[require(Role.VIEWER, Role.OPERATOR, Role.ADMIN)],
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
)
def metrics(request: Request) -> Response:
    """Prometheus text format: ingest, NSPs, triage, forwarder, SSE clients, bulletin reach."""
    state = request.app.state
    registry = CollectorRegistry(auto_describe=False)
    registry.register(CpCollector(state, getattr(state, "sse_clients", None)))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
