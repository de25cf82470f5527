"""The CP service ingesting over a real Mosquitto: exact dedup, gaps, acks, bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemas import AckMessage, make_up, parse_down, topics
from tests.support import Mosquitto, MqttPeer, Proc, cp_process, wait_until

CP = "cp-test"


def help_body(text: str = "Man gevallen, bloedt aan hoofd") -> dict[str, object]:
    return {
        "category": "medical",
        "urgency": "P2",
        "location": {"address": "Kerkstraat 12, Oss", "lat": 51.765, "lon": 5.518},
        "people_involved": 1,
        "description": text,
    }


@pytest.fixture
def cp(tmp_path: Path, broker: Mosquitto, database_url: str) -> Iterator[Proc]:
    proc = cp_process(tmp_path, broker, database_url, cp_id=CP).start("/readyz")
    try:
        yield proc
    finally:
        proc.stop()


def acks(peer: MqttPeer) -> list[AckMessage]:
    out = []
    for _, payload in peer.messages("/down/ack"):
        msg = parse_down(payload)
        assert isinstance(msg, AckMessage)
        out.append(msg)
    return out


def test_redelivered_message_is_stored_once_and_acked_each_time(
    cp: Proc, broker: Mosquitto
) -> None:
    gw = MqttPeer(broker.port, "fake-gw-a", [topics.down(CP, "nsp-a", "+")])
    msg = make_up("help_request", "nsp-a", 1, help_body())
    for _ in range(3):
        gw.publish(topics.up(CP, "nsp-a", "help_request"), msg.model_dump_json())
    got = wait_until(lambda: len(acks(gw)) >= 3 and acks(gw), what="three acks")
    assert {a.body.ref_message_id for a in got} == {msg.message_id}
    assert sorted(a.body.duplicate for a in got) == [False, True, True]
    assert len({a.body.stored_at for a in got}) == 1, "a re-sent ack carries the original time"
    stored = cp.get("/api/v1/messages", params={"nsp_id": "nsp-a"})
    assert [m["message_id"] for m in stored] == [msg.message_id]
    assert stored[0]["skew_seconds"] >= 0
    gw.close()


def test_sequence_gaps_are_reported_and_closed(cp: Proc, broker: Mosquitto) -> None:
    gw = MqttPeer(broker.port, "fake-gw-b", [topics.down(CP, "nsp-b", "+")])
    msgs = {s: make_up("help_request", "nsp-b", s, help_body(f"melding {s}")) for s in range(1, 9)}
    for s in (1, 2, 5, 8):
        gw.publish(topics.up(CP, "nsp-b", "help_request"), msgs[s].model_dump_json())
    nsp = wait_until(
        lambda: (n := cp.get("/api/v1/nsps/nsp-b"))["message_count"] == 4 and n, what="4 stored"
    )
    assert nsp["gaps"] == [[3, 4], [6, 7]]
    assert nsp["contiguous_seq"] == 2 and nsp["max_seq"] == 8 and nsp["missing_count"] == 4
    for s in (3, 4, 6, 7):
        gw.publish(topics.up(CP, "nsp-b", "help_request"), msgs[s].model_dump_json())
    nsp = wait_until(
        lambda: (n := cp.get("/api/v1/nsps/nsp-b"))["message_count"] == 8 and n, what="8 stored"
    )
    assert nsp["gaps"] == [] and nsp["contiguous_seq"] == 8
    gw.close()


def test_bad_input_is_dead_lettered_with_reason_and_good_messages_flow(
    cp: Proc, broker: Mosquitto
) -> None:
    gw = MqttPeer(broker.port, "fake-gw-c", [topics.down(CP, "nsp-c", "+")])
    up = topics.up(CP, "nsp-c", "help_request")
    good = [make_up("help_request", "nsp-c", s, help_body(f"goed {s}")) for s in range(1, 7)]
    wrong_nsp = make_up("help_request", "nsp-x", 99, help_body())
    bad_schema = json.loads(make_up("help_request", "nsp-c", 50, help_body()).model_dump_json())
    bad_schema["body"]["location"] = {"lat": 91, "lon": 5.5}
    no_location = json.loads(make_up("help_request", "nsp-c", 51, help_body()).model_dump_json())
    no_location["body"]["location"] = {}
    status_as_help = make_up("status", "nsp-c", 52, {"state": "open", "power_source": "generator"})
    bad: list[tuple[str, bytes, str]] = [
        (up, b"\x00\xffnot json", "not UTF-8"),
        (up, b"{not json", "not JSON"),
        (up, json.dumps(bad_schema).encode(), "body.location.lat"),
        (up, json.dumps(no_location).encode(), "a location needs an address"),
        (up, wrong_nsp.model_dump_json().encode(), "does not match NSP 'nsp-c'"),
        (up, status_as_help.model_dump_json().encode(), "kind 'status' in payload"),
        (up, b"x" * (100 * 1024), "payload too large"),
        (up, b"[1, 2]", "must be a JSON object"),
    ]
    for i, (topic, payload, _) in enumerate(bad):
        gw.publish(topic, good[i % len(good)].model_dump_json() if i < len(good) else b"{}")
        gw.publish(topic, payload)
    wait_until(lambda: len(cp.get("/api/v1/dead-letters")) >= len(bad) + 2, what="dead letters")
    letters = cp.get("/api/v1/dead-letters", params={"limit": 1000})
    reasons = [d["reason"] for d in letters]
    for _, _, expected in bad:
        assert any(expected in r for r in reasons), f"no dead letter says {expected!r}: {reasons}"
    huge = next(d for d in letters if "too large" in d["reason"])
    assert huge["payload_size"] == 100 * 1024 and huge["truncated"] is True
    stored = {m["message_id"] for m in cp.get("/api/v1/messages", params={"nsp_id": "nsp-c"})}
    assert stored == {g.message_id for g in good}
    assert cp.get("/readyz")["status"] == "ready"
    gw.close()


def test_presence_and_last_status(cp: Proc, broker: Mosquitto) -> None:
    gw = MqttPeer(broker.port, "fake-gw-d")
    gw.publish(topics.status(CP, "nsp-d"), json.dumps({"nsp_id": "nsp-d", "online": True}))
    status2 = make_up(
        "status", "nsp-d", 2, {"state": "open", "power_source": "generator", "power_hours_left": 5}
    )
    status1 = make_up("status", "nsp-d", 1, {"state": "open", "power_source": "grid"})
    # The newer status arrives first (backlog order); the older one must not replace it.
    gw.publish(topics.up(CP, "nsp-d", "status"), status2.model_dump_json())
    gw.publish(topics.up(CP, "nsp-d", "status"), status1.model_dump_json())
    nsp = wait_until(
        lambda: (n := cp.get("/api/v1/nsps/nsp-d"))["message_count"] == 2 and n, what="statuses"
    )
    assert nsp["online"] is True and nsp["liveness"] == "online"
    assert nsp["last_status"]["power_source"] == "generator"
    gw.publish(topics.status(CP, "nsp-d"), json.dumps({"nsp_id": "nsp-d", "online": False}))
    wait_until(lambda: cp.get("/api/v1/nsps/nsp-d")["liveness"] == "offline", what="offline")
    gw.close()
