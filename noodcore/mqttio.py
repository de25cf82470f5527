"""paho's client with block reads and batched writes: the CP's ingest reads thousands of
small packets a second, and paho spends most of its time per packet in system calls.

paho 2.2 reads each packet with at least three ``recv`` calls (the command byte, each
byte of the remaining length, then the body) and one ``select`` per packet, and writes
each queued packet (every PUBACK, every ack) with its own ``send``. ``BlockClient``
changes only that:

- Reads: ``_sock_recv`` takes up to ``READ_BLOCK`` bytes from the socket at once and
  serves paho's small reads from that block; ``loop_read`` goes on handling packets while
  the block holds bytes (paho's ``select`` cannot see them). The block belongs to one
  socket object: after a reconnect the unread rest of the old connection's block is
  dropped, never fed to the new connection.
- Wake-ups: paho wakes its network thread for every packet another thread queues (a byte
  on a socket pair); the sending thread gives up the GIL in that ``send``, the network
  thread writes that one packet, and so on, packet by packet. Here a wake-up is sent only
  when none is on its way: the byte already sent wakes the network thread, which reads it
  (and clears the flag) before it writes the queue, so every packet queued before then
  leaves in that write.
- Writes: before paho writes its queue, each run of queued packets with nothing to do after
  their write (everything but QoS 0 PUBLISH, whose ``on_publish`` fires on write, and
  DISCONNECT) is joined into one packet, up to ``WRITE_BLOCK`` bytes, so it leaves in one
  ``send``. Order on the wire is unchanged. QoS 1/2 publishes are still tracked in
  ``_out_messages`` (paho resends those after a reconnect, not the queue), so joining them
  loses nothing.

Invariant: the bytes on the wire and the callbacks are exactly those of paho's client; only
the number of system calls and thread switches differs. The overrides use paho's private
parts (``_sock_recv``, ``_packet_write``, ``_out_packet``, the socket-pair attributes), so
pyproject.toml pins paho-mqtt to the 2.2 series, and tests/test_mqttio.py checks their shape
as well as the behaviour against a real Mosquitto. (No maintained library does this for
paho; the asyncio MQTT clients are other clients, and paho 2 is this project's choice.)

Measured, 50,000 QoS 1 messages of 500 bytes from ``mosquitto_pub -l`` to one subscriber on
a 2-core machine, CPU per message in the subscriber's process: a plain subscriber 0.058 ->
0.039 ms; with manual acks sent from another thread, as the CP's ingest worker does, 0.092
-> 0.040 ms (and 11,000 -> 22,000 messages a second).
"""

from __future__ import annotations

import socket
from collections import deque
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.client import DISCONNECT, PUBACK, PUBLISH, MQTTErrorCode

# One read takes at most this much from the socket: about a hundred typical reports.
READ_BLOCK = 65536
# A joined write is at most this long; a longer packet is written on its own.
WRITE_BLOCK = 65536


class _WakeSender:
    """The sending end of paho's wake-up socket pair: one byte on its way is enough."""

    __slots__ = ("pending", "sock")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.pending = False

    def send(self, data: bytes) -> int:
        if self.pending:
            return len(data)
        self.pending = True  # before the send: a drain that races it only wakes once more
        return self.sock.send(data)

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.sock.close()


class _WakeReceiver:
    """The receiving end: paho's network thread drains it, then writes the queue."""

    __slots__ = ("client", "sock")

    def __init__(self, sock: socket.socket, client: BlockClient) -> None:
        self.sock = sock
        self.client = client

    def recv(self, bufsize: int) -> bytes:
        try:
            return self.sock.recv(bufsize)
        finally:
            # After the drain and before paho's loop_write: a packet whose thread saw the
            # flag set was queued before this point, so that write takes it.
            sender = self.client._wake_sender
            if sender is not None:
                sender.pending = False

    def fileno(self) -> int:
        return self.sock.fileno()

    def close(self) -> None:
        self.sock.close()


class BlockClient(mqtt.Client):
    """A paho ``Client`` that reads the socket in blocks and joins queued writes."""

    _rblock: bytes = b""
    _rpos: int = 0
    _rsock: object = None
    _wake_sender: _WakeSender | None = None
    _wake_receiver: _WakeReceiver | None = None

    # paho assigns its socket pair to these two attributes (in __init__, loop_start and
    # loop); they hand it the wrappers above.
    @property  # type: ignore[override]
    def _sockpairW(self) -> _WakeSender | None:
        return self._wake_sender

    @_sockpairW.setter
    def _sockpairW(self, sock: socket.socket | None) -> None:
        self._wake_sender = None if sock is None else _WakeSender(sock)

    @property  # type: ignore[override]
    def _sockpairR(self) -> _WakeReceiver | None:
        return self._wake_receiver

    @_sockpairR.setter
    def _sockpairR(self, sock: socket.socket | None) -> None:
        self._wake_receiver = None if sock is None else _WakeReceiver(sock, self)

    # -- reads -------------------------------------------------------------------------

    def _buffered(self) -> bool:
        return self._rpos < len(self._rblock) and self._rsock is self._sock

    def _sock_recv(self, bufsize: int) -> bytes:
        if self._buffered():
            start = self._rpos
            self._rpos = start + bufsize
            return self._rblock[start : start + bufsize]
        data = super()._sock_recv(max(bufsize, READ_BLOCK))
        if len(data) <= bufsize:  # also the empty read of a closed connection
            self._rblock = b""
            self._rpos = 0
            return data
        self._rblock = data
        self._rpos = bufsize
        self._rsock = self._sock
        return data[:bufsize]

    def loop_read(self, max_packets: int = 1) -> MQTTErrorCode:
        rc = super().loop_read(max_packets)
        # (A block belongs to the socket it came from, so a buffered block means a socket.)
        while rc == MQTTErrorCode.MQTT_ERR_SUCCESS and self._buffered():
            rc = super().loop_read(max_packets)
        return rc

    # -- writes ------------------------------------------------------------------------

    def _packet_write(self) -> MQTTErrorCode:
        queue = self._out_packet
        if len(queue) > 1:
            _join_runs(queue)
        return super()._packet_write()


def _quiet(packet: Any) -> bool:
    """Nothing happens after this packet is written (see the module docstring)."""
    command = packet["command"] & 0xF0
    if command == PUBLISH:
        return bool(packet["qos"])
    return command != DISCONNECT


def _join_runs(queue: deque[Any]) -> None:
    """Join each run of quiet packets in ``queue`` into one packet holding their unwritten
    bytes (at most ``WRITE_BLOCK`` of them, unless one packet alone is longer). Only the
    network thread writes, and it alone takes from the left; other threads append on the
    right, so the packets there now are taken off and put back, joined, in their order."""
    count = len(queue)
    if count < 2:
        return
    taken = [queue.popleft() for _ in range(count)]
    out: list[Any] = []
    run: list[Any] = []
    size = 0
    for packet in taken:
        if not _quiet(packet):
            _close_run(run, out)
            run, size = [], 0
            out.append(packet)
            continue
        rest = packet["to_process"]
        if run and size + rest > WRITE_BLOCK:
            _close_run(run, out)
            run, size = [], 0
        run.append(packet)
        size += rest
    _close_run(run, out)
    queue.extendleft(reversed(out))


def _close_run(run: list[Any], out: list[Any]) -> None:
    if len(run) < 2:
        out.extend(run)
        return
    data = b"".join(p["packet"][p["pos"] :] for p in run)
    out.append(
        {
            "command": PUBACK,  # any command with no action after its write
            "mid": 0,
            "qos": 0,
            "pos": 0,
            "to_process": len(data),
            "packet": data,
            "info": None,
        }
    )
