"""The MQTT client factory and protocol options shared by the gateway and the CP service.

Invariant: every production MQTT client is made by ``make_client`` (persistent session,
credentials, TLS), so the CP and the gateway cannot drift apart in how they connect.


Client ids: the production broker binds the client id to the username
(``use_username_as_clientid`` in deploy/mosquitto/mosquitto.conf), so no identity can take
over another's session. As a second line for brokers without that option, the default ids of
the CP service and the gateway carry a suffix derived from the broker password
(``private_client_id``): stable across restarts, so the broker keeps the session, and not
guessable by anyone who does not hold the password.
MQTT 5 is the default and what production uses (an ACL refusal is visible in the PUBACK).
MQTT 3.1.1 exists only so the demo can fall back to a pure-Python broker (amqtt speaks
nothing newer) on a machine without Mosquitto.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from noodcore.mqttio import BlockClient

log = logging.getLogger(__name__)


class MqttProtocol(StrEnum):
    V5 = "5"
    V311 = "3.1.1"


def client_kwargs(protocol: MqttProtocol) -> dict[str, Any]:
    """Arguments for ``mqtt.Client`` giving a persistent session under either protocol."""
    if protocol is MqttProtocol.V311:
        return {"protocol": mqtt.MQTTv311, "clean_session": False}
    return {"protocol": mqtt.MQTTv5}


def connect_kwargs(
    protocol: MqttProtocol, session_expiry: int, receive_maximum: int | None = None
) -> dict[str, Any]:
    """Arguments for ``connect``/``connect_async``: keep the session across disconnects."""
    if protocol is MqttProtocol.V311:
        return {}

    props = Properties(PacketTypes.CONNECT)
    props.SessionExpiryInterval = session_expiry
    if receive_maximum is not None:
        props.ReceiveMaximum = receive_maximum
    return {"clean_start": False, "properties": props}


def private_client_id(base: str, password: str | None) -> str:
    """``base`` plus 16 hex digits derived from the broker password (``base`` alone when there
    is none, e.g. the demo's open broker). See the module docstring."""
    if not password:
        return base
    digest = hashlib.sha256(f"noodnet-client-id\0{base}\0{password}".encode()).hexdigest()
    return f"{base}-{digest[:16]}"


def make_client(
    client_id: str,
    protocol: MqttProtocol,
    *,
    username: str | None = None,
    password: str | None = None,
    use_tls: bool = False,
    ca_file: Path | None = None,
    cert_file: Path | None = None,
    key_file: Path | None = None,
    manual_ack: bool = False,
) -> mqtt.Client:
    """A paho client (callback API 2) with a persistent session, credentials and TLS set.

    ``manual_ack``: the caller acks each received message itself (after committing it).
    """
    client = BlockClient(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        **client_kwargs(protocol),
        manual_ack=manual_ack,
    )
    if username:
        client.username_pw_set(username, password)
    if use_tls:
        client.tls_set(
            ca_certs=str(ca_file) if ca_file else None,
            certfile=str(cert_file) if cert_file else None,
            keyfile=str(key_file) if key_file else None,
        )
    return client


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"


def parse_brokers(text: str, default_port: int = 1883) -> list[BrokerAddress]:
    """``"host1:1883,host2:8883"`` (port optional; an IPv6 address in brackets) as a list of
    addresses, in failover order. Raises ValueError naming the entry that is wrong."""
    out: list[BrokerAddress] = []
    for raw in text.split(","):
        entry = raw.strip()
        if not entry:
            continue
        host, port_text = entry, ""
        if entry.startswith("["):
            end = entry.find("]")
            if end < 0:
                raise ValueError(f"broker {entry!r}: missing ']' after the IPv6 address")
            host, rest = entry[1:end], entry[end + 1 :]
            if rest and not rest.startswith(":"):
                raise ValueError(f"broker {entry!r}: expected ':port' after ']'")
            port_text = rest[1:]
        elif entry.count(":") == 1:
            host, port_text = entry.split(":")
        elif ":" in entry:
            raise ValueError(f"broker {entry!r}: write an IPv6 address as [addr]:port")
        if not host or any(c.isspace() or c in "/@" for c in host):
            raise ValueError(f"broker {entry!r}: not a host name or address")
        port = default_port
        if port_text:
            if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
                raise ValueError(f"broker {entry!r}: port must be a number from 1 to 65535")
            port = int(port_text)
        out.append(BrokerAddress(host, port))
    if not out:
        raise ValueError("the broker list is empty: give at least one host[:port]")
    return out


class BrokerFailover:
    """Which broker of a list a paho client uses: after a connection attempt to the current
    one fails (unreachable, refused), the next one is tried, round the list. paho's reconnect
    backoff (``reconnect_delay_set``) spaces the attempts, so a site that is down is not
    hammered. A working connection stays where it is (no fail-back while it works: the
    brokers of the two sites are bridged, see deploy/standby.md).
    """

    def __init__(self, brokers: list[BrokerAddress]) -> None:
        if not brokers:
            raise ValueError("at least one broker is needed")
        self.brokers = list(brokers)
        self._index = 0
        self._lock = threading.Lock()
        self.failovers = 0

    @property
    def current(self) -> BrokerAddress:
        with self._lock:
            return self.brokers[self._index]

    def connection_failed(self, client: mqtt.Client) -> BrokerAddress:
        """Call from ``on_connect_fail``: point ``client`` at the next broker (its next
        reconnect goes there) and return it."""
        with self._lock:
            if len(self.brokers) == 1:
                return self.brokers[0]
            nxt = (self._index + 1) % len(self.brokers)
            target = self.brokers[nxt]
            if client.is_connected():  # a connection is (again) open: stay
                return self.brokers[self._index]
            # paho's public host/port setters refuse while a connect attempt is under way
            # (its state is "connecting" inside on_connect_fail); its own reconnect reads
            # these two attributes, so they are set directly (paho-mqtt 2.x; the failover
            # test in tests/gateway/test_broker_failover.py guards this).
            client._host = target.host
            client._port = target.port
            self._index = nxt
            self.failovers += 1
        log.warning("broker unreachable; next attempt goes to %s", target)
        return target
