"""The gateway against a real Mosquitto, with a plain paho client playing the CP."""

from __future__ import annotations

import json
import re
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion

from gateway import db as gateway_db
from gateway import publisher
from gateway.api import create_app
from gateway.settings import GatewaySettings
from schemas import AckMessage, Presence, new_message_id, parse_up, topics
from tests.support import Mosquitto, MosquittoFactory, staff_headers, wait_until

CP, NSP = "cp-test", "nsp-test"
ROOT = Path(__file__).resolve().parents[2]


def help_request(i: int) -> dict[str, Any]:
    return {
        "kind": "help_request",
        "body": {
            "category": "medical",
            "urgency": "P2",
            "location": {"address": f"Kerkstraat {i}, Oss"},
            "description": f"Melding {i}: bewoner onwel, geen telefoon",
        },
    }


class FakeCp:
    """Subscribes like the CP service does and answers with acks when told to."""

    def __init__(self, port: int) -> None:
        self.received: list[tuple[str, bytes, bool]] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id="fake-cp",
            protocol=mqtt.MQTTv5,
        )

        def on_connect(c: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
            c.subscribe([(f, 1) for f in topics.cp_up_filters(CP)])

        def on_subscribe(*_args: Any) -> None:
            self._subscribed.set()

        def on_message(_c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
            with self._lock:
                self.received.append((msg.topic, bytes(msg.payload), bool(msg.retain)))

        self.client.on_connect = on_connect
        self.client.on_subscribe = on_subscribe
        self.client.on_message = on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self._subscribed.wait(10), "fake CP could not subscribe"

    def ups(self, kind: str = "+") -> list[tuple[bytes, Any]]:
        with self._lock:
            return [
                (payload, parse_up(payload))
                for topic, payload, _ in self.received
                if "/up/" in topic and (kind == "+" or topic.endswith(f"/up/{kind}"))
            ]

    def presences(self) -> list[Presence]:
        with self._lock:
            return [
                Presence.model_validate_json(p)
                for topic, p, _ in self.received
                if topic == topics.status(CP, NSP) and p
            ]

    def ack(self, message_id: str, seq: int, stored_at: datetime) -> None:
        msg = AckMessage.model_validate(
            {
                "message_id": new_message_id(),
                "sent_at": datetime.now(UTC),
                "cp_id": CP,
                "nsp_id": NSP,
                "body": {"ref_message_id": message_id, "ref_seq": seq, "stored_at": stored_at},
            }
        )
        info = self.client.publish(
            topics.down(CP, NSP, "ack"), msg.model_dump_json().encode(), qos=1
        )
        info.wait_for_publish(10)

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(10)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def fake_cp_factory() -> Iterator[Callable[[int], FakeCp]]:
    made: list[FakeCp] = []

    def make(port: int) -> FakeCp:
        made.append(FakeCp(port))
        return made[-1]

    yield make
    for cp in made:
        cp.close()


@pytest.fixture
def gateway_factory(
    settings_factory: Callable[..., GatewaySettings],
) -> Iterator[Callable[..., TestClient]]:
    clients: list[TestClient] = []

    def make(**overrides: Any) -> TestClient:
        settings = settings_factory(**overrides)
        client = TestClient(create_app(settings), headers=staff_headers(settings.db_path))
        client.__enter__()
        clients.append(client)
        return client

    yield make
    for c in clients:
        c.__exit__(None, None, None)


def connected(gw: TestClient) -> bool:
    return bool(gw.get("/api/v1/link").json()["connected"])


def report(gw: TestClient, message_id: str) -> dict[str, Any]:
    r = gw.get(f"/api/v1/reports/{message_id}")
    r.raise_for_status()
    return dict(r.json())


def test_report_is_stored_only_when_the_cp_acks(
    mosquitto: Mosquitto,
    fake_cp_factory: Callable[[int], FakeCp],
    gateway_factory: Callable[..., TestClient],
) -> None:
    cp = fake_cp_factory(mosquitto.port)
    gw = gateway_factory(mqtt_port=mosquitto.port)
    wait_until(lambda: connected(gw), 10, what="gateway connected")
    wait_until(lambda: any(p.online for p in cp.presences()), 10, what="presence online")

    created = gw.post("/api/v1/reports", json=help_request(1)).json()
    [(_, message)] = wait_until(lambda: cp.ups("help_request"), 10, what="CP receives")
    assert message.message_id == created["message_id"] and message.seq == created["seq"]
    assert message.nsp_id == NSP

    # PUBACKed by the broker, but the CP has not confirmed: not stored.
    wait_until(lambda: report(gw, created["message_id"])["state"] == "sent", 10, what="sent")
    assert report(gw, created["message_id"])["cp_stored_at"] is None

    cp_time = datetime(2026, 3, 4, 14, 2, 0, 123000, tzinfo=UTC)
    cp.ack(message.message_id, message.seq, cp_time)
    stored = wait_until(
        lambda: (r := report(gw, created["message_id"]))["state"] == "stored" and r,
        10,
        what="gateway shows stored",
    )
    assert datetime.fromisoformat(stored["cp_stored_at"]) == cp_time
    assert stored["cp_state"] == "stored"
    assert [h["state"] for h in stored["history"]] == ["stored"]
    link = gw.get("/api/v1/link").json()
    assert link["pending_count"] == 0 and link["last_error"] is None


def test_reports_taken_during_an_outage_go_out_in_order(
    mosquitto_factory: MosquittoFactory,
    fake_cp_factory: Callable[[int], FakeCp],
    gateway_factory: Callable[..., TestClient],
) -> None:
    broker = mosquitto_factory()  # not started: the CP link is down
    gw = gateway_factory(mqtt_port=broker.port, resend_after_seconds=1)
    ids = [gw.post("/api/v1/reports", json=help_request(i)).json()["message_id"] for i in range(5)]
    link = gw.get("/api/v1/link").json()
    assert link["connected"] is False and link["pending_count"] == 5
    assert link["last_error"] is not None  # cannot reach the broker

    broker.start()
    cp = fake_cp_factory(broker.port)
    wait_until(lambda: connected(gw), 15, what="gateway reconnects")
    wait_until(lambda: {m.message_id for _, m in cp.ups()} >= set(ids), 15, what="all arrive")
    first_seen: list[int] = []
    for _, m in cp.ups():
        if m.seq not in first_seen:
            first_seen.append(m.seq)
    assert first_seen == [1, 2, 3, 4, 5]

    for _, m in cp.ups():
        cp.ack(m.message_id, m.seq, datetime.now(UTC))
    wait_until(lambda: gw.get("/api/v1/link").json()["pending_count"] == 0, 10, what="acked")


def test_after_an_outage_p1s_go_first_and_the_rest_waits_for_their_ack(
    mosquitto: Mosquitto,
    fake_cp_factory: Callable[[int], FakeCp],
    gateway_factory: Callable[..., TestClient],
) -> None:
    """After a reconnect the P1s go out ahead of the backlog, and the backlog waits for the
    CP's ack of them (at most URGENT_HOLD_SECONDS): a CP that gets the whole region's P1s
    before anyone's backlog stores them at once (bench/backlog.py)."""
    cp = fake_cp_factory(mosquitto.port)
    gw = gateway_factory(mqtt_port=mosquitto.port, resend_after_seconds=30)
    wait_until(lambda: connected(gw), 10, what="gateway connected")
    assert gw.post("/api/v1/link/cut").json()["cut"] is True
    wait_until(lambda: not connected(gw), 10, what="link cut")
    routine = [gw.post("/api/v1/reports", json=help_request(i)).json() for i in range(3)]
    urgent = help_request(9)
    urgent["body"]["urgency"] = "P1"
    p1 = gw.post("/api/v1/reports", json=urgent).json()

    gw.post("/api/v1/link/restore")
    [(_, first)] = wait_until(lambda: cp.ups("help_request"), 10, what="the P1 arrives")
    assert first.message_id == p1["message_id"] and first.seq == 4  # ahead of seq 1-3
    acked_at = time.monotonic()
    cp.ack(first.message_id, first.seq, datetime.now(UTC))
    wait_until(lambda: len(cp.ups("help_request")) == 4, 10, what="the rest after the ack")
    assert [m.seq for _, m in cp.ups("help_request")] == [4, 1, 2, 3]
    # The ack released them, not the hold's time-out.
    assert time.monotonic() - acked_at < publisher.URGENT_HOLD_SECONDS
    assert report(gw, p1["message_id"])["state"] == "stored"
    assert all(report(gw, r["message_id"])["state"] == "sent" for r in routine)


def test_without_the_p1s_ack_the_rest_goes_after_the_hold(
    mosquitto: Mosquitto,
    fake_cp_factory: Callable[[int], FakeCp],
    gateway_factory: Callable[..., TestClient],
) -> None:
    """A CP that does not ack the P1 delays the rest by URGENT_HOLD_SECONDS, no more."""
    cp = fake_cp_factory(mosquitto.port)
    gw = gateway_factory(mqtt_port=mosquitto.port, resend_after_seconds=30)
    wait_until(lambda: connected(gw), 10, what="gateway connected")
    gw.post("/api/v1/link/cut")
    wait_until(lambda: not connected(gw), 10, what="link cut")
    gw.post("/api/v1/reports", json=help_request(1))
    urgent = help_request(2)
    urgent["body"]["urgency"] = "P1"
    gw.post("/api/v1/reports", json=urgent)

    gw.post("/api/v1/link/restore")
    wait_until(lambda: cp.ups("help_request"), 10, what="the P1 arrives")
    p1_seen = time.monotonic()
    wait_until(lambda: len(cp.ups("help_request")) == 2, 15, what="the rest after the hold")
    held = time.monotonic() - p1_seen
    assert [m.seq for _, m in cp.ups("help_request")] == [2, 1]
    assert publisher.URGENT_HOLD_SECONDS - 0.5 <= held < publisher.URGENT_HOLD_SECONDS + 5


def test_rows_beyond_max_awaiting_ack_wait_for_the_cps_acks(
    mosquitto: Mosquitto,
    fake_cp_factory: Callable[[int], FakeCp],
    gateway_factory: Callable[..., TestClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A backlog goes out MAX_AWAITING_ACK rows ahead of the CP's acks, not all at once into
    the broker's queue; a P1 is not held by the bound. The broker delivers one connection's
    publishes in order, so when a P1 sent later arrives, every row sent before it has too."""
    monkeypatch.setattr(publisher, "MAX_AWAITING_ACK", 5)
    cp = fake_cp_factory(mosquitto.port)
    gw = gateway_factory(mqtt_port=mosquitto.port, resend_after_seconds=60)
    wait_until(lambda: connected(gw), 10, what="gateway connected")
    gw.post("/api/v1/link/cut")
    wait_until(lambda: not connected(gw), 10, what="link cut")
    for i in range(12):
        gw.post("/api/v1/reports", json=help_request(i))
    gw.post("/api/v1/link/restore")

    def routine() -> list[Any]:
        return [m for _, m in cp.ups("help_request") if m.body.urgency != "P1"]

    def p1_after(n: int) -> Any:
        urgent = help_request(100 + n)
        urgent["body"]["urgency"] = "P1"
        mid = gw.post("/api/v1/reports", json=urgent).json()["message_id"]
        wait_until(
            lambda: any(m.message_id == mid for _, m in cp.ups("help_request")),
            10,
            what="the P1, past the bound",
        )
        for _, m in cp.ups("help_request"):
            if m.message_id == mid:
                cp.ack(m.message_id, m.seq, datetime.now(UTC))  # ends its hold

    wait_until(lambda: len(routine()) >= 5, 10, what="the first rows")
    p1_after(1)
    assert [m.seq for m in routine()] == [1, 2, 3, 4, 5]  # and no more

    for m in routine()[:2]:
        cp.ack(m.message_id, m.seq, datetime.now(UTC))
    wait_until(lambda: len(routine()) >= 7, 10, what="two more rows after two acks")
    p1_after(2)
    assert [m.seq for m in routine()] == [1, 2, 3, 4, 5, 6, 7]

    def ack_all() -> bool:
        for m in routine():
            cp.ack(m.message_id, m.seq, datetime.now(UTC))
        return gw.get("/api/v1/link").json()["pending_count"] == 0

    wait_until(ack_all, 20, what="the rest, as acks come")
    assert sorted({m.seq for m in routine()}) == list(range(1, 13))


def test_unconfirmed_report_is_resent_with_identical_bytes(
    mosquitto: Mosquitto,
    fake_cp_factory: Callable[[int], FakeCp],
    gateway_factory: Callable[..., TestClient],
) -> None:
    gw = gateway_factory(mqtt_port=mosquitto.port, resend_after_seconds=0.5)
    wait_until(lambda: connected(gw), 10, what="gateway connected")
    # Nobody subscribes yet: the broker PUBACKs and drops it, as a crashed broker would lose it.
    mid = gw.post("/api/v1/reports", json=help_request(1)).json()["message_id"]
    wait_until(lambda: report(gw, mid)["state"] == "sent", 10, what="sent")

    cp = fake_cp_factory(mosquitto.port)
    copies = wait_until(lambda: len(cp.ups()) >= 2 and cp.ups(), 15, what="two resends")
    assert copies[0][0] == copies[1][0]
    assert copies[0][1].message_id == mid
    # The gateway counts a publish after handing it to its MQTT client: the CP may have it first.
    wait_until(lambda: report(gw, mid)["publish_count"] >= 3, 10, what="three publishes counted")


def test_a_downward_message_that_fails_is_processed_again_without_a_reconnect(
    mosquitto: Mosquitto,
    fake_cp_factory: Callable[[int], FakeCp],
    gateway_factory: Callable[..., TestClient],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A state ack that arrives while the gateway's database is locked (another writer past
    the busy timeout) fails; MQTT would redeliver it only on the next connection, so the
    gateway processes it again itself, shows the failure in its health meanwhile, and acks it
    to the broker once it is committed, on the same connection."""
    monkeypatch.setattr(gateway_db, "BUSY_TIMEOUT_MS", 200)  # fail fast while locked
    cp = fake_cp_factory(mosquitto.port)
    gw = gateway_factory(mqtt_port=mosquitto.port)
    rt = gw.app.state.runtime  # type: ignore[attr-defined]
    wire: list[str] = []
    rt.publisher._client.on_log = lambda _c, _u, _level, text: wire.append(text)
    wait_until(lambda: connected(gw), 10, what="gateway connected")
    created = gw.post("/api/v1/reports", json=help_request(1)).json()
    [(_, message)] = wait_until(lambda: cp.ups("help_request"), 10, what="CP receives")
    cp.ack(message.message_id, message.seq, datetime.now(UTC))
    wait_until(lambda: report(gw, created["message_id"])["state"] == "stored", 10, what="stored")
    connected_at = rt.publisher.info().last_connected_at

    lock = sqlite3.connect(rt.settings.db_path, isolation_level=None)
    try:
        lock.execute("BEGIN EXCLUSIVE")  # WAL: readers go on, every writer waits
        state = AckMessage.model_validate(
            {
                "message_id": new_message_id(),
                "sent_at": datetime.now(UTC),
                "cp_id": CP,
                "nsp_id": NSP,
                "body": {
                    "ref_message_id": message.message_id,
                    "state": "acknowledged",
                    "stored_at": datetime.now(UTC),
                    "note": "Gezien, ambulance onderweg",
                },
            }
        )
        cp.publish(topics.down(CP, NSP, "ack"), state.model_dump_json().encode())

        def failing() -> bool:
            (retry,) = [h for h in rt.health().workers if h.name == "downward retry"]
            return retry.failing_item_count == 1 and "locked" in retry.failing_items[0].error

        wait_until(failing, 10, what="the failure shows in the gateway's health")
        received = [int(m) for t in wire if (m := _mid(t, "Received PUBLISH"))]
        assert received, wire
        assert report(gw, created["message_id"])["cp_state"] == "stored"
    finally:
        lock.rollback()
        lock.close()

    shown = wait_until(
        lambda: (r := report(gw, created["message_id"]))["cp_state"] == "acknowledged" and r,
        15,
        what="the state ack is applied once the database is free",
    )
    assert shown["cp_note"] == "Gezien, ambulance onderweg"
    wait_until(
        lambda: any(_mid(t, "Sending PUBACK") == str(received[-1]) for t in wire),
        10,
        what="the broker gets its PUBACK",
    )
    assert rt.publisher.info().last_connected_at == connected_at  # no reconnect needed
    (retry,) = [h for h in rt.health().workers if h.name == "downward retry"]
    assert retry.failing_item_count == 0 and rt.publisher.down_retry.waiting() == 0


def _mid(log_line: str, what: str) -> str | None:
    """The packet id in one of paho's debug lines (``Received PUBLISH (d0, q1, r0, m3), ...``
    or ``Sending PUBACK (Mid: 3)``), when the line is ``what``."""
    if not log_line.startswith(what):
        return None
    found = re.search(r"(?:, m|Mid: )(\d+)\)", log_line)
    return found.group(1) if found else None


def test_broker_refusal_is_loud_and_visible(
    tmp_path: Path,
    mosquitto_factory: MosquittoFactory,
    gateway_factory: Callable[..., TestClient],
) -> None:
    acl = tmp_path / "acl"
    acl.write_text(
        f"user {NSP}\n"
        f"topic readwrite {topics.status(CP, NSP)}\n"
        f"topic read noodnet/v1/{CP}/nsp/{NSP}/down/#\n"
        f"topic read noodnet/v1/{CP}/bulletin/#\n"
    )
    broker = mosquitto_factory(extra_conf=f"acl_file {acl}\n").start()
    gw = gateway_factory(mqtt_port=broker.port)
    wait_until(lambda: connected(gw), 10, what="gateway connected")
    mid = gw.post("/api/v1/reports", json=help_request(1)).json()["message_id"]

    link = wait_until(
        lambda: (x := gw.get("/api/v1/link").json())["refused_count"] >= 1 and x,
        10,
        what="refusal noticed",
    )
    assert "0x87" in link["last_error"] and mid in link["last_error"]
    # The PUBACK (network thread) can be handled before the publisher thread has marked the
    # row sent, and the counter is bumped before the row's error is written: wait for both.
    row = wait_until(
        lambda: (r := report(gw, mid))["last_error"] and r["state"] == "sent" and r,
        10,
        what="row marked sent with the refusal",
    )
    assert "0x87" in row["last_error"]


def test_bulletin_is_shown_and_receipted(
    mosquitto: Mosquitto,
    fake_cp_factory: Callable[[int], FakeCp],
    gateway_factory: Callable[..., TestClient],
) -> None:
    cp = fake_cp_factory(mosquitto.port)
    now = datetime.now(UTC)
    bulletin = {
        "message_id": new_message_id(),
        "sent_at": now.isoformat(),
        "cp_id": CP,
        "kind": "bulletin",
        "body": {
            "bulletin_id": "water-1",
            "version": 1,
            "valid_from": now.isoformat(),
            "texts": [{"language": "nl", "headline": "Drinkwater", "text": "Tappunt bij de kerk"}],
        },
    }
    # Retained and published before the gateway exists: it must still arrive.
    cp.publish(topics.bulletin(CP, "water-1"), json.dumps(bulletin).encode(), retain=True)
    gw = gateway_factory(mqtt_port=mosquitto.port)
    shown = wait_until(lambda: gw.get("/api/v1/bulletins").json(), 10, what="bulletin shown")
    assert shown[0]["headline"] == "Drinkwater" and shown[0]["language"] == "nl"
    [(_, receipt)] = wait_until(lambda: cp.ups("receipt"), 10, what="receipt")
    assert receipt.body.bulletin_id == "water-1" and receipt.body.version == 1


def _gateway_process(settings: dict[str, Any]) -> subprocess.Popen[bytes]:
    script = textwrap.dedent(
        f"""
        import logging
        from gateway.api import run
        from gateway.settings import GatewaySettings
        logging.basicConfig(level=logging.INFO)
        run(GatewaySettings(**{settings!r}))
        """
    )
    return subprocess.Popen([sys.executable, "-c", script], cwd=ROOT)


def test_sigterm_stops_cleanly_and_announces_offline(
    tmp_path: Path, mosquitto: Mosquitto, fake_cp_factory: Callable[[int], FakeCp]
) -> None:
    cp = fake_cp_factory(mosquitto.port)
    port_file = tmp_path / "http.port"
    proc = _gateway_process(
        {
            "nsp_id": NSP,
            "cp_id": CP,
            "db_path": str(tmp_path / "gw.db"),
            "mqtt_port": mosquitto.port,
            "http_port": 0,  # any free port, reported in port_file
            "http_port_file": str(port_file),
        }
    )
    try:
        port = int(wait_until(lambda: port_file.read_text(), 20, what="port file"))
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: httpx.get(url + "/healthz").json()["connected"], 20, what="up")
        headers = staff_headers(tmp_path / "gw.db")
        r = httpx.post(url + "/api/v1/reports", json=help_request(1), headers=headers)
        assert r.status_code == 201
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    presences = cp.presences()
    assert presences[0].online and not presences[-1].online


@pytest.mark.slow
def test_killed_gateway_is_marked_offline_by_its_will(
    tmp_path: Path, mosquitto: Mosquitto, fake_cp_factory: Callable[[int], FakeCp]
) -> None:
    cp = fake_cp_factory(mosquitto.port)
    proc = _gateway_process(
        {
            "nsp_id": NSP,
            "cp_id": CP,
            "db_path": str(tmp_path / "gw.db"),
            "mqtt_port": mosquitto.port,
            "http_port": 0,
            "mqtt_keepalive": 5,
        }
    )
    try:
        wait_until(lambda: any(p.online for p in cp.presences()), 20, what="online")
    finally:
        proc.kill()
        proc.wait(10)
    # The socket closes with the process, so the broker sends the will at once.
    offline = wait_until(
        lambda: [p for p in cp.presences() if not p.online], 15, what="will published"
    )
    assert offline[-1].nsp_id == NSP and offline[-1].since is None
