"""Must show 1, MQTT entry point: a CP process and a real Mosquitto, hostile messages from one
NSP's own credentials (its own up and status topics, a retained publish, a stolen message id)
interleaved with good reports from other NSPs. Every good report is stored and acked within
seconds, every hostile one is a dead letter with its reason, the CP stays ready, and after a
CP restart nothing hostile comes back (the retained message is seen again on subscribe and
ignored without a second dead letter). Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from schemas import AckMessage, HandlingState, parse_down, topics
from tests.support import Mosquitto, MqttPeer, Proc, cp_process, wait_until
from tests.test_ingest_isolation import help_body, hostile_payloads, msg

CP = "cp-test"


@pytest.fixture
def cp(tmp_path: Path, broker: Mosquitto, database_url: str) -> Iterator[Proc]:
    proc = cp_process(tmp_path, broker, database_url, cp_id=CP).start("/readyz")
    try:
        yield proc
    finally:
        if proc.proc is not None:
            proc.stop()


def acks(peer: MqttPeer) -> list[AckMessage]:
    out = []
    for _, payload in peer.messages("/down/ack"):
        m = parse_down(payload)
        assert isinstance(m, AckMessage)
        out.append(m)
    return out


def ready(cp: Proc) -> bool:
    return httpx.get(cp.url + "/readyz", timeout=5).status_code == 200


def test_mqtt_hostile_messages_never_stop_a_cp(cp: Proc, broker: Mosquitto) -> None:
    bad = MqttPeer(broker.port, "gw-bad", [topics.down(CP, "nsp-bad", "+")])
    goods = {
        n: MqttPeer(broker.port, f"gw-{n}", [topics.down(CP, n, "+")]) for n in ("nsp-g1", "nsp-g2")
    }
    up_bad = topics.up(CP, "nsp-bad", "help_request")
    good_ids: list[str] = []
    seq = {n: 0 for n in goods}

    def send_good() -> None:
        for n, peer in goods.items():
            seq[n] += 1
            m = msg("help_request", n, seq[n], help_body(f"goed {seq[n]}"))
            peer.publish(topics.up(CP, n, "help_request"), json.dumps(m))
            good_ids.append(m["message_id"])

    hostile = hostile_payloads("nsp-bad")
    for what, payload in hostile:
        send_good()
        kind = json.loads(payload)["kind"] if what.startswith(("receipt", "task")) else None
        bad.publish(topics.up(CP, "nsp-bad", kind) if kind else up_bad, payload)
    # The status (presence) topic gets the parser-breaking classes too.
    status = topics.status(CP, "nsp-bad")
    bad.publish(status, b'{"nsp_id": "nsp-bad", "online": ' + b"[" * 20_000 + b"]" * 20_000 + b"}")
    bad.publish(status, b'{"nsp_id": "nsp-bad", "online": true, "x": ' + b"9" * 5000 + b"}")
    # A message id another NSP already used, with other content.
    send_good()
    stolen = {
        **msg("help_request", "nsp-bad", 900, help_body("gestolen")),
        "message_id": good_ids[0],
    }
    bad.publish(up_bad, json.dumps(stolen))
    # A retained publish on its own up topic: would come back on every subscribe.
    retained = msg("help_request", "nsp-bad", 901, help_body("blijft hangen"))
    bad.client.publish(up_bad, json.dumps(retained), qos=1, retain=True).wait_for_publish(10)
    send_good()

    def all_good_acked() -> bool:
        got = {a.body.ref_message_id for p in goods.values() for a in acks(p)}
        return set(good_ids) <= got

    wait_until(all_good_acked, timeout=20, what="every good report acked")
    expected_letters = len(hostile) + 2 + 1 + 1  # + status x2, stolen id, retained
    wait_until(
        lambda: len(cp.get("/api/v1/dead-letters", params={"limit": 1000})) >= expected_letters,
        timeout=20,
        what="a dead letter for every hostile message",
    )
    assert ready(cp)
    stored = cp.get("/api/v1/messages", params={"limit": 1000})
    assert set(good_ids) <= {m["message_id"] for m in stored}
    assert not any(m["nsp_id"] == "nsp-bad" for m in stored), "nothing hostile stored"
    letters = cp.get("/api/v1/dead-letters", params={"limit": 1000})
    reasons = " | ".join(d["reason"] for d in letters)
    for needle in (
        "nested too deeply",
        "integer",
        "control character",
        "less than or equal to 2147483647",
        "timestamp",
        "reused with different content",
        "retained publish on an up topic is ignored",
    ):
        assert needle in reasons, f"no dead letter says {needle!r}"
    events = cp.get("/api/v1/security-events")
    events = events if isinstance(events, list) else events.get("events", [])
    assert any(e["kind"] == "message_id_reused" for e in events)
    # The hostile sender's messages that named a message id are acked as not processed.
    bad_acks = acks(bad)
    assert bad_acks and all(
        a.body.state == HandlingState.RECEIVED_NOT_PROCESSED for a in bad_acks
    ), bad_acks

    # Restart: the broker's session and the retained message must not bring anything back.
    count = len(letters)
    cp.stop()
    cp.start("/readyz")
    send_good()
    wait_until(all_good_acked, timeout=20, what="acks after the restart")
    assert ready(cp)
    # The broker did hand the retained message over again (on the new subscribe): ignored.
    wait_until(
        lambda: cp.log.read_text().count("retained publish on an up topic is ignored") >= 2,
        timeout=10,
        what="the retained message seen again after the restart",
    )
    after = cp.get("/api/v1/dead-letters", params={"limit": 1000})
    assert len(after) == count, [d["reason"] for d in after[: len(after) - count]]
    stored = cp.get("/api/v1/messages", params={"limit": 1000})
    assert not any(m["nsp_id"] == "nsp-bad" for m in stored)
    for peer in (bad, *goods.values()):
        peer.close()
