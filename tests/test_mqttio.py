"""noodcore.mqttio.BlockClient: paho's client with block reads and joined writes.

Against a real Mosquitto: bursts of packets of every size (one byte to more than a read
block) arrive whole and in order, acks and publishes leave in fewer sends than packets and
all reach the broker, and QoS 0 publishes still report their write. With socket pairs: the
unread rest of a block is never served to a new connection. And the private paho methods it
overrides still have the shape it relies on, so a paho upgrade that changes them fails here.
"""

from __future__ import annotations

import hashlib
import inspect
import socket
import threading
import time
from collections import deque
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.client import DISCONNECT, PUBACK, PUBLISH
from paho.mqtt.enums import CallbackAPIVersion

from noodcore import mqttio
from noodcore.mqttconf import MqttProtocol, connect_kwargs, make_client
from noodcore.mqttio import READ_BLOCK, WRITE_BLOCK, BlockClient
from tests.support import Mosquitto, wait_until

# Sizes around the remaining-length boundaries (1, 2 and 3 bytes) and beyond a read block.
SIZES = [0, 1, 100, 120, 127, 128, 500, 16_383, 16_384, 70_000, READ_BLOCK + 1, 200_000]


def payload(i: int) -> bytes:
    size = SIZES[i % len(SIZES)]
    seed = hashlib.sha256(str(i).encode()).digest()
    return (seed * (size // len(seed) + 1))[:size]


class CountingClient(BlockClient):
    """Counts system-call sends, to show that queued packets leave together."""

    sends = 0

    def _sock_send(self, buf: bytes | bytearray) -> int:
        self.sends += 1
        return super()._sock_send(buf)


def plain_client(client_id: str) -> mqtt.Client:
    return mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
    )


def connect(client: mqtt.Client, port: int, subscribe: str | None = None, **kw: Any) -> None:
    ready = threading.Event()

    def on_connect(c: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        assert not rc.is_failure, rc
        if subscribe is None:
            ready.set()
        else:
            c.subscribe(subscribe, qos=1)

    client.on_connect = on_connect
    client.on_subscribe = lambda *_a: ready.set()
    client.connect("127.0.0.1", port, **kw)
    client.loop_start()
    assert ready.wait(10), "no CONNACK/SUBACK"


def close(client: mqtt.Client) -> None:
    client.disconnect()
    client.loop_stop()


def test_the_private_paho_methods_it_overrides_keep_their_shape() -> None:
    assert list(inspect.signature(mqtt.Client._sock_recv).parameters) == ["self", "bufsize"]
    assert list(inspect.signature(mqtt.Client._packet_write).parameters) == ["self"]
    loop_read = inspect.signature(mqtt.Client.loop_read).parameters
    assert list(loop_read) == ["self", "max_packets"]
    client = BlockClient(callback_api_version=CallbackAPIVersion.VERSION2, client_id="shape")
    assert isinstance(client._out_packet, deque)
    assert client._sock is None
    # The factory every production client comes from makes this class.
    assert isinstance(make_client("x", MqttProtocol.V5), BlockClient)


def test_a_burst_of_every_size_arrives_whole_in_order_and_every_ack_reaches_the_broker(
    broker: Mosquitto,
) -> None:
    n = 600
    got: list[tuple[int, bytes]] = []
    lock = threading.Lock()
    sub = CountingClient(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id="block-sub",
        protocol=mqtt.MQTTv5,
        manual_ack=True,
    )

    def on_message(c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        # Ack first: once the test sees the message, its PUBACK is queued ahead of the
        # DISCONNECT below (recorded first, the last ack could queue after it, unsent).
        c.ack(msg.mid, msg.qos)
        with lock:
            got.append((int(msg.topic.rsplit("/", 1)[1]), bytes(msg.payload)))

    sub.on_message = on_message
    session = connect_kwargs(MqttProtocol.V5, 3600, receive_maximum=1000)
    connect(sub, broker.port, "burst/#", **session)
    pub = plain_client("plain-pub")
    connect(pub, broker.port)
    infos = [pub.publish(f"burst/{i}", payload(i), qos=1) for i in range(n)]
    for info in infos:
        info.wait_for_publish(30)
    wait_until(lambda: len(got) >= n, 60, what=f"{n} messages at the block client")
    assert [i for i, _ in got] == list(range(n))
    assert all(body == payload(i) for i, body in got)
    sends_for_acks = sub.sends
    assert sends_for_acks < n, f"{sends_for_acks} sends for {n} acks: none were joined"

    # Every ack reached the broker: after a reconnect to the same session nothing is sent
    # again, and the first message is the one published after the reconnect.
    sub.disconnect()
    sub.loop_stop()
    with lock:
        got.clear()
    connect(sub, broker.port, None, **session)
    pub.publish("burst/999999", b"after", qos=1).wait_for_publish(10)
    wait_until(lambda: got, 20, what="the message after the reconnect")
    close(sub)
    close(pub)
    assert got == [(999999, b"after")], f"redelivered: {[i for i, _ in got][:10]}"


def test_publishes_of_both_qos_from_another_thread_all_arrive_and_all_report_published(
    broker: Mosquitto,
) -> None:
    n = 1500
    received: list[str] = []
    lock = threading.Lock()
    sub = plain_client("plain-sub")

    def on_message(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with lock:
            received.append(msg.topic)

    sub.on_message = on_message
    connect(sub, broker.port, "mixed/#")
    pub = CountingClient(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id="block-pub",
        protocol=mqtt.MQTTv5,
    )
    pub.max_inflight_messages_set(n)
    published: list[int] = []
    pub.on_publish = lambda _c, _u, mid, _rc, _p: published.append(mid)
    connect(pub, broker.port)
    infos = [
        pub.publish(f"mixed/q{i % 10 and 1}/{i}", payload(i % 9), qos=1 if i % 10 else 0)
        for i in range(n)
    ]
    for info in infos:
        info.wait_for_publish(30)
    wait_until(lambda: len(received) >= n, 60, what=f"{n} messages at the plain subscriber")
    close(pub)
    close(sub)
    assert len(published) == n  # QoS 0 on its write, QoS 1 on the broker's PUBACK
    for qos in ("q0", "q1"):
        order = [int(t.rsplit("/", 1)[1]) for t in received if f"/{qos}/" in t]
        assert order == sorted(order)
    assert sorted(int(t.rsplit("/", 1)[1]) for t in received) == list(range(n))
    assert pub.sends < n, f"{pub.sends} sends for {n} publishes: none were joined"


def test_a_publish_from_another_thread_wakes_the_network_thread_every_time(
    broker: Mosquitto,
) -> None:
    """One publish at a time, each waited for: a lost wake-up leaves the packet queued until
    paho's select times out (1 s), so 40 rounds would take 40 s; they take well under 1 s."""
    pub = BlockClient(
        callback_api_version=CallbackAPIVersion.VERSION2, client_id="waker", protocol=mqtt.MQTTv5
    )
    connect(pub, broker.port)
    start = time.monotonic()
    try:
        for i in range(40):
            info = pub.publish(f"wake/{i}", b"x", qos=1 if i % 2 else 0)
            info.wait_for_publish(5)
            assert info.is_published(), f"publish {i} not written within 5 s"
    finally:
        close(pub)
    assert time.monotonic() - start < 20, "wake-ups were lost: publishes waited for select"


def test_the_rest_of_a_block_is_never_served_to_a_new_connection() -> None:
    client = BlockClient(callback_api_version=CallbackAPIVersion.VERSION2, client_id="pairs")
    old, old_peer = socket.socketpair()
    new, new_peer = socket.socketpair()
    try:
        for s in (old, new):
            s.setblocking(False)
        client._sock = old  # type: ignore[assignment]
        old_peer.sendall(b"0123456789")
        assert client._sock_recv(1) == b"0"
        assert client._sock_recv(3) == b"123"
        client._sock = new  # type: ignore[assignment]  # as a reconnect does
        with pytest.raises(BlockingIOError):
            client._sock_recv(1)  # nothing yet on the new connection; "456789" is gone
        new_peer.sendall(b"XYZ")
        assert client._sock_recv(1) == b"X"
        assert client._sock_recv(10) == b"YZ"
        with pytest.raises(BlockingIOError):
            client._sock_recv(1)
        new_peer.close()
        assert client._sock_recv(1) == b""  # a closed connection still reads as closed
    finally:
        client._sock = None
        for s in (old, old_peer, new, new_peer):
            s.close()


def packet(command: int, data: bytes, qos: int = 1, pos: int = 0) -> dict[str, Any]:
    return {
        "command": command,
        "mid": 1,
        "qos": qos,
        "pos": pos,
        "to_process": len(data) - pos,
        "packet": data,
        "info": None,
    }


def test_only_packets_without_an_action_after_their_write_are_joined() -> None:
    q0 = packet(PUBLISH, b"P0", qos=0)
    disconnect = packet(DISCONNECT, b"D")
    queue = deque(
        [
            packet(PUBACK, b"xxA", pos=2),  # partly written already: only the rest goes
            packet(PUBLISH | 2, b"B", qos=1),
            packet(PUBACK, b"C"),
            q0,
            packet(PUBACK, b"E"),
            disconnect,
            packet(PUBACK, b"F"),
            packet(PUBLISH | 2, b"G", qos=1),
        ]
    )
    mqttio._join_runs(queue)
    assert [p["packet"] for p in queue] == [b"ABC", b"P0", b"E", b"D", b"FG"]
    assert queue[0]["to_process"] == 3 and queue[0]["command"] == PUBACK
    assert queue[1] is q0 and queue[3] is disconnect  # kept as they are: paho acts on them
    # A lone packet stays as it is.
    single = deque([packet(PUBACK, b"A")])
    mqttio._join_runs(single)
    assert list(single) == [packet(PUBACK, b"A")]
    # A join holds at most WRITE_BLOCK bytes; a longer packet goes on its own.
    big = b"x" * (WRITE_BLOCK - 1)
    queue = deque([packet(PUBACK, big), packet(PUBACK, b"yy"), packet(PUBACK, b"z")])
    mqttio._join_runs(queue)
    assert [p["packet"] for p in queue] == [big, b"yyz"]
    queue = deque([packet(PUBACK, b"a"), packet(PUBACK, big + b"b"), packet(PUBACK, b"c")])
    mqttio._join_runs(queue)
    assert [p["to_process"] for p in queue] == [1, WRITE_BLOCK, 1]
