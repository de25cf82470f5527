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
from enum import StrEnum
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties


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
    client = mqtt.Client(
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
