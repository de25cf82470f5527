"""Ingest: every upward message, from MQTT or HTTP, goes through here.

    validate → check NSP id against topic → store (batched, idempotent) → ack

The worker thread owns all writes of incoming messages so SQLite sees one writer and batches
stay large. MQTT messages are acknowledged to the broker, and the CP's ``ack`` is published
to the gateway, only after the batch is committed: a crash before that makes the broker
redeliver, and the store recognises the redelivery.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from pydantic import ValidationError
from sqlalchemy.engine import Engine

from schemas import (
    UP_KINDS,
    Ack,
    AckMessage,
    Presence,
    UpMessage,
    new_message_id,
    parse_up,
    topics,
    utcnow,
)
from service.limits.ratelimit import AdmissionQueue
from service.mqtt import Delivery
from service.settings import ServiceSettings
from service.store import (
    Accepted,
    BatchHook,
    PresenceSeen,
    Rejected,
    StoreResult,
    store_batch,
)

log = logging.getLogger(__name__)


class InvalidMessage(Exception):
    """Raised with a reason an operator (and the sender) can act on."""

    def __init__(self, reason: str, nsp_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.nsp_id = nsp_id


def describe_validation_error(exc: ValidationError, strip_tag: bool = True) -> str:
    """'body.location: a location needs ...; seq: must be >= 1' — field paths first."""
    parts = []
    for err in exc.errors(include_url=False):
        loc = [str(p) for p in err["loc"]]
        if strip_tag and loc and loc[0] in UP_KINDS:
            loc = loc[1:]  # drop the discriminator tag pydantic prepends for unions
        msg = err["msg"].removeprefix("Value error, ")
        parts.append(f"{'.'.join(loc) or '(message)'}: {msg}")
    return "; ".join(parts)


def _decode(payload: bytes, max_bytes: int) -> object:
    if len(payload) > max_bytes:
        raise InvalidMessage(f"payload too large: {len(payload)} bytes > limit {max_bytes}")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidMessage(f"payload is not UTF-8 text: {exc}") from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidMessage(f"payload is not JSON: {exc}") from exc


def validate_up(payload: bytes, max_bytes: int, topic: topics.Topic | None = None) -> UpMessage:
    """Validate an upward message; with a topic, also check kind and NSP id against it."""
    if len(payload) > max_bytes:
        raise InvalidMessage(f"payload too large: {len(payload)} bytes > limit {max_bytes}")
    try:
        # The common case: one pass of pydantic's JSON parser over the raw bytes.
        message = parse_up(payload)
    except ValidationError:
        # Only for bad input: take it apart step by step for the most specific reason.
        data = _decode(payload, max_bytes)
        if not isinstance(data, dict):
            raise InvalidMessage(
                f"payload must be a JSON object, got {type(data).__name__}"
            ) from None
        nsp_guess = data.get("nsp_id") if isinstance(data.get("nsp_id"), str) else None
        if "kind" not in data:
            raise InvalidMessage("kind: field required", nsp_guess) from None
        try:
            message = parse_up(json.dumps(data))
        except ValidationError as exc:
            raise InvalidMessage(describe_validation_error(exc), nsp_guess) from exc
    if topic is not None:
        if topic.nsp_id != message.nsp_id:
            raise InvalidMessage(
                f"nsp_id '{message.nsp_id}' in payload does not match NSP '{topic.nsp_id}' "
                "of the topic",
                topic.nsp_id,
            )
        if topic.kind != message.kind:
            raise InvalidMessage(
                f"kind '{message.kind}' in payload does not match kind '{topic.kind}' of the topic",
                topic.nsp_id,
            )
    return message


def validate_presence(payload: bytes, max_bytes: int, topic: topics.Topic) -> Presence:
    data = _decode(payload, max_bytes)
    try:
        presence = Presence.model_validate(data)
    except ValidationError as exc:
        raise InvalidMessage(describe_validation_error(exc, strip_tag=False), topic.nsp_id) from exc
    if presence.nsp_id != topic.nsp_id:
        raise InvalidMessage(
            f"nsp_id '{presence.nsp_id}' in presence does not match NSP '{topic.nsp_id}' "
            "of the topic",
            topic.nsp_id,
        )
    return presence


class RateLimited(Exception):
    """An NSP posts over HTTP faster than its limit; it may try again after ``retry_after``."""

    def __init__(self, nsp_id: str, retry_after: float) -> None:
        super().__init__(f"NSP {nsp_id} is over its rate limit; retry after {retry_after:.0f} s")
        self.nsp_id = nsp_id
        self.retry_after = retry_after


class Downlink(Protocol):
    """What the worker needs from the MQTT side (see service.mqtt.MqttBridge)."""

    def ack_delivery(self, delivery: Delivery) -> None: ...

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None: ...


@dataclass
class Incoming:
    payload: bytes
    received_at: datetime
    transport: str  # "mqtt" | "http"
    topic: str | None = None
    delivery: Delivery | None = None
    future: Future[StoreResult] | None = None


class IngestWorker:
    """Single writer thread: batches incoming messages, commits, then acknowledges."""

    def __init__(
        self,
        engine: Engine,
        settings: ServiceSettings,
        downlink: Downlink | None = None,
        on_stored: Callable[[list[StoreResult]], None] | None = None,
        hooks: Sequence[BatchHook] = (),
        admission: AdmissionQueue | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.downlink = downlink
        self.on_stored = on_stored
        self.hooks = list(hooks)
        # Without an admission policy the queue is one FIFO lane (rate 0 = unlimited).
        self._queue = admission or AdmissionQueue(rate=0, burst=0, park_max=0, overflow_batch=0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.stored_total = 0
        self.dead_lettered_total = 0
        self.last_error: str | None = None

    # -- feeding -------------------------------------------------------------------------

    def submit(self, item: Incoming) -> None:
        self._queue.put(item)

    def submit_http(self, payload: bytes) -> Future[StoreResult]:
        """Validate and queue an HTTP-posted message; raises InvalidMessage or RateLimited
        at once."""
        message = validate_up(payload, self.settings.max_payload_bytes)
        retry_after = self._queue.admit_http(message.nsp_id)
        if retry_after is not None:
            raise RateLimited(message.nsp_id, retry_after)
        fut: Future[StoreResult] = Future()
        self.submit(Incoming(payload=payload, received_at=utcnow(), transport="http", future=fut))
        return fut

    def submit_mqtt(
        self, topic: str, payload: bytes, delivery: Delivery, received_at: datetime
    ) -> None:
        self.submit(Incoming(payload, received_at, "mqtt", topic=topic, delivery=delivery))

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    # -- lifecycle -----------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ingest-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 30) -> None:
        """Drain what is queued (so its acks go out), then stop."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    # -- the loop ------------------------------------------------------------------------

    def _take_batch(self) -> list[Incoming]:
        return self._queue.take_batch(
            self.settings.ingest_batch_size, self.settings.ingest_batch_wait_ms / 1000
        )

    def _release_deferred(self) -> None:
        """PUBACK what the admission queue refused for now (see service.limits.ratelimit)."""
        for item in self._queue.pop_deferred():
            if self.downlink is not None and item.delivery is not None:
                self.downlink.ack_delivery(item.delivery)

    def _run(self) -> None:
        while True:
            self._release_deferred()
            batch = self._take_batch()
            if not batch:
                if self._stop.is_set():
                    return
                continue
            self._process_until_stored(batch)

    def _process_until_stored(self, batch: list[Incoming]) -> None:
        delay = 0.5
        while True:
            try:
                self._process(batch)
                self.last_error = None
                return
            except Exception as exc:  # database down: keep the batch, nothing is acked
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("storing a batch of %d failed; retrying in %.1fs", len(batch), delay)
                if self._stop.wait(delay):
                    # Shutting down: leave MQTT messages unacked so the broker redelivers.
                    for item in batch:
                        if item.future is not None and not item.future.done():
                            item.future.set_exception(exc)
                    return
                delay = min(delay * 2, 10)

    def _process(self, batch: list[Incoming]) -> None:
        accepted: list[tuple[Incoming, Accepted]] = []
        rejected: list[Rejected] = []
        presences: list[PresenceSeen] = []
        limit = self.settings.max_payload_bytes
        for item in batch:
            topic = topics.parse(item.topic) if item.topic else None
            try:
                if item.transport == "mqtt" and (topic is None or topic.nsp_id is None):
                    raise InvalidMessage(f"topic '{item.topic}' is not a Noodnet upward topic")
                if topic is not None and topic.type == "status":
                    presences.append(
                        PresenceSeen(
                            validate_presence(item.payload, limit, topic), item.received_at
                        )
                    )
                    continue
                message = validate_up(item.payload, limit, topic)
                accepted.append((item, Accepted(message, item.received_at, item.transport)))
            except InvalidMessage as exc:
                rejected.append(
                    Rejected(
                        reason=exc.reason,
                        received_at=item.received_at,
                        transport=item.transport,
                        payload=item.payload,
                        topic=item.topic,
                        nsp_id=exc.nsp_id or (topic.nsp_id if topic else None),
                        max_stored_bytes=limit,
                    )
                )
                if item.future is not None:
                    item.future.set_exception(exc)
        results = store_batch(
            self.engine,
            [a for _, a in accepted],
            rejected,
            presences,
            self.settings.cp_id,
            self.hooks,
        )
        self.stored_total += sum(r.new for r in results)
        self.dead_lettered_total += len(rejected)
        if rejected:
            for r in rejected:
                log.warning("dead letter from %s (%s): %s", r.nsp_id, r.topic, r.reason)
        # Committed: now, and only now, tell broker and gateway.
        for (item, _), result in zip(accepted, results, strict=True):
            if item.future is not None:
                item.future.set_result(result)
            elif self.downlink is not None:
                self.downlink.publish(
                    topics.down(self.settings.cp_id, result.nsp_id, "ack"),
                    make_ack(self.settings.cp_id, result).model_dump_json().encode(),
                )
        if self.downlink is not None:
            for item in batch:
                if item.delivery is not None:
                    self.downlink.ack_delivery(item.delivery)
        if self.on_stored is not None:
            self.on_stored(results)


def make_ack(cp_id: str, result: StoreResult) -> AckMessage:
    return AckMessage(
        message_id=new_message_id(),
        sent_at=utcnow(),
        cp_id=cp_id,
        nsp_id=result.nsp_id,
        body=Ack(
            ref_message_id=result.message_id,
            ref_seq=result.seq,
            stored_at=result.stored_at,
            duplicate=not result.new,
        ),
    )
