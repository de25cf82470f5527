"""The timer heartbeat repeats the staff's last status and never invents one."""

from __future__ import annotations

from pathlib import Path

from gateway.heartbeat import Heartbeat
from gateway.outbox import Outbox


def test_heartbeat_repeats_last_status_and_coalesces(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "gw.db", "nsp-test")
    beat = Heartbeat(outbox, interval_seconds=3600)
    try:
        assert beat.beat() is None  # nothing entered yet: nothing sent
        assert outbox.pending() == []

        outbox.enqueue("status", {"state": "open", "power_source": "battery", "note": "x"})
        first = beat.beat()
        assert first is not None and first.heartbeat and not first.coalesced
        assert first.body["power_source"] == "battery" and first.body["heartbeat"] is True
        assert first.body["note"] == "x"

        second = beat.beat()
        assert second is not None and second.coalesced
        assert second.message_id == first.message_id
        assert [e.seq for e in outbox.pending()] == [1, 2]
    finally:
        outbox.close()


def test_heartbeat_thread_stops_promptly(tmp_path: Path) -> None:
    outbox = Outbox(tmp_path / "gw.db", "nsp-test")
    beat = Heartbeat(outbox, interval_seconds=3600)
    beat.start()
    beat.stop(timeout=5)
    assert beat._thread is not None and not beat._thread.is_alive()
    outbox.close()
