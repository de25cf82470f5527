"""The CP service's MQTT connection (paho-mqtt 2.x, MQTT 5).

A persistent session (clean_start=False, long session expiry) makes the broker queue the
gateways' messages while the service is down; manual acks make the broker keep a message
until the ingest worker has committed it.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.reasoncodes import ReasonCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from noodcore.mqttconf import BrokerFailover, connect_kwargs, make_client
from schemas import topics, utcnow
from service.settings import ServiceSettings

log = logging.getLogger(__name__)

# How many unacked messages the broker may have in flight to us. The CP puts P1s first only
# among what it has received: with 1000, during a reconnect backlog the window filled with
# routine reports the CP held back for the P1s it had, and the region's remaining P1s waited
# in the broker behind them (bench/backlog.py: P1 p99 2.7 -> 2.2 s, drain 589 -> 728 msg/s
# with 5000). Gateways keep at most 50 rows each awaiting the CP's ack
# (gateway.publisher.MAX_AWAITING_ACK), so 5000 covers a region of 100 NSPs in full.
# The broker's own limit (max_inflight_messages in deploy/mosquitto/limits.conf) must match.
RECEIVE_MAXIMUM = 5000
# How many of our own QoS 1 publishes (acks, ack batches, bulletins) may await the broker's
# PUBACK. During a reconnect backlog the broker's PUBACKs reach us behind tens of thousands
# of incoming reports in the same TCP stream, so each one takes seconds; a window of 200
# held committed P1s' acks in paho's queue for up to 6 s (bench/backlog.py). Mosquitto
# limits only QoS 2 by its receive maximum; the deployed max_inflight_messages is 1000.
PUBLISH_WINDOW = 1000


@dataclass(frozen=True)
class Delivery:
    """Identifies one inbound QoS delivery on one connection.

    Packet ids are reused per connection, so a PUBACK for a message received before a
    reconnect must not be sent on the new connection: it could acknowledge a different,
    not yet stored message. The broker redelivers the old one anyway.
    """

    mid: int
    qos: int
    connection: int
    # The broker flagged it retained. Up topics are subscribed with "retain as published",
    # so a retained publish on one is recognisable live as well as on every (re)subscribe;
    # ingest ignores those (see service.ingest.RETAINED_REASON).
    retain: bool = False


class MqttBridge:
    def __init__(
        self,
        settings: ServiceSettings,
        on_message: Callable[[str, bytes, Delivery, datetime], None],
        share_group: str | None = None,
        client_id: str | None = None,
    ) -> None:
        """``share_group``: subscribe as one member of an MQTT 5 shared subscription
        (``$share/<group>/...``, service.cluster): the broker hands each message to one of
        the CP's ingest processes. Each member needs its own ``client_id``."""
        self.settings = settings
        self.share_group = share_group
        self._on_message_cb = on_message
        self.connected = False
        self.last_error: str | None = None
        self.connected_since: datetime | None = None
        self._connection = 0
        self._lock = threading.Lock()
        self._connect_listeners: list[Callable[[], None]] = []
        client = make_client(
            client_id or settings.client_id,
            settings.mqtt_protocol,
            username=settings.mqtt_username,
            password=settings.mqtt_password,
            use_tls=settings.mqtt_use_tls,
            ca_file=settings.mqtt_ca_file,
            cert_file=settings.mqtt_cert_file,
            key_file=settings.mqtt_key_file,
            manual_ack=True,
        )
        client.max_inflight_messages_set(PUBLISH_WINDOW)
        client.max_queued_messages_set(0)  # unbounded: acks must never be dropped locally
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        self.failover = BrokerFailover(settings.brokers)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        self.client = client

    def start(self) -> None:
        first = self.failover.current
        self.client.connect_async(
            first.host,
            first.port,
            keepalive=self.settings.mqtt_keepalive,
            **connect_kwargs(
                self.settings.mqtt_protocol,
                self.settings.mqtt_session_expiry_seconds,
                receive_maximum=RECEIVE_MAXIMUM,
            ),
        )
        self.client.loop_start()

    def add_connect_listener(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` after every (re)connect, on the network thread: keep it cheap
        (e.g. set an Event). Used to re-publish retained state a restarted broker lost.
        Added while connected (a process that became the active CP, service.cluster), it is
        called once at once as well."""
        self._connect_listeners.append(callback)
        if self.connected:
            callback()

    def stop(self) -> None:
        try:
            self.client.disconnect()
        finally:
            self.client.loop_stop()
            self.connected = False

    # -- paho callbacks (network thread) ---------------------------------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: Any,
        _flags: Any,
        reason_code: ReasonCode,
        _props: Any,
    ) -> None:
        if reason_code.is_failure:
            self.last_error = f"broker refused connection: {reason_code}"
            log.error(self.last_error)
            return
        self.connected = True
        self._connection += 1
        self.connected_since = utcnow()
        self.last_error = None
        # Subscribing again is harmless when the session was resumed, and needed when not.
        filters = topics.cp_up_filters(self.settings.cp_id)
        if self.share_group is not None:
            filters = [f"$share/{self.share_group}/{f}" for f in filters]
        if client.protocol == mqtt.MQTTv5:
            options = SubscribeOptions(qos=1, retainAsPublished=True)
            client.subscribe([(f, options) for f in filters])
        else:
            client.subscribe([(f, 1) for f in filters])
        log.info("connected to broker %s", self.failover.current)
        for callback in self._connect_listeners:
            try:
                callback()
            except Exception:  # a listener must not stop paho's network loop
                log.exception("connect listener failed")

    def _on_connect_fail(self, client: mqtt.Client, _userdata: Any) -> None:
        failed = self.failover.current
        nxt = self.failover.connection_failed(client)
        self.last_error = f"cannot reach broker {failed}" + (
            f"; trying {nxt} next" if nxt != failed else ""
        )

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _flags: Any,
        reason_code: ReasonCode,
        _props: Any,
    ) -> None:
        self.connected = False
        if reason_code != 0:
            self.last_error = f"disconnected from broker: {reason_code}"
            log.warning(self.last_error)

    def _on_message(self, _client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        delivery = Delivery(msg.mid, msg.qos, self._connection, retain=bool(msg.retain))
        self._on_message_cb(msg.topic, bytes(msg.payload), delivery, utcnow())

    # -- used by the ingest worker and the API ---------------------------------------------

    def ack_delivery(self, delivery: Delivery) -> None:
        with self._lock:
            if delivery.qos > 0 and delivery.connection == self._connection and self.connected:
                self.client.ack(delivery.mid, delivery.qos)

    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        # While disconnected paho keeps QoS>0 messages and sends them after reconnecting.
        with self._lock:
            info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            log.error("publish to %s failed: %s", topic, mqtt.error_string(info.rc))
