"""Gap filling, piece by piece: the CP asks per persisting gap with back-off; a gateway re-queues
exactly the acknowledged rows in the range and tells the publisher; a request that is invalid
or for another NSP is dead-lettered with the reason and changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from gateway.down import DownHandler, DownOutcome
from gateway.inbox import Inbox
from gateway.outbox import Outbox
from noodcore.db import table_of
from schemas import topics, utcnow
from schemas.envelope import ResendMessage, new_message_id
from schemas.resend import ResendRequest
from service.db import make_engine, migrate
from service.ingest import make_ack
from service.models import Nsp
from service.ops.gapfill import GapFiller, GapFillSettings
from service.store import StoreResult

CP = "cp-x"


def _resend(nsp: str, lo: int, hi: int) -> bytes:
    return (
        ResendMessage(
            message_id=new_message_id(),
            sent_at=utcnow(),
            cp_id=CP,
            nsp_id=nsp,
            body=ResendRequest(from_seq=lo, to_seq=hi),
        )
        .model_dump_json()
        .encode()
    )


def test_gateway_requeues_exactly_the_acknowledged_rows_in_range(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "gw.db", "nsp-a")
    inbox = Inbox(outbox)
    down_handler = DownHandler(CP, "nsp-a", outbox, inbox)
    rescans: list[int] = []
    down_handler.on_requeue = lambda: rescans.append(1)
    try:
        entries = [
            outbox.enqueue("status", {"state": "open", "power_source": "grid", "staff_present": i})
            for i in range(6)
        ]
        for e in entries[:5]:  # the CP stored 1-5; 6 is still waiting
            ack = make_ack(CP, StoreResult(e.message_id, "nsp-a", e.seq, "status", utcnow(), True))
            assert down_handler.handle(
                topics.down(CP, "nsp-a", "ack"), ack.model_dump_json().encode()
            )
        topic = topics.down(CP, "nsp-a", "resend")
        assert down_handler.handle(topic, _resend("nsp-a", 2, 4)) == DownOutcome.APPLIED
        states = {e.seq: outbox.get(e.message_id).state for e in entries}  # type: ignore[union-attr]
        assert states == {
            1: "stored",
            2: "queued",
            3: "queued",
            4: "queued",
            5: "stored",
            6: "queued",
        }
        assert rescans == [1]
        # Asked again before they arrived: nothing more to do; rows beyond the outbox: none.
        assert down_handler.handle(topic, _resend("nsp-a", 2, 4)) == DownOutcome.IGNORED
        assert down_handler.handle(topic, _resend("nsp-a", 50, 60)) == DownOutcome.IGNORED
        assert rescans == [1]
        # Same envelope, same id: the CP recognises it.
        assert outbox.get(entries[2].message_id).envelope == entries[2].envelope  # type: ignore[union-attr]

        bad = json.loads(_resend("nsp-a", 2, 4))
        bad["body"] = {"from_seq": 9, "to_seq": 3}
        assert down_handler.handle(topic, json.dumps(bad).encode()) == DownOutcome.REJECTED
        other = _resend("nsp-b", 1, 5)
        assert down_handler.handle(topic, other) == DownOutcome.REJECTED
        reasons = [d.reason for d in inbox.dead_letters(10)]
        assert any("to_seq must not be below from_seq" in r for r in reasons), reasons
        assert any("nsp-b" in r for r in reasons), reasons
        assert outbox.get(entries[0].message_id).state == "stored"  # type: ignore[union-attr]
    finally:
        outbox.close()


def test_cp_asks_per_persisting_gap_with_back_off(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'cp.db'}")
    migrate(engine)
    table = table_of(Nsp)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(table).values(
                nsp_id="nsp-a", cp_id=CP, registered=False, message_count=3, max_seq=10,
                gaps=[[2, 4], [7, 7]], last_status_seq=0, seq_conflicts=0,
            )
        )  # fmt: skip
    sent: list[tuple[str, dict[str, Any]]] = []
    filler = GapFiller(
        engine,
        CP,
        lambda topic, payload: sent.append((topic, json.loads(payload))),
        lambda: True,
        GapFillSettings(gap_request_seconds=10),
    )
    try:
        assert filler.tick(0) == 0  # a fresh gap may still fill by itself
        assert filler.tick(10) == 2
        assert {(m["body"]["from_seq"], m["body"]["to_seq"]) for _, m in sent} == {(2, 4), (7, 7)}
        assert all(t == topics.down(CP, "nsp-a", "resend") for t, _ in sent)
        assert all(m["kind"] == "resend" and m["nsp_id"] == "nsp-a" for _, m in sent)
        assert filler.tick(25) == 0  # backing off: next after 2 intervals
        assert filler.tick(30) == 2
        with engine.begin() as conn:
            conn.execute(sa.update(table).values(gaps=[[3, 4]]))  # 2 and 7 arrived
        assert filler.tick(31) == 0  # a new (narrower) gap gets its grace interval
        assert filler.tick(41) == 1
        assert sent[-1][1]["body"] == {"from_seq": 3, "to_seq": 4, "reason": "gap"}
        offline = GapFiller(engine, CP, lambda t, p: sent.append((t, {})), lambda: False)
        assert offline.tick(10**6) == 0  # no broker: nothing queued up to burst later
    finally:
        engine.dispose()
