"""Ingest under load, over a real Mosquitto and a CP process: batched acks only for gateways
that announce them, and P1s overtaking a backlog the CP has already received.

Not timed: the assertions are about what is sent and in which order (bench/ingest.py and
bench/backlog.py measure rates and latencies)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from schemas import AckBatchMessage, AckMessage, make_up, parse_down, topics
from tests.support import Mosquitto, MqttPeer, Proc, cp_process, wait_until

CP = "cp-test"


def report(i: int) -> dict[str, object]:
    return {"category": "water", "severity": "low", "description": f"Waterdruk weg, melding {i}"}


def p1() -> dict[str, object]:
    return {
        "category": "medical",
        "urgency": "P1",
        "location": {"address": "Kerkstraat 12, Oss"},
        "people_involved": 1,
        "description": "Man met pijn op de borst, kortademig",
    }


@pytest.fixture
def cp(tmp_path: Path, broker: Mosquitto, database_url: str) -> Iterator[Proc]:
    # Small batches, so a backlog of a few hundred takes many of them.
    proc = cp_process(
        tmp_path, broker, database_url, cp_id=CP, NOODNET_INGEST_BATCH_SIZE="40"
    ).start("/readyz")
    try:
        yield proc
    finally:
        proc.stop()


def announce(peer: MqttPeer, nsp: str, capabilities: list[str] | None) -> None:
    presence: dict[str, object] = {"schema_version": 1, "nsp_id": nsp, "online": True}
    if capabilities is not None:
        presence["capabilities"] = capabilities
    peer.publish(topics.status(CP, nsp), json.dumps(presence))


def acked_ids(peer: MqttPeer) -> list[str]:
    """Message ids in the order their acks arrived (single and batched)."""
    out: list[str] = []
    for _, payload in peer.messages():
        msg = parse_down(payload)
        if isinstance(msg, AckMessage):
            out.append(msg.body.ref_message_id)
        elif isinstance(msg, AckBatchMessage):
            out.extend(a.ref_message_id for a in msg.body.acks)
    return out


def test_ack_batch_only_for_gateways_that_announce_it(cp: Proc, broker: Mosquitto) -> None:
    new = MqttPeer(broker.port, "gw-new", [topics.down(CP, "nsp-new", "+")])
    old = MqttPeer(broker.port, "gw-old", [topics.down(CP, "nsp-old", "+")])
    announce(new, "nsp-new", ["ack_batch"])
    announce(old, "nsp-old", None)  # the previous release sends no capabilities
    sent: dict[str, list[str]] = {"nsp-new": [], "nsp-old": []}
    for seq in range(1, 31):
        for nsp, peer in (("nsp-new", new), ("nsp-old", old)):
            m = make_up("situation_report", nsp, seq, report(seq))
            sent[nsp].append(m.message_id)
            peer.client.publish(topics.up(CP, nsp, "situation_report"), m.model_dump_json(), qos=1)
    wait_until(lambda: len(set(acked_ids(new))) == 30, 60, what="new gateway acked")
    wait_until(lambda: len(set(acked_ids(old))) == 30, 60, what="old gateway acked")
    assert set(acked_ids(new)) == set(sent["nsp-new"])
    assert set(acked_ids(old)) == set(sent["nsp-old"])
    new_msgs = [parse_down(p) for _, p in new.messages()]
    old_msgs = [parse_down(p) for _, p in old.messages()]
    assert all(isinstance(m, AckBatchMessage) for m in new_msgs)
    assert len(new_msgs) < 30, "batched: fewer ack messages than messages"
    assert all(m.body.acks for m in new_msgs if isinstance(m, AckBatchMessage))
    assert all(isinstance(m, AckMessage) for m in old_msgs) and len(old_msgs) == 30
    # A gateway that comes back as the previous release gets single acks again.
    announce(new, "nsp-new", None)
    m = make_up("situation_report", "nsp-new", 31, report(31))
    new.publish(topics.up(CP, "nsp-new", "situation_report"), m.model_dump_json())
    wait_until(lambda: m.message_id in acked_ids(new), 30, what="ack after downgrade")
    last = parse_down(new.messages()[-1][1])
    assert isinstance(last, AckMessage) and last.body.ref_message_id == m.message_id
    new.close()
    old.close()


def test_p1_overtakes_a_received_backlog(cp: Proc, broker: Mosquitto) -> None:
    """While the CP is frozen the broker hands it a backlog and then one P1 (all within its
    receive window); after it resumes, the P1 is stored and acked ahead of most of the
    backlog although it arrived last."""
    gw = MqttPeer(broker.port, "gw-backlog", [topics.down(CP, "nsp-bl", "+")])
    announce(gw, "nsp-bl", None)  # single acks: their arrival order is the CP's order
    wait_until(
        lambda: any(n["nsp_id"] == "nsp-bl" for n in cp.get("/api/v1/nsps")),
        30,
        what="presence seen",
    )
    backlog = [make_up("situation_report", "nsp-bl", s, report(s)) for s in range(1, 401)]
    urgent = make_up("help_request", "nsp-bl", 401, p1())
    cp.pause()
    try:
        infos = [
            gw.client.publish(
                topics.up(CP, "nsp-bl", "situation_report"), m.model_dump_json(), qos=1
            )
            for m in backlog
        ]
        infos.append(
            gw.client.publish(
                topics.up(CP, "nsp-bl", "help_request"), urgent.model_dump_json(), qos=1
            )
        )
        for info in infos:
            info.wait_for_publish(30)
    finally:
        cp.resume()
    wait_until(lambda: len(set(acked_ids(gw))) == 401, 120, what="backlog and P1 acked")
    order = acked_ids(gw)
    before = order.index(urgent.message_id)
    assert before < len(backlog) // 2, f"the P1 was acked after {before} of 400 backlog messages"
    # Nothing lost or doubled on the way.
    assert sorted(set(order)) == sorted({m.message_id for m in backlog} | {urgent.message_id})
    nsp = cp.get("/api/v1/nsps/nsp-bl")
    assert nsp["message_count"] == 401 and nsp["gaps"] == [] and nsp["max_seq"] == 401
    gw.close()


def test_ingest_queue_takes_p1s_first_in_a_small_batch() -> None:
    from datetime import UTC, datetime

    from service.ingest import Incoming
    from service.limits.ratelimit import URGENT_BATCH, AdmissionQueue, looks_urgent

    def item(seq: int, body: dict[str, object], kind: str) -> Incoming:
        m = make_up(kind, "nsp-q", seq, body)
        return Incoming(
            m.model_dump_json().encode(),
            datetime.now(UTC),
            "mqtt",
            topic=topics.up(CP, "nsp-q", kind),
        )

    q = AdmissionQueue(rate=0, burst=0, park_max=0, overflow_batch=0)
    backlog = [item(s, report(s), "situation_report") for s in range(1, 501)]
    urgent = item(501, p1(), "help_request")
    assert looks_urgent(urgent) and not looks_urgent(backlog[0])
    not_p1 = item(502, {**p1(), "urgency": "P2"}, "help_request")
    assert not looks_urgent(not_p1)
    for it in backlog:
        q.put(it)
    q.put(urgent)
    first = q.take_batch(1000, 0.0)
    assert first[0] is urgent and len(first) == URGENT_BATCH
    assert first[1:] == backlog[: URGENT_BATCH - 1], "the rest keeps its order"
    rest = q.take_batch(1000, 0.0)
    assert rest == backlog[URGENT_BATCH - 1 :]
