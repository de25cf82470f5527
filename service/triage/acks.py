"""State acks to the gateways, through a durable outbox.

A state change is only worth something if the NSP volunteer hears of it. The ack rows are
inserted in the same transaction as the change (``enqueue_ack``), and ``StateAckSender``
publishes them (QoS 1) until the broker has confirmed each one (PUBACK), also across a
broker outage and a restart of the service. The ack message id is fixed when the row is
made, so a second publish of the same row is recognised by the gateway as a duplicate; the
envelope's ``sent_at`` is the time of the change, which is how the gateway orders states.

Limit: a broker that loses messages it has already PUBACKed (killed without persistence)
loses a state ack, as the gateway sends no receipt for acks. The next state change, or a
report that joins the incident, carries the state again.

One row that cannot be handed to the MQTT client is logged, shown in the worker's health and
parked with its own backoff (``noodcore.worker.ItemGuard``); the rows behind it still go.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime
from functools import partial
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from noodcore.db import table_of
from noodcore.worker import Worker
from schemas import Ack, AckMessage, HandlingState, new_message_id, topics, utcnow
from service.triage.models import StateAckOutbox

log = logging.getLogger(__name__)

_T = table_of(StateAckOutbox)


def enqueue_ack(
    conn: Connection,
    *,
    cp_id: str,
    nsp_id: str,
    ref_message_id: str,
    stored_at: datetime,
    state: HandlingState,
    note: str | None,
    item_id: int | None,
    at: datetime,
) -> None:
    """Queue one state ack inside the caller's transaction. A report that came by radio
    first is named by the gateway's own id once its original arrived."""
    from service.fallback.relay import original_id

    ref_message_id = original_id(conn, ref_message_id)
    message = AckMessage(
        message_id=new_message_id(),
        sent_at=at,
        cp_id=cp_id,
        nsp_id=nsp_id,
        body=Ack(
            ref_message_id=ref_message_id,
            state=state,
            stored_at=stored_at,
            note=note[:1000] if note else None,
        ),
    )
    conn.execute(
        sa.insert(_T).values(
            created_at=at,
            item_id=item_id,
            nsp_id=nsp_id,
            topic=topics.down(cp_id, nsp_id, "ack"),
            payload=message.model_dump_json(),
            ack_message_id=message.message_id,
            published_at=None,
            attempts=0,
        )
    )


class StateAckSender(Worker):
    """Publishes queued state acks in order and marks them once the broker has them."""

    def __init__(self, engine: Engine, bridge: Any, poll_seconds: float = 0.5) -> None:
        # ``bridge`` is service.mqtt.MqttBridge (or None without MQTT); its paho client is
        # used directly because the delivery receipt (MQTTMessageInfo) is needed here.
        super().__init__("state ack sender", interval=poll_seconds, backoff_cap=10.0)
        self.engine = engine
        self.bridge = bridge
        self.poll_seconds = poll_seconds
        self._inflight: dict[int, tuple[Any, float]] = {}
        self.republish_after = 60.0
        self.published_total = 0

    def start(self) -> None:
        if self.bridge is None:
            return
        super().start()

    def step(self) -> None:
        self.drain_once()

    def pending_count(self) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(
                    sa.select(sa.func.count()).select_from(_T).where(_T.c.published_at.is_(None))
                ).scalar_one()
            )

    def drain_once(self, limit: int = 500) -> int:
        """Hand unpublished rows to the MQTT client, record the ones the broker confirmed."""
        now = time.monotonic()
        done = [rid for rid, (info, _) in self._inflight.items() if info.is_published()]
        # A copy paho never got through (lost with a broker's session) is handed over again;
        # the gateway recognises the repeat by its ack message id.
        for rid, (_info, handed_at) in list(self._inflight.items()):
            if rid not in done and now - handed_at > self.republish_after:
                del self._inflight[rid]
        if done:
            with self.engine.begin() as conn:
                conn.execute(sa.update(_T).where(_T.c.id.in_(done)).values(published_at=utcnow()))
            for rid in done:
                del self._inflight[rid]
            self.published_total += len(done)
        if not self.bridge.connected:
            # paho would queue them in memory; the table already does that durably, and
            # handing them over only when connected keeps one copy per connection.
            return len(done)
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(_T.c.id, _T.c.topic, _T.c.payload)
                .where(_T.c.published_at.is_(None))
                .order_by(_T.c.id)
                .limit(limit)
            ).all()
        fresh = []
        for row in rows:
            if row.id in self._inflight:
                continue
            info = self.items.run(
                row.id, partial(self.bridge.client.publish, row.topic, row.payload.encode(), qos=1)
            )
            if info is not None:
                self._inflight[row.id] = (info, now)
                fresh.append(row)
        if fresh:
            with self.engine.begin() as conn:
                conn.execute(
                    sa.update(_T)
                    .where(_T.c.id.in_([r.id for r in fresh]))
                    .values(attempts=_T.c.attempts + 1)
                )
        return len(done)
