"""MQTT protocol options shared by the gateway and the CP service.

MQTT 5 is the default and what production uses (an ACL refusal is visible in the PUBACK).
MQTT 3.1.1 exists only so the demo can fall back to a pure-Python broker (amqtt speaks
nothing newer) on a machine without Mosquitto.

Client ids: the production broker binds the client id to the username
(``use_username_as_clientid`` in deploy/mosquitto/mosquitto.conf), so no identity can take
over another's session. As a second line for brokers without that option, the default ids of
the CP service and the gateway carry a suffix derived from the broker password
(``private_client_id``): stable across restarts, so the broker keeps the session, and not
guessable by anyone who does not hold the password.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Any

import paho.mqtt.client as mqtt
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
