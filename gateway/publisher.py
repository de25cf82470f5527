"""The gateway's MQTT link to its CP broker (paho-mqtt 2.x, MQTT 5) and the outbox sender.

Delivery contract: a row leaves the outbox's 'not stored' set only when the CP's ``ack``
arrives. The broker's PUBACK merely frees the in-flight window and starts the resend timer;
a broker that is killed loses messages it had already PUBACKed, and the resend covers that.

Downward messages (acks, bulletins, tasks) are acked to the broker only once processed
(committed). One whose processing raises is retried in this process (``_DownRetry``), not
left for the broker's redelivery, which MQTT makes only on the next connection.

Threads: paho's network thread runs the callbacks; one sender thread publishes; one retry
thread processes downward messages that failed. ``_state`` guards what they share and is
never held while calling into paho, because paho calls ``on_publish`` while holding its own
lock (a lock held around ``publish`` would deadlock).
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from gateway.down import DownHandler
from gateway.outbox import Outbox, OutboxEntry
from gateway.settings import GatewaySettings
from noodcore.backoff import backoff_delay
from noodcore.mqttconf import BrokerFailover, connect_kwargs, make_client
from noodcore.worker import Worker
from schemas import CAPABILITY_ACK_BATCH, Presence, topics, utcnow

log = logging.getLogger(__name__)

# The broker keeps our subscriptions and queues acks, bulletins and tasks for a week offline.
SESSION_EXPIRY_SECONDS = 7 * 24 * 3600
# Rows handed to paho and not yet PUBACKed; bounds memory during a large backlog.
WINDOW = 100
# Rows sent on this connection that the CP has not acked yet (stored, or refused), beyond
# which the seq-order pass waits for acks: flow control against the CP, not the broker.
# Without it a reconnecting gateway hands its whole outbox to the broker at once (the broker
# PUBACKs in microseconds), the broker's queue to the CP holds every NSP's backlog in
# arrival order, and a P1 made during the drain waits behind all of it: 20 s in
# bench/backlog.py with 50 NSPs x 2,000 rows. With the bound the broker holds at most
# NSPs x MAX_AWAITING_ACK rows for the CP, and the CP (which reorders what it has received,
# P1 first) sees a new P1 after that many at most. P1 rows are not held by it (WINDOW only).
MAX_AWAITING_ACK = 50
# Longest wait between resends of a row on one connection (see _resend_interval).
RESEND_MAX_INTERVAL = 900.0
# A PUBACK that arrives before publish() returned its mid is parked this long.
_EARLY_PUBACK_SECONDS = 10.0
# After a P1 goes out, the rest of the outbox waits this long at most for the CP's ack of
# the P1s (see _sweep): after a reconnect the whole region's P1s reach a CP that is not yet
# buried under everyone's backlog. Short: a CP that does not answer delays the rest by this.
URGENT_HOLD_SECONDS = 3.0


@dataclass(frozen=True)
class LinkInfo:
    connected: bool
    last_connected_at: datetime | None
    last_disconnected_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    in_flight: int
    refused_count: int


@dataclass
class _Published:
    """When an unconfirmed row was last handed to, or PUBACKed by, the broker."""

    connection: int
    at: float  # time.monotonic(): a Pi's wall clock jumps when it finds network time
    seq: int
    sends: int


@dataclass(frozen=True)
class _Unprocessed:
    """A downward message whose processing raised, with what its ack needs."""

    topic: str
    payload: bytes
    mid: int
    qos: int
    connection: int  # Publisher._connection it came on

    @property
    def key(self) -> str:
        digest = hashlib.sha256(self.topic.encode() + b"\0" + self.payload).hexdigest()
        return f"{self.topic} {digest[:12]}"


def _reason(rc: ReasonCode) -> str:
    return f"{rc.getName()} (0x{rc.value:02x})"


class Publisher:
    def __init__(
        self, settings: GatewaySettings, outbox: Outbox, down_handler: DownHandler
    ) -> None:
        self.settings = settings
        self.outbox = outbox
        self.down_handler = down_handler
        self._state = threading.Lock()
        self._connected = False
        self._connection = 0
        self.last_connected_at: datetime | None = None
        self.last_disconnected_at: datetime | None = None
        self.last_error: str | None = None
        self.last_error_at: datetime | None = None
        self.refused_count = 0
        self._in_flight: dict[int, str] = {}  # paho mid -> message_id
        self._early: dict[int, tuple[ReasonCode, float]] = {}
        # Rows handed to paho on a connection and not acked by the CP yet (see acked()).
        self._published: dict[str, _Published] = {}
        self._acked_early: dict[str, float] = {}  # acked, not (yet) in _published
        self._presence_mid: int | None = None
        self._link_cut = False  # cut on purpose (exercise), see cut_link
        # Sender-thread only: how far this connection's first pass has got.
        self._pass_connection = 0
        self._cursor = 0
        self._hold_until = 0.0  # time.monotonic(): see URGENT_HOLD_SECONDS
        self._tick = min(max(settings.resend_after_seconds / 4, 0.05), 5.0)
        self.sender = _Sender(self)
        self.down_retry = _DownRetry(self)
        self._status_topic = topics.status(settings.cp_id, settings.nsp_id)
        # One broker, or a list to fail over along (the standby site's broker).
        self.failover = BrokerFailover(settings.brokers)
        self._client = self._make_client()
        outbox.add_listener(self.wake)

    # ------------------------------------------------------------------ public

    @property
    def connected(self) -> bool:
        with self._state:
            return self._connected

    def info(self) -> LinkInfo:
        with self._state:
            return LinkInfo(
                connected=self._connected,
                last_connected_at=self.last_connected_at,
                last_disconnected_at=self.last_disconnected_at,
                last_error=self.last_error,
                last_error_at=self.last_error_at,
                in_flight=len(self._in_flight),
                refused_count=self.refused_count,
            )

    @property
    def link_cut(self) -> bool:
        with self._state:
            return self._link_cut

    def cut_link(self) -> None:
        """Exercise: drop the link as an outage would and stay off until ``restore_link``.
        On MQTT 5 the disconnect asks the broker to publish the last will (offline), as when
        the link really fails; reports keep queueing in the outbox meanwhile."""
        with self._state:
            if self._link_cut:
                return
            self._link_cut = True
        log.warning("link cut on purpose (exercise); reports queue until it is restored")
        if self.settings.mqtt_protocol == "5":
            self._client.disconnect(
                reasoncode=ReasonCode(PacketTypes.DISCONNECT, "Disconnect with will message")
            )
        else:
            self._client.disconnect()
        self._client.loop_stop()
        with self._state:
            self._connected = False
            self.last_disconnected_at = utcnow()
        self._set_error("link cut on purpose (exercise)")

    def restore_link(self) -> None:
        """End a link cut: connect again (everything queued is then sent, as after any
        reconnect)."""
        with self._state:
            if not self._link_cut:
                return
            self._link_cut = False
        log.warning("link restored after a cut (exercise)")
        self._client.connect_async(
            self.settings.mqtt_host,
            self.settings.mqtt_port,
            keepalive=self.settings.mqtt_keepalive,
            **connect_kwargs(self.settings.mqtt_protocol, SESSION_EXPIRY_SECONDS),
        )
        self._client.loop_start()

    def rescan(self) -> None:
        """Send every row not stored at the CP again from the lowest seq, as after a reconnect
        (rows re-queued below the cursor, e.g. by a CP resend request, are otherwise skipped)."""
        with self._state:
            self._pass_connection = -1
        self.sender.wake()

    def wake(self) -> None:
        """Make the sender look at the outbox now (called after every enqueue)."""
        self.sender.wake()

    def acked(self, message_ids: list[str]) -> None:
        """The CP acked these rows (the down handler calls this): they no longer count
        against ``MAX_AWAITING_ACK`` and need no resend, so the sender may go on."""
        now = time.monotonic()
        with self._state:
            for message_id in message_ids:
                if self._published.pop(message_id, None) is None:
                    # Perhaps acked before _publish recorded it: _publish looks here.
                    self._acked_early[message_id] = now
            if len(self._acked_early) > 4 * MAX_AWAITING_ACK:
                self._acked_early = {
                    m: t for m, t in self._acked_early.items() if now - t < _EARLY_PUBACK_SECONDS
                }
        self.sender.wake()

    def start(self) -> None:
        # connect_async + loop_start: the broker may be unreachable for hours; paho keeps
        # retrying with backoff while the API goes on accepting reports into the outbox.
        first = self.failover.current
        self._client.connect_async(
            first.host,
            first.port,
            keepalive=self.settings.mqtt_keepalive,
            **connect_kwargs(self.settings.mqtt_protocol, SESSION_EXPIRY_SECONDS),
        )
        self._client.loop_start()
        self.sender.start()
        self.down_retry.start()
        log.info(
            "connecting to broker %s as %s%s",
            first,
            self.settings.broker_username,
            f" (failover: {', '.join(map(str, self.failover.brokers[1:]))})"
            if len(self.failover.brokers) > 1
            else "",
        )

    def stop(self, timeout: float = 5.0) -> None:
        """Stop sending, announce offline (retained) when connected, disconnect."""
        self.sender.stop(timeout)
        self.down_retry.stop(timeout)
        if self.connected:
            offline = Presence(nsp_id=self.settings.nsp_id, online=False)
            info = self._client.publish(
                self._status_topic, offline.model_dump_json(), qos=1, retain=True
            )
            try:
                info.wait_for_publish(timeout=min(timeout, 2.0))
            except (RuntimeError, ValueError) as exc:
                log.warning("could not announce offline presence: %s", exc)
        self._client.disconnect()
        self._client.loop_stop()

    # ------------------------------------------------------------------ client set-up

    def _make_client(self) -> mqtt.Client:
        s = self.settings
        client = make_client(
            s.client_id,
            s.mqtt_protocol,
            username=s.broker_username,
            password=s.mqtt_password.get_secret_value() if s.mqtt_password else None,
            use_tls=s.mqtt_use_tls,
            ca_file=s.mqtt_ca_file,
            cert_file=s.mqtt_cert_file,
            key_file=s.mqtt_key_file,
            # Downward messages are acked to the broker only after they are committed.
            manual_ack=True,
        )
        will = Presence(nsp_id=s.nsp_id, online=False)
        client.will_set(self._status_topic, will.model_dump_json(), qos=1, retain=True)
        # paho counts whole seconds.
        client.reconnect_delay_set(
            min_delay=math.ceil(s.reconnect_min_seconds),
            max_delay=math.ceil(s.reconnect_max_seconds),
        )
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_publish = self._on_publish
        client.on_message = self._on_message
        return client

    def _set_error(self, text: str) -> None:
        with self._state:
            self.last_error = text
            self.last_error_at = utcnow()

    # ------------------------------------------------------------------ callbacks
    # Every callback catches everything: by default an exception in a paho callback stops
    # the network loop, and with it the gateway's link.

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, flags: Any, rc: ReasonCode, _props: Any
    ) -> None:
        try:
            if rc.is_failure:
                text = f"broker refused the connection: {_reason(rc)}"
                log.error("%s (user %s)", text, self.settings.broker_username)
                self._set_error(text)
                return
            now = utcnow()
            with self._state:
                self._connected = True
                self._connection += 1
                self.last_connected_at = now
                self.last_error = None
                self.last_error_at = None
            log.info(
                "connected to broker %s (session present: %s)",
                self.failover.current,
                bool(getattr(flags, "session_present", False)),
            )
            # Announce what this gateway understands, so the CP may send batched acks.
            online = Presence(
                nsp_id=self.settings.nsp_id,
                online=True,
                since=now,
                capabilities=[CAPABILITY_ACK_BATCH],
            )
            info = client.publish(self._status_topic, online.model_dump_json(), qos=1, retain=True)
            with self._state:
                # Safe: its PUBACK is handled on this (the network) thread, after we return.
                self._presence_mid = info.mid
            filters = topics.gateway_filters(self.settings.cp_id, self.settings.nsp_id)
            client.subscribe([(f, 1) for f in filters])
            self.sender.wake()
        except Exception:
            log.exception("error in on_connect")

    def _on_connect_fail(self, client: mqtt.Client, _userdata: Any) -> None:
        failed = self.failover.current
        text = f"cannot reach broker {failed}"
        nxt = self.failover.connection_failed(client)
        if nxt != failed:
            text += f"; trying {nxt} next"
        with self._state:
            first = self.last_error != text
        # Once per outage at WARNING: a link down for days must not flood the log.
        level = logging.WARNING if first else logging.DEBUG
        log.log(level, "%s; retrying (reports stay queued in the outbox)", text)
        self._set_error(text)

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: Any, _flags: Any, rc: ReasonCode, _props: Any
    ) -> None:
        with self._state:
            was_connected = self._connected
            self._connected = False
            self.last_disconnected_at = utcnow()
        if was_connected and rc.is_failure:
            log.warning("lost the broker connection: %s; reconnecting", _reason(rc))
            self._set_error(f"connection lost: {_reason(rc)}")

    def _on_subscribe(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _mid: int,
        codes: list[ReasonCode],
        _props: Any,
    ) -> None:
        refused = [c for c in codes if c.is_failure]
        if refused:
            text = "broker refused subscription: " + ", ".join(_reason(c) for c in refused)
            log.error("%s; acks, bulletins or tasks will not arrive", text)
            self._set_error(text)

    def _on_publish(
        self, _client: mqtt.Client, _userdata: Any, mid: int, rc: ReasonCode, _props: Any
    ) -> None:
        try:
            now = time.monotonic()
            with self._state:
                message_id = self._in_flight.pop(mid, None)
                if message_id is not None and message_id in self._published:
                    # The resend timer runs from the broker's PUBACK, on this connection
                    # (paho itself resends what was in flight when a connection dropped).
                    self._published[message_id].at = now
                    self._published[message_id].connection = self._connection
                is_presence = mid == self._presence_mid
                if is_presence:
                    self._presence_mid = None
                if is_presence and rc.is_failure:
                    self.last_error = f"broker refused the presence message: {_reason(rc)}"
                    self.last_error_at = utcnow()
                if message_id is None and not is_presence:
                    # The PUBACK beat publish() returning the mid to the sender thread.
                    # Park it briefly; drop stale ones.
                    self._early = {
                        m: v for m, v in self._early.items() if now - v[1] < _EARLY_PUBACK_SECONDS
                    }
                    self._early[mid] = (rc, now)
            if message_id is None:
                if is_presence and rc.is_failure:
                    log.error("broker refused the presence message: %s", _reason(rc))
                return
            self._on_row_puback(message_id, rc)
            self.sender.wake()  # the window has room again
        except Exception:
            log.exception("error in on_publish")

    def _on_row_puback(self, message_id: str, rc: ReasonCode) -> None:
        if not rc.is_failure:
            return
        text = f"broker refused message {message_id}: {_reason(rc)}"
        # Loud on purpose: e.g. 0x87 'Not authorized' means the broker ACL rejects this NSP,
        # and nothing reaches the CP until someone fixes the broker configuration.
        log.error("%s; it stays in the outbox and will be retried", text)
        with self._state:
            self.refused_count += 1
            self.last_error = text
            self.last_error_at = utcnow()
        self.outbox.record_publish_error(message_id, text)

    def _on_message(self, client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        payload = bytes(message.payload)
        with self._state:
            connection = self._connection
        try:
            self.down_handler.handle(message.topic, payload)
        except Exception as exc:
            # Not acked: retried here (the broker would redeliver it only on the next
            # connection, which on a link that holds may be days away).
            item = _Unprocessed(message.topic, payload, message.mid, message.qos, connection)
            self.down_retry.add(item, exc)
            return
        self._processed(message.mid, message.qos, connection)

    def _processed(self, mid: int, qos: int, connection: int) -> None:
        """A downward message is committed: ack it to the broker, if the connection it came
        on is still up (after a reconnect the broker redelivers it with the same packet id,
        and that copy is acked). Runs on the network thread, or the retry thread."""
        if time.monotonic() < self._hold_until:
            self.sender.wake()  # an ack may have released the rows held behind a P1
        with self._state:
            live = self._connected and self._connection == connection
        if not live:
            return
        try:
            self._client.ack(mid, qos)
        except Exception:
            log.exception("could not ack downward message %s", mid)

    # ------------------------------------------------------------------ sender

    def _sweep(self) -> None:
        with self._state:
            if not self._connected:
                return
            connection = self._connection
            busy = set(self._in_flight.values())
        if connection != self._pass_connection:
            # New connection: everything not stored at the CP goes out again, in seq order.
            self._pass_connection = connection
            self._cursor = 0
            with self._state:
                # Timers of the old connection are void; what paho still holds keeps its own.
                self._published = {k: v for k, v in self._published.items() if k in busy}
        budget = WINDOW - len(busy)
        with self._state:
            awaiting = sum(1 for p in self._published.values() if p.connection == connection)
        # New rows in seq order only up to MAX_AWAITING_ACK; P1s and resends are not held.
        credit = MAX_AWAITING_ACK - awaiting
        sent: list[str] = []
        try:
            # P1s first: after a reconnect ahead of the backlog, and a P1 made while a
            # backlog drains goes out now instead of behind it. Each row still goes once per
            # connection; seq numbers are unchanged (the CP handles order and gaps).
            urgent = self.outbox.pending_urgent(limit=budget) if budget > 0 else []
            for entry in urgent:
                if entry.message_id in busy or self._published_on(entry.message_id, connection):
                    continue
                outcome = self.sender.items.run(
                    entry.seq, partial(self._publish, entry, connection)
                )
                if outcome is None:
                    continue
                accepted, link_up = outcome
                if not accepted:
                    return
                sent.append(entry.message_id)
                self._hold_until = time.monotonic() + URGENT_HOLD_SECONDS
                budget -= 1
                if not link_up:
                    return
            if urgent and time.monotonic() < self._hold_until:
                # The rest waits for the P1s' ack (the ack wakes this sweep), for at most
                # URGENT_HOLD_SECONDS: a CP that is handed only P1s stores and acks them at
                # once, one that is handed every NSP's backlog with them is slowed by it.
                return
            while budget > 0 and credit > 0:
                batch = self.outbox.pending(limit=min(budget, credit), after_seq=self._cursor)
                if not batch:
                    break
                for entry in batch:
                    if entry.message_id in busy or self._published_on(entry.message_id, connection):
                        self._cursor = entry.seq  # paho still holds it and resends it itself
                        continue
                    outcome = self.sender.items.run(
                        entry.seq, partial(self._publish, entry, connection)
                    )
                    if outcome is None:
                        # This row raised (recorded and parked by the guard): the rows behind
                        # it go on; it goes again on the next connection's pass.
                        self._cursor = entry.seq
                        continue
                    accepted, link_up = outcome
                    if not accepted:
                        return
                    self._cursor = entry.seq
                    sent.append(entry.message_id)
                    budget -= 1
                    credit -= 1
                    if not link_up:
                        return
            if budget > 0:
                for entry in self._due_for_resend(connection, busy, budget):
                    outcome = self.sender.items.run(
                        entry.seq, partial(self._publish, entry, connection)
                    )
                    if outcome is None:
                        continue
                    accepted, link_up = outcome
                    if accepted:
                        sent.append(entry.message_id)
                    if not (accepted and link_up):
                        return
        finally:
            self.outbox.mark_published(sent)

    def _published_on(self, message_id: str, connection: int) -> bool:
        """Already handed to paho on this connection (a P1 sent ahead of its seq order)."""
        with self._state:
            p = self._published.get(message_id)
        return p is not None and p.connection == connection

    def _due_for_resend(self, connection: int, busy: set[str], limit: int) -> list[OutboxEntry]:
        now = time.monotonic()
        with self._state:
            due = sorted(
                (p.seq, message_id)
                for message_id, p in self._published.items()
                if p.connection == connection
                and now - p.at >= self._resend_interval(p.sends)
                and message_id not in busy
            )[:limit]
        if not due:
            return []
        entries = self.outbox.get_many(message_id for _, message_id in due)
        waiting = [e for e in entries if e.state != "stored"]
        waiting_ids = {e.message_id for e in waiting}
        with self._state:
            for _, message_id in due:
                if message_id not in waiting_ids:
                    self._published.pop(message_id, None)  # acked meanwhile: forget it
        if waiting:
            log.info(
                "no CP ack yet for %d message(s) from seq %d; sending again",
                len(waiting),
                waiting[0].seq,
            )
        return waiting

    def _resend_interval(self, sends: int) -> float:
        # Doubling per send on the same connection: the resend is a safety net for a
        # broker that lost a PUBACKed message. While the CP service is down for hours the
        # broker queues every copy for it, so copies must not pile up at a fixed rate.
        base = self.settings.resend_after_seconds
        return backoff_delay(sends, base, max(base, RESEND_MAX_INTERVAL))

    def _publish(self, entry: OutboxEntry, connection: int) -> tuple[bool, bool]:
        """Hand one row to paho; returns (accepted, link still up)."""
        info = self._client.publish(
            topics.up(self.settings.cp_id, self.settings.nsp_id, entry.kind),
            entry.envelope.encode(),
            qos=1,
        )
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            log.warning("MQTT client refused seq %s: %s", entry.seq, mqtt.error_string(info.rc))
            return False, False
        now = time.monotonic()
        with self._state:
            previous = self._published.get(entry.message_id)
            sends = previous.sends + 1 if previous and previous.connection == connection else 1
            self._published[entry.message_id] = _Published(connection, now, entry.seq, sends)
            if self._acked_early.pop(entry.message_id, None) is not None:
                del self._published[entry.message_id]  # the CP's ack beat this record
            early = self._early.pop(info.mid, None)
            if early is None or now - early[1] >= _EARLY_PUBACK_SECONDS:
                self._in_flight[info.mid] = entry.message_id
                early = None
        if early is not None:
            self._on_row_puback(entry.message_id, early[0])
        # NO_CONN: paho queued it and sends it after reconnecting.
        return True, info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS


class _Sender(Worker):
    """The publisher's sender thread: sweeps the outbox every tick or when woken. A row whose
    hand-over raises is parked by ``items`` (this worker's ``ItemGuard``); the rest go on."""

    def __init__(self, publisher: Publisher) -> None:
        tick = publisher._tick
        super().__init__(
            "gateway sender",
            interval=tick,
            first_wait=tick,
            backoff_base=tick,
            backoff_cap=max(tick, 5.0),
            item_backoff_cap=RESEND_MAX_INTERVAL,
        )
        self.publisher = publisher

    def step(self) -> None:
        self.publisher._sweep()


class _DownRetry(Worker):
    """Downward messages whose processing raised, processed again until it works.

    A transient error (the database locked past its busy timeout, the disk full for a while)
    must not keep a state ack, a bulletin or a task from the volunteer until the link drops
    and comes back: MQTT redelivers an unacked message only on the next connection. Each
    such message waits here with its own backoff (``ItemGuard``), shown in the gateway's
    health while it fails, and is acked once processed (``Publisher._processed``). Processing
    is idempotent (a repeat is recognised by its message id or version), so the copy the
    broker redelivers after a reconnect does no harm; a redelivered copy that fails too
    replaces the one waiting here, as its packet id is the live one.
    """

    def __init__(self, publisher: Publisher) -> None:
        super().__init__(
            "downward retry",
            interval=1.0,
            backoff_base=1.0,
            backoff_cap=10.0,
            item_backoff_cap=60.0,
        )
        self.publisher = publisher
        self._lock = threading.Lock()
        self._waiting: dict[str, _Unprocessed] = {}

    def add(self, item: _Unprocessed, exc: BaseException) -> None:
        with self._lock:
            self._waiting[item.key] = item
        self.items.failed(item.key, exc)  # logged, and shown in the health
        self.wake()

    def waiting(self) -> int:
        with self._lock:
            return len(self._waiting)

    def step(self) -> None:
        with self._lock:
            waiting = list(self._waiting.values())
        handle = self.publisher.down_handler.handle
        for item in waiting:
            if self.stopping:
                return
            if not self.items.attempt(item.key, partial(handle, item.topic, item.payload)):
                continue
            with self._lock:
                if self._waiting.get(item.key) is item:
                    del self._waiting[item.key]
            self.publisher._processed(item.mid, item.qos, item.connection)
