"""The one downward sender: how the CP gets a stored message to an NSP until its gateway
confirms it (tasks, ``service/tasks/sending.py``; aid assignments, ``service/aid/sending.py``).

A kind that uses it keeps, per NSP and item, a row with the exact bytes of the current
revision (``payload``), the NSP (``nsp_id``), ``last_sent_at`` and ``send_count``; it says
which rows are unconfirmed. This module does the rest, the same for every kind:
  * ``send`` publishes each row's stored bytes on the NSP's ``down/<kind>`` topic (QoS 1,
    persistent session: the broker queues it for an offline gateway) and records the send.
    One row whose publish fails is logged and left for the next re-send (with a ``guard``,
    parked with its own backoff); the others still go out and are recorded.
  * ``Resender`` sends the unconfirmed rows again after every (re)connect of the service to
    the broker (it may have lost a queued message, or the service may have died between
    commit and publish), and, to an NSP that is online but has not confirmed, after
    ``resend_seconds`` (``online_and_not_sent_since``: the broker queues copies for offline
    gateways itself).
  * Only items younger than ``RESEND_WINDOW`` are re-sent.
The gateway recognises a copy it already has (same message id) and confirms a revision
through its durable outbox.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Hashable, Sequence
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Generic, Protocol, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, col

from noodcore.db import table_of
from noodcore.worker import ItemGuard, Worker
from schemas import topics, utcnow
from service.models import Nsp

log = logging.getLogger(__name__)

# Only items younger than this are re-sent: an unconfirmed task of last week is for the
# operator to look at, not for the broker to queue again and again.
RESEND_WINDOW = timedelta(days=7)


class Broker(Protocol):
    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None: ...


class ConnectingBroker(Broker, Protocol):
    def add_connect_listener(self, callback: Callable[[], None]) -> None: ...


def _publish(broker: Broker, topic: str, payload: str) -> None:
    broker.publish(topic, payload.encode(), qos=1)


def send(
    engine: Engine,
    cp_id: str,
    broker: Broker | None,
    rows: Sequence[Any],
    *,
    kind: str,
    model: type[SQLModel],
    key: str,
    guard: ItemGuard[Hashable],
) -> int:
    """Publish the stored ``payload`` of each row (an instance of ``model``) on its NSP's
    ``down/<kind>`` topic and record the send in the rows whose column ``key`` matches.

    A row without a payload is skipped; one whose publish fails is left for the next re-send
    (and parked by ``guard``); the others still go out and are recorded.
    """
    if broker is None or not rows:
        return 0
    now = utcnow()
    sent: list[Hashable] = []
    for row in rows:
        if row.payload is None:
            continue
        item = getattr(row, key)
        assert item is not None
        topic = topics.down(cp_id, row.nsp_id, kind)
        if guard.attempt(item, partial(_publish, broker, topic, row.payload)):
            sent.append(item)
    if sent:
        table = table_of(model)
        with engine.begin() as conn:
            conn.execute(
                sa.update(table)
                .where(table.c[key].in_(sent))
                .values(last_sent_at=now, send_count=table.c.send_count + 1)
            )
    return len(sent)


Q = TypeVar("Q", bound=Any)


def online_and_not_sent_since(
    query: Q, nsp_id: Any, last_sent_at: Any, now: datetime, older_than: timedelta
) -> Q:
    """Narrow ``query`` (rows with the columns ``nsp_id`` and ``last_sent_at``) to NSPs whose
    presence is online and that were last sent to longer ago than ``older_than``."""
    return (
        query.join(Nsp, col(Nsp.nsp_id) == col(nsp_id))
        .where(col(Nsp.online).is_(True))
        .where(col(last_sent_at).is_(None) | (col(last_sent_at) < now - older_than))
    )


R = TypeVar("R")


class Resender(Worker, Generic[R]):
    """Sends a kind's unconfirmed rows again after every (re)connect and, to online NSPs, on
    a timer. A row whose publish keeps failing is parked with its own backoff (``ItemGuard``);
    the other rows are re-sent as usual.

    A kind subclasses it with ``what`` (for the log), ``unconfirmed`` and ``send``, and may
    add work after a (re)connect in ``after_connect``."""

    what = "message"

    def __init__(
        self,
        name: str,
        engine: Engine,
        cp_id: str,
        broker: ConnectingBroker,
        resend_seconds: float,
    ) -> None:
        super().__init__(
            name,
            interval=min(max(resend_seconds / 4, 0.5), 60),
            backoff_cap=30.0,
            item_backoff_cap=max(resend_seconds, 1.0),
        )
        self.engine = engine
        self.cp_id = cp_id
        self.broker = broker
        self.resend = timedelta(seconds=resend_seconds)
        self._connected = threading.Event()
        self.resent_total = 0

    def unconfirmed(
        self, session: Session, now: datetime, online_only_older_than: timedelta | None
    ) -> list[R]:
        raise NotImplementedError

    def send(self, due: list[R]) -> int:
        raise NotImplementedError

    def after_connect(self) -> None:
        """Runs after the re-send that follows a (re)connect."""

    def start(self) -> None:
        self.broker.add_connect_listener(self._on_connect)
        super().start()

    def _on_connect(self) -> None:
        self._connected.set()
        self.wake()

    def step(self) -> None:
        after_connect = self._connected.is_set()
        self._connected.clear()
        now = utcnow()
        with Session(self.engine) as session:
            due = self.unconfirmed(session, now, None if after_connect else self.resend)
        n = self.send(due)
        self.resent_total += n
        if n:
            # logged under the kind's module, as each kind's resender always did
            logging.getLogger(type(self).__module__).info(
                "sent %d unconfirmed %s message(s) again", n, self.what
            )
        if after_connect:
            self.after_connect()
