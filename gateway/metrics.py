"""``/metrics`` of an NSP gateway in Prometheus text format.

Invariant: read at scrape time from the outbox file and the publisher's link state, nothing
counted on the way, so a scrape never slows the staff form and the numbers survive a restart
(they are the database's). The two that matter in an outage: ``noodnet_gw_outbox_unacked``
(rows not yet acknowledged by the CP) and ``noodnet_gw_outbox_oldest_unacked_seconds``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from gateway.auth import BOARD_READERS
from gateway.models import OutboxRow
from noodcore.db import table_of
from noodcore.httpguard import require
from schemas import utcnow

log = logging.getLogger(__name__)

router = APIRouter()


class GatewayCollector(Collector):
    def __init__(self, runtime: Any) -> None:
        self.rt = runtime

    def collect(self) -> Iterator[Metric]:
        labels = {"nsp_id": self.rt.settings.nsp_id}
        names = list(labels)
        values = list(labels.values())
        ok = 1.0
        try:
            yield from list(self._outbox(names, values))
        except Exception:
            log.exception("metrics: reading the outbox failed")
            ok = 0.0
        info = self.rt.publisher.info()
        connected = GaugeMetricFamily(
            "noodnet_gw_connected", "1 while connected to the CP's broker.", labels=names
        )
        connected.add_metric(values, 1.0 if info.connected else 0.0)
        yield connected
        in_flight = GaugeMetricFamily(
            "noodnet_gw_in_flight", "Messages handed to the broker, PUBACK pending.", labels=names
        )
        in_flight.add_metric(values, float(info.in_flight))
        yield in_flight
        refused = CounterMetricFamily(
            "noodnet_gw_connect_refused", "Connections the broker refused.", labels=names
        )
        refused.add_metric(values, float(info.refused_count))
        yield refused
        try:
            dead = GaugeMetricFamily(
                "noodnet_gw_dead_letters", "Downward messages rejected, kept.", labels=names
            )
            dead.add_metric(values, float(self.rt.inbox.dead_letter_count()))
            yield dead
        except Exception:
            log.exception("metrics: reading the dead letters failed")
            ok = 0.0
        up = GaugeMetricFamily(
            "noodnet_gw_metrics_ok", "1 when the last scrape read all state.", labels=names
        )
        up.add_metric(values, ok)
        yield up

    def _outbox(self, names: list[str], values: list[str]) -> Iterator[Metric]:
        t = table_of(OutboxRow)
        with self.rt.outbox.engine.connect() as conn:
            rows = conn.execute(
                sa.select(t.c.state, t.c.kind, sa.func.count()).group_by(t.c.state, t.c.kind)
            ).all()
            oldest = conn.execute(
                sa.select(sa.func.min(t.c.created_at)).where(t.c.state != "stored")
            ).scalar()
        size = GaugeMetricFamily(
            "noodnet_gw_outbox_rows",
            "Outbox rows per state (queued, sent = not yet acknowledged; stored) and kind.",
            labels=[*names, "state", "kind"],
        )
        unacked = 0
        for state, kind, n in rows:
            size.add_metric([*values, state, kind], float(n))
            if state != "stored":
                unacked += int(n)
        yield size
        pending = GaugeMetricFamily(
            "noodnet_gw_outbox_unacked",
            "Rows the CP has not acknowledged yet (the backlog).",
            labels=names,
        )
        pending.add_metric(values, float(unacked))
        yield pending
        age = GaugeMetricFamily(
            "noodnet_gw_outbox_oldest_unacked_seconds",
            "Age of the oldest row the CP has not acknowledged (0 when none).",
            labels=names,
        )
        age.add_metric(values, _age(oldest))
        yield age


def _age(t: Any) -> float:
    if t is None:
        return 0.0
    if isinstance(t, str):
        t = datetime.fromisoformat(t)
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return max(0.0, (utcnow() - t).total_seconds())


@router.get(
    "/metrics",
    dependencies=[require(*BOARD_READERS)],
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text"}},
)
def metrics(request: Request) -> Response:
    """Prometheus text format: outbox backlog and its oldest row, link state, dead letters."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(GatewayCollector(request.app.state.runtime))
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
