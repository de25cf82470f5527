"""Ingest: every upward message, from MQTT or HTTP, goes through here.

    validate → check NSP id against topic → store (batched, idempotent) → ack

No message, however hostile, stops ingest: validation turns every error into a dead letter,
and a batch that fails to commit is narrowed down to the message that causes it (see
``IngestWorker``); only a database that is down or busy makes the worker wait and retry.

The worker thread owns all writes of incoming messages so SQLite sees one writer and batches
stay large. MQTT messages are acknowledged to the broker, and the CP's ``ack`` is published
to the gateway, only after the batch is committed: a crash before that makes the broker
redeliver, and the store recognises the redelivery.
"""

from __future__ import annotations

import gc
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from pydantic import ValidationError
from sqlalchemy.engine import Engine

from schemas import (
    CAPABILITY_ACK_BATCH,
    UP_KINDS,
    Ack,
    AckBatch,
    AckBatchMessage,
    AckMessage,
    HandlingState,
    Presence,
    StoredAck,
    UpMessage,
    new_message_id,
    parse_up,
    topics,
    utcnow,
)
from schemas.common import TEXT_PATTERN
from schemas.envelope import UP_ADAPTER
from service import kinds
from service.fallback.relay import RelayInfo
from service.limits.ratelimit import AdmissionQueue
from service.mqtt import Delivery
from service.ops.timing import ACK_SECONDS, INGEST_BATCH_SECONDS, MESSAGES_RECEIVED
from service.settings import ServiceSettings
from service.store import (
    Accepted,
    BatchHook,
    PresenceSeen,
    Rejected,
    StoreResult,
    failed_step,
    is_transient,
    store_batch,
)

log = logging.getLogger(__name__)

# Batches below this size are not limited by time, nor measured for it (see batch_limit).
MIN_TIMED_BATCH = 100


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
        if (
            err["type"] == "string_pattern_mismatch"
            and (err.get("ctx") or {}).get("pattern") == TEXT_PATTERN
        ):
            msg = "text contains a control character (only tab and line breaks are allowed)"
        elif err["type"] == "string_unicode":
            msg = "text is not valid Unicode (a lone surrogate)"
        parts.append(f"{'.'.join(loc) or '(message)'}: {msg}")
    return "; ".join(parts)


_ULID_IN_PAYLOAD = re.compile(rb'"message_id"\s*:\s*"([0-9A-HJKMNP-TV-Z]{26})"')


def message_id_in(payload: bytes) -> str | None:
    """The message id a payload names, even when it is invalid: the dead-letter ack refers
    to it so the gateway stops resending (None when there is no well-formed one)."""
    m = _ULID_IN_PAYLOAD.search(payload[:65536])
    return m.group(1).decode() if m else None


def _decode(payload: bytes, max_bytes: int) -> object:
    """JSON from bytes; every error the parser can raise becomes an ``InvalidMessage``
    (deep nesting raises RecursionError, an integer of thousands of digits ValueError)."""
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
    except RecursionError:
        raise InvalidMessage("payload is not acceptable JSON: nested too deeply") from None
    except Exception as exc:  # ValueError (huge integers), MemoryError, ...
        raise InvalidMessage(
            f"payload is not acceptable JSON: {type(exc).__name__}: {exc}"
        ) from None


def validate_up(payload: bytes, max_bytes: int, topic: topics.Topic | None = None) -> UpMessage:
    """Validate an upward message; with a topic, also check kind and NSP id against it.
    Raises ``InvalidMessage`` and nothing else, whatever the payload."""
    try:
        return _validate_up(payload, max_bytes, topic)
    except InvalidMessage:
        raise
    except RecursionError:
        raise InvalidMessage("payload is not acceptable JSON: nested too deeply") from None
    except Exception as exc:
        raise InvalidMessage(
            f"payload could not be validated: {type(exc).__name__}: {exc}"
        ) from None


def _validate_up(payload: bytes, max_bytes: int, topic: topics.Topic | None) -> UpMessage:
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
            message = UP_ADAPTER.validate_python(data)
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
    """Validate a presence message; raises ``InvalidMessage`` and nothing else."""
    try:
        data = _decode(payload, max_bytes)
        presence = Presence.model_validate(data)
    except InvalidMessage as exc:
        exc.nsp_id = exc.nsp_id or topic.nsp_id
        raise
    except ValidationError as exc:
        raise InvalidMessage(describe_validation_error(exc, strip_tag=False), topic.nsp_id) from exc
    except Exception as exc:
        raise InvalidMessage(
            f"presence could not be validated: {type(exc).__name__}: {exc}", topic.nsp_id
        ) from None
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


class BrokerLink(Protocol):
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
    reprocess_of: int | None = None  # a dead letter an operator re-processes
    expect_nsp: str | None = None  # re-processing an HTTP dead letter: the sender's NSP
    relay: RelayInfo | None = None  # typed in at the CP from a radio call, slip or SMS


@dataclass
class _Unit:
    """One incoming message on its way through a batch: exactly one of accepted, presence
    or rejected is set; ``done`` once it is committed (stored or dead-lettered)."""

    item: Incoming
    accepted: Accepted | None = None
    presence: PresenceSeen | None = None
    rejected: Rejected | None = None
    skip: set[str] = field(default_factory=set)  # hooks not to run (critical message)
    fallbacks: set[str] = field(default_factory=set)  # hooks whose fallback places it
    done: bool = False


class _Transient(Exception):
    """The database is down or busy: retry the units not yet done, later."""


class IngestWorker:
    """Single writer thread: batches incoming messages, commits, then acknowledges.

    Failure isolation: a batch is one transaction (the common case costs nothing extra).
    When it fails, a transient database error (``service.store.is_transient``) keeps every
    message unacked and retries with backoff; any other failure is narrowed down by halving
    the batch until the message that causes it stands alone. That message becomes a dead
    letter (exception, step, raw payload), acknowledged to broker and gateway as "received,
    not processed"; everything else is stored and acked. A critical message (P1) whose hook
    fails is stored without that hook and placed by the hook's fallback (``service.kinds``).
    """

    def __init__(
        self,
        engine: Engine,
        settings: ServiceSettings,
        broker: BrokerLink | None = None,
        on_stored: Callable[[list[StoreResult]], None] | None = None,
        hooks: Sequence[BatchHook] = (),
        admission: AdmissionQueue | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.broker = broker
        self.on_stored = on_stored
        self.hooks = list(hooks)
        # Without an admission policy the queue is one FIFO lane (rate 0 = unlimited).
        self._queue = admission or AdmissionQueue(rate=0, burst=0, park_max=0, overflow_batch=0)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.stored_total = 0
        self.dead_lettered_total = 0
        self.isolated_total = 0  # batches that had to be narrowed down
        self.last_error: str | None = None
        # NSPs whose gateway announced 'ack_batch' in its last online presence: they get one
        # AckBatch per CP batch; every other NSP one Ack per message (previous releases).
        self.batch_ack_nsps: set[str] = set()
        # Seconds per message of recent batches (validate, store, ack), for the batch limit.
        self._per_message = 0.0
        self._waited = False  # the batch being stored waited for the database

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

    def reprocess(
        self,
        dead_letter_id: int,
        payload: bytes,
        topic: str | None,
        transport: str,
        nsp_id: str | None = None,
    ) -> Future[StoreResult]:
        """Run a dead letter's payload through ingest again (after a fix). The future's
        result says what happened; the dead letter is resolved in the same transaction as
        the store, or updated with the new reason when it fails again."""
        fut: Future[StoreResult] = Future()
        self.submit(
            Incoming(
                payload,
                utcnow(),
                transport,
                topic=topic,
                future=fut,
                reprocess_of=dead_letter_id,
                expect_nsp=nsp_id if topic is None else None,
            )
        )
        return fut

    @property
    def backlog(self) -> int:
        return self._queue.qsize()

    def urgent_waiting(self) -> int:
        """P1s received and not yet taken into a batch (they go first)."""
        return self._queue.urgent_waiting()

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

    def batch_limit(self) -> int:
        """How many messages the next batch may take: ``ingest_batch_size``, and no more than
        the worker stores in ``ingest_batch_target_ms`` at its measured rate.

        A P1 that arrives while a batch is being stored waits for that batch (then goes
        first), so a batch's duration is the P1's extra wait. Counted alone, 1,000 messages
        took 0.3 s on one machine and 1.2 s on a slower one with grouping on; bounding the
        time keeps that wait the same everywhere. The estimate includes each batch's fixed
        cost, which only makes the limit settle where fixed + n x per-message = target."""
        size = self.settings.ingest_batch_size
        target = self.settings.ingest_batch_target_ms / 1000
        if target > 0 and self._per_message > 0:
            size = max(MIN_TIMED_BATCH, min(size, int(target / self._per_message)))
        return size

    def _take_batch(self) -> list[Incoming]:
        return self._queue.take_batch(self.batch_limit(), self.settings.ingest_batch_wait_ms / 1000)

    def _measure(self, size: int, seconds: float) -> None:
        if size < MIN_TIMED_BATCH:
            return  # small batches are mostly fixed cost: they would shrink the limit
        per = seconds / size
        self._per_message = per if self._per_message == 0 else 0.7 * self._per_message + 0.3 * per

    def _release_deferred(self) -> None:
        """PUBACK what the admission queue refused for now (see service.limits.ratelimit)."""
        for item in self._queue.pop_deferred():
            if self.broker is not None and item.delivery is not None:
                self.broker.ack_delivery(item.delivery)

    def _run(self) -> None:
        while True:
            self._release_deferred()
            batch = self._take_batch()
            if not batch:
                if self._stop.is_set():
                    return
                continue
            started = time.perf_counter()
            try:
                self._process_until_stored(batch)
            except Exception:  # a bug here must not stop ingest for everyone
                log.exception("ingest worker: unexpected error; batch dropped unacked")
            else:
                if not self._waited:  # not a batch that waited for the database
                    self._measure(len(batch), time.perf_counter() - started)

    def _process_until_stored(self, batch: list[Incoming]) -> None:
        self._waited = False
        units = [self._validate(item) for item in batch]
        _count_received(units)
        delay = 0.5
        while True:
            todo = [u for u in units if not u.done]
            if not todo:
                self.last_error = None
                return
            try:
                with INGEST_BATCH_SECONDS.time():
                    self._commit(todo)
            except _Transient as exc:  # database down: keep the rest, nothing more is acked
                self._waited = True
                self.last_error = str(exc)
                log.warning(
                    "storing %d message(s) failed (%s); retrying in %.1fs", len(todo), exc, delay
                )
                if self._stop.wait(delay):
                    # Shutting down: leave MQTT messages unacked so the broker redelivers.
                    for u in units:
                        if not u.done and u.item.future is not None and not u.item.future.done():
                            u.item.future.set_exception(exc)
                    return
                delay = min(delay * 2, 10)

    def _validate(self, item: Incoming) -> _Unit:
        """Validation never raises: what fails becomes a dead letter of step "validate"."""
        limit = self.settings.max_payload_bytes
        topic = topics.parse(item.topic) if item.topic else None
        try:
            if item.transport == "mqtt" and (topic is None or topic.nsp_id is None):
                raise InvalidMessage(f"topic '{item.topic}' is not a Noodnet upward topic")
            retained = item.delivery is not None and item.delivery.retain
            if topic is not None and topic.type == "up" and retained:
                raise InvalidMessage(RETAINED_REASON, topic.nsp_id)
            if topic is not None and topic.type == "status":
                presence = validate_presence(item.payload, limit, topic)
                if presence.online:  # a last will (offline) says nothing about the gateway
                    if CAPABILITY_ACK_BATCH in (presence.capabilities or ()):
                        self.batch_ack_nsps.add(presence.nsp_id)
                    else:
                        self.batch_ack_nsps.discard(presence.nsp_id)
                return _Unit(item, presence=PresenceSeen(presence, item.received_at))
            message = validate_up(item.payload, limit, topic)
            if (
                item.reprocess_of is not None
                and topic is None
                and message.nsp_id != item.expect_nsp
            ):
                # Re-processing must not store what the sender was not allowed to send.
                raise InvalidMessage(
                    f"nsp_id '{message.nsp_id}' is not the NSP this dead letter came from "
                    f"('{item.expect_nsp}')",
                    item.expect_nsp,
                )
            accepted = Accepted(
                message,
                item.received_at,
                item.transport,
                payload=item.payload,
                dead_letter_id=item.reprocess_of,
                relay=item.relay,
            )
            return _Unit(item, accepted=accepted)
        except Exception as exc:
            reason = (
                exc.reason if isinstance(exc, InvalidMessage) else f"{type(exc).__name__}: {exc}"
            )
            nsp = exc.nsp_id if isinstance(exc, InvalidMessage) else None
            retained = reason == RETAINED_REASON
            rejected = Rejected(
                reason=reason,
                received_at=item.received_at,
                transport=item.transport,
                payload=item.payload,
                topic=item.topic,
                nsp_id=nsp or (topic.nsp_id if topic else None),
                max_stored_bytes=limit,
                step="edge" if retained else "validate",
                message_id=None if retained else message_id_in(item.payload),
                dead_letter_id=item.reprocess_of,
                dedupe=retained,
            )
            return _Unit(item, rejected=rejected)

    def _store(self, units: list[_Unit]) -> list[StoreResult]:
        skip = {u.accepted.message.message_id: u.skip for u in units if u.accepted and u.skip}
        batch_skip = {n for u in units for n in u.skip if n in kinds.BATCH_HOOKS}
        if batch_skip:
            skip["*"] = batch_skip
        fallbacks = {
            u.accepted.message.message_id: u.fallbacks
            for u in units
            if u.accepted is not None and u.fallbacks
        }
        return store_batch(
            self.engine,
            [u.accepted for u in units if u.accepted is not None],
            [u.rejected for u in units if u.rejected is not None],
            [u.presence for u in units if u.presence is not None],
            self.settings.cp_id,
            self.hooks,
            skip=skip or None,
            fallbacks=fallbacks or None,
        )

    def _commit(self, units: list[_Unit]) -> None:
        """Commit ``units``, narrowing a failure down to the unit that causes it."""
        try:
            results = self._store(units)
        except Exception as exc:
            if is_transient(exc):
                raise _Transient(f"{type(exc).__name__}: {exc}") from exc
            if len(units) > 1:
                self.isolated_total += 1
                log.warning(
                    "a batch of %d failed at %s (%s: %s); isolating the cause",
                    len(units),
                    failed_step(exc),
                    type(exc).__name__,
                    exc,
                )
                half = len(units) // 2
                self._commit(units[:half])
                self._commit(units[half:])
                return
            self._isolate(units[0], exc)
            return
        self._finish(units, results)

    def _isolate(self, unit: _Unit, exc: Exception) -> None:
        """One unit fails on its own: store a critical message without the failing hook,
        dead-letter anything else."""
        step = failed_step(exc)
        error = f"{type(exc).__name__}: {exc}"
        a = unit.accepted
        if step.startswith("hook:") and step[5:] in kinds.BATCH_HOOKS and step[5:] not in unit.skip:
            # A hook of the whole batch (counters) says nothing about this message.
            log.error("batch hook %s failed (%s); storing without it", step[5:], error)
            unit.skip.add(step[5:])
            self._commit([unit])
            return
        if (
            a is not None
            and step.startswith("hook:")
            and kinds.is_critical(a)
            and step[5:] not in unit.skip
        ):
            name = step[5:]
            log.error(
                "hook %s failed for critical message %s (%s); storing it without that hook",
                name,
                a.message.message_id,
                error,
            )
            unit.skip.add(name)
            if name in kinds.FALLBACKS:
                unit.fallbacks.add(name)
            self._commit([unit])
            return
        if a is not None and step.startswith("fallback:") and step[9:] in unit.fallbacks:
            log.error("fallback %s failed for %s: %s", step[9:], a.message.message_id, error)
            unit.fallbacks.discard(step[9:])  # stored all the same, without that step
            self._commit([unit])
            return
        log.error("dead letter (step %s): %s", step, error)
        item = unit.item
        nsp = None
        message_id = None
        if a is not None:
            nsp, message_id = a.message.nsp_id, a.message.message_id
        elif unit.presence is not None:
            nsp = unit.presence.presence.nsp_id
        topic = topics.parse(item.topic) if item.topic else None
        unit.rejected = Rejected(
            reason=f"{step} failed: {error}",
            received_at=item.received_at,
            transport=item.transport,
            payload=item.payload,
            topic=item.topic,
            nsp_id=nsp or (topic.nsp_id if topic else None),
            max_stored_bytes=self.settings.max_payload_bytes,
            step=step,
            message_id=message_id,
            dead_letter_id=item.reprocess_of,
        )
        unit.accepted = None
        unit.presence = None
        try:
            results = self._store([unit])
        except Exception as exc2:
            if is_transient(exc2):
                raise _Transient(f"{type(exc2).__name__}: {exc2}") from exc2
            # Cannot happen (the row is sanitised); never let it block the queue.
            log.exception("could not write the dead letter; dropping the message")
            results = []
        self._finish([unit], results)

    def _finish(self, units: list[_Unit], results: list[StoreResult]) -> None:
        """Committed: now, and only now, tell broker and gateway."""
        stored = [u for u in units if u.accepted is not None]
        self.stored_total += sum(r.new for r in results)
        self.dead_lettered_total += sum(r.dead_letter is not None for r in results)
        for u in units:
            u.done = True
            if u.rejected is not None:
                self.dead_lettered_total += 1
                r = u.rejected
                log.warning("dead letter from %s (%s): %s", r.nsp_id, r.topic, r.reason)
                if u.item.future is not None:
                    if r.message_id is not None and r.nsp_id is not None and r.step != "validate":
                        u.item.future.set_result(
                            StoreResult(
                                message_id=r.message_id,
                                nsp_id=r.nsp_id,
                                seq=0,
                                kind="",
                                stored_at=utcnow(),
                                new=False,
                                dead_letter=r.reason,
                            )
                        )
                    else:
                        u.item.future.set_exception(InvalidMessage(r.reason, r.nsp_id))
                self._ack_dead_letter(u)
        batched: dict[str, list[StoreResult]] = {}
        for u, result in zip(stored, results, strict=True):
            if u.item.future is not None:
                u.item.future.set_result(result)
            if self.broker is not None and (u.item.future is None or u.item.transport == "mqtt"):
                if result.dead_letter is None and result.nsp_id in self.batch_ack_nsps:
                    batched.setdefault(result.nsp_id, []).append(result)
                    continue
                self.broker.publish(
                    topics.down(self.settings.cp_id, result.nsp_id, "ack"),
                    make_ack(self.settings.cp_id, result).model_dump_json().encode(),
                )
        if self.broker is not None:
            for nsp_id, nsp_results in batched.items():
                self.broker.publish(
                    topics.down(self.settings.cp_id, nsp_id, "ack_batch"),
                    make_ack_batch(self.settings.cp_id, nsp_id, nsp_results)
                    .model_dump_json()
                    .encode(),
                )
        if self.broker is not None:
            for u in units:
                if u.item.delivery is not None:
                    self.broker.ack_delivery(u.item.delivery)
        _observe_ack_wait(stored)
        if self.on_stored is not None and results:
            self.on_stored(results)

    def _ack_dead_letter(self, unit: _Unit) -> None:
        """Tell the gateway its message arrived but was not processed, so it stops resending
        and its staff see that the CP looks into it. Only for MQTT messages that name a
        well-formed message id on their own NSP's topic."""
        r = unit.rejected
        if self.broker is None or r is None or unit.item.transport != "mqtt":
            return
        topic = topics.parse(unit.item.topic) if unit.item.topic else None
        if r.message_id is None or topic is None or topic.nsp_id is None or r.step == "edge":
            return
        result = StoreResult(
            message_id=r.message_id,
            nsp_id=topic.nsp_id,
            seq=0,
            kind="",
            stored_at=utcnow(),
            new=False,
            dead_letter=r.reason,
        )
        self.broker.publish(
            topics.down(self.settings.cp_id, topic.nsp_id, "ack"),
            make_ack(self.settings.cp_id, result).model_dump_json().encode(),
        )


def _count_received(units: list[_Unit]) -> None:
    """``MESSAGES_RECEIVED`` per kind for a batch: one ``labels`` look-up per kind, not per
    message (it was 4 % of the ingest worker's time with grouping on)."""
    counts: dict[str, int] = {}
    for u in units:
        kind: str
        if u.accepted is not None:
            kind = u.accepted.message.kind
        elif u.rejected is not None:
            kind = "invalid"
        else:
            continue  # a presence is no message
        counts[kind] = counts.get(kind, 0) + 1
    for kind, n in counts.items():
        MESSAGES_RECEIVED.labels(kind=kind).inc(n)


_ACK_P1 = ACK_SECONDS.labels(p_level="P1")
_ACK_OTHER = ACK_SECONDS.labels(p_level="other")


def _observe_ack_wait(stored: list[_Unit]) -> None:
    """``ACK_SECONDS``: arrival at the CP to ack, per stored message (one clock read per
    batch; the label children are looked up once, at import)."""
    now = utcnow()
    for u in stored:
        a = u.accepted
        if a is not None:
            child = _ACK_P1 if kinds.is_critical(a) else _ACK_OTHER
            child.observe((now - u.item.received_at).total_seconds())


# The CP's garbage collector: with the default thresholds (700, 10, 10) a reconnect backlog
# (100,000 reports queued in memory, the grouping's window growing with them) set off a full
# collection every few seconds, each 0.15 - 0.5 s with every thread stopped: 6.6 s of a 57 s
# drain in bench/backlog.py, and P1 acks waited through them. Young collections every 50,000
# allocations and a full one only after 20 x 20 of those, with what start-up loaded frozen
# out of the collector, cost 0.6 s in the same run. Reference counting frees everything
# without cycles at once either way; only cyclic garbage waits longer.
GC_THRESHOLDS = (50_000, 20, 20)


def configure_gc() -> None:
    """Set the CP process's collector for large in-memory backlogs (see GC_THRESHOLDS); call
    once, after start-up."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


RETAINED_REASON = (
    "retained publish on an up topic is ignored (the CP would see it on every subscribe)"
)


def make_ack(cp_id: str, result: StoreResult) -> AckMessage:
    """The ack for a store result; a dead-lettered message gets the state
    ``received_not_processed`` (only those acks carry it, so older gateways are unaffected
    by every other ack)."""
    if result.dead_letter is not None:
        body = Ack(
            ref_message_id=result.message_id,
            ref_seq=result.seq or None,
            state=HandlingState.RECEIVED_NOT_PROCESSED,
            stored_at=result.stored_at,
        )
    else:
        body = Ack(
            ref_message_id=result.message_id,
            ref_seq=result.seq,
            stored_at=result.stored_at,
            duplicate=not result.new,
        )
    return AckMessage(
        message_id=new_message_id(),
        sent_at=utcnow(),
        cp_id=cp_id,
        nsp_id=result.nsp_id,
        body=body,
    )


def make_ack_batch(cp_id: str, nsp_id: str, results: list[StoreResult]) -> AckBatchMessage:
    """One ``AckBatch`` for the stored (or already stored) messages of one NSP, for a
    gateway that announced the capability. Built without re-validating what the CP made."""
    acks = [
        StoredAck.model_construct(
            ref_message_id=r.message_id, ref_seq=r.seq, stored_at=r.stored_at, duplicate=not r.new
        )
        for r in results
    ]
    return AckBatchMessage.model_construct(
        schema_version=1,
        message_id=new_message_id(),
        sent_at=utcnow(),
        cp_id=cp_id,
        nsp_id=nsp_id,
        kind="ack_batch",
        body=AckBatch.model_construct(acks=acks),
    )
