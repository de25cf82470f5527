"""Per-NSP rate limits: a flooding NSP is throttled and flagged, the others' messages all get
stored, and a legitimate gateway loses nothing even when its excess is deferred.

This is the short, non-timing version; ``bench/flood.py`` measures the latency (must show 4).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemas import make_up, topics
from service.ingest import Incoming
from service.limits.ratelimit import AdmissionQueue
from tests.support import Mosquitto, MqttPeer, Proc, cp_process, gateway_process, wait_until

CP = "cp-flood"


def _item(nsp: str, n: int) -> Incoming:
    return Incoming(
        payload=str(n).encode(),
        received_at=datetime.now(UTC),
        transport="mqtt",
        topic=topics.up(CP, nsp, "status"),
    )


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_admission_parks_the_excess_keeps_order_and_serves_others_first() -> None:
    clock = FakeClock()
    q = AdmissionQueue(rate=1, burst=3, park_max=5, overflow_batch=2, clock=clock)
    for n in range(10):
        q.put(_item("flood", n))
    q.put(_item("calm", 100))
    assert q.parked() == {"flood": 5}  # 3 in burst, 5 parked, 2 deferred
    assert [i.payload for i in q.pop_deferred()] == [b"8", b"9"]
    batch = q.take_batch(max_size=4, wait_seconds=0)
    # Main lane first (burst + the calm NSP), then at most 2... but only room for 0 here.
    assert [i.payload for i in batch] == [b"0", b"1", b"2", b"100"]
    batch = q.take_batch(max_size=10, wait_seconds=0)
    assert [i.payload for i in batch] == [b"3", b"4"]  # overflow slice of 2, in order
    clock.now += 2.0  # two tokens: the head of the overflow lane is promoted, order kept
    batch = q.take_batch(max_size=10, wait_seconds=0)
    assert [i.payload for i in batch] == [b"5", b"6", b"7"]
    counts = q.pop_counts()
    assert counts["flood"].throttled == 5 and counts["flood"].deferred == 2
    assert "calm" not in counts and q.qsize() == 0


def test_admission_round_robin_between_flooders_and_http_retry_after() -> None:
    clock = FakeClock()
    q = AdmissionQueue(rate=0.5, burst=1, park_max=100, overflow_batch=4, clock=clock)
    for n in range(5):
        q.put(_item("a", n))
        q.put(_item("b", 10 + n))
    first = q.take_batch(max_size=100, wait_seconds=0)
    assert [i.payload for i in first] == [b"0", b"10", b"1", b"11", b"2", b"12"]
    assert q.admit_http("a") == pytest.approx(2.0)  # parked work waits first: no jumping
    assert q.admit_http("c") is None
    disabled = AdmissionQueue(rate=0, burst=0, park_max=0, overflow_batch=0)
    for n in range(50):
        disabled.put(_item("a", n))
    assert len(disabled.take_batch(100, 0)) == 50 and disabled.pop_counts() == {}


@pytest.fixture
def cp(tmp_path: Path, broker: Mosquitto, database_url: str) -> Iterator[Proc]:
    proc = cp_process(
        tmp_path,
        broker,
        database_url,
        cp_id=CP,
        NOODNET_RATE_LIMIT_PER_SECOND="5",
        NOODNET_RATE_LIMIT_BURST="20",
        NOODNET_RATE_LIMIT_PARK_MAX="100000",
    ).start("/readyz")
    try:
        yield proc
    finally:
        proc.stop()


def test_flooding_nsp_is_flagged_and_every_message_of_the_others_is_stored(
    cp: Proc, broker: Mosquitto
) -> None:
    flood_n, calm_n, calm = 600, 20, ["calm-1", "calm-2", "calm-3"]
    flooder = MqttPeer(broker.port, "flooder")
    peers = {n: MqttPeer(broker.port, f"peer-{n}") for n in calm}
    body = {"state": "open", "power_source": "generator"}
    flood = [make_up("status", "flood", s, body).model_dump_json() for s in range(1, flood_n + 1)]
    topic = topics.up(CP, "flood", "status")

    def run_flood() -> None:
        infos = [flooder.client.publish(topic, p, qos=1) for p in flood]
        for info in infos:
            info.wait_for_publish(30)

    t = threading.Thread(target=run_flood, daemon=True)
    t.start()
    for s in range(1, calm_n + 1):
        for n, peer in peers.items():
            peer.publish(
                topics.up(CP, n, "status"), make_up("status", n, s, body).model_dump_json()
            )
    t.join(60)

    def counts() -> dict[str, int]:
        return {n["nsp_id"]: n["message_count"] for n in cp.get("/api/v1/nsps")}

    wait_until(lambda: all(counts().get(n) == calm_n for n in calm), 30, what="calm NSPs stored")
    # Parked, not dropped: the flooder's messages are all stored too, at lower priority.
    wait_until(lambda: counts().get("flood") == flood_n, 60, what="flood stored eventually")
    nsps = {n["nsp_id"]: n for n in cp.get("/api/v1/nsps")}
    throttle = nsps["flood"]["throttle"]
    assert throttle["throttled_now"] and throttle["throttled_total"] >= flood_n - 20 - 60
    assert all(nsps[n]["throttle"] is None for n in calm)
    events = cp.get("/api/v1/security-events", params={"kind": "nsp_flooding"})
    assert [e["nsp_id"] for e in events] == ["flood"]
    for p in [flooder, *peers.values()]:
        p.close()


def test_a_real_gateway_loses_nothing_when_its_excess_is_deferred(
    tmp_path: Path, broker: Mosquitto, database_url: str
) -> None:
    cp = cp_process(
        tmp_path,
        broker,
        database_url,
        cp_id=CP,
        # A gateway keeps at most MAX_AWAITING_ACK (50) rows awaiting the CP's ack, so burst
        # plus park_max must be well below that for its excess to be deferred at all.
        NOODNET_RATE_LIMIT_PER_SECOND="10",
        NOODNET_RATE_LIMIT_BURST="5",
        NOODNET_RATE_LIMIT_PARK_MAX="5",
    ).start("/readyz")
    gw = gateway_process(tmp_path, broker, "busy", cp_id=CP, NOODNET_RESEND_AFTER_SECONDS="1")
    try:
        # Reports pile up while the gateway is down, then arrive all at once on connect.
        gw.start()
        gw.stop()
        from gateway.outbox import Outbox
        from schemas import Status

        outbox = Outbox(tmp_path / "gw-busy.db", "busy")
        for i in range(150):
            outbox.enqueue("status", Status(state="open", power_source="grid", staff_present=i))
        outbox.close()
        gw.start()

        # Until nothing waits at the gateway: besides the 150 it sends its own status on
        # start, so 150 acked can still leave one row in flight (a gap the CP sees for now).
        def drained() -> bool:
            link = gw.get("/api/v1/link")
            return link["counts"].get("stored", 0) >= 150 and link["pending_count"] == 0

        wait_until(drained, 120, interval=0.5, what="every report stored at the CP")
        nsp = cp.get("/api/v1/nsps/busy")
        assert nsp["message_count"] >= 150 and nsp["missing_count"] == 0
        assert nsp["throttle"]["deferred_total"] > 0, "the test must exercise deferral"
    finally:
        gw.stop()
        cp.stop()
