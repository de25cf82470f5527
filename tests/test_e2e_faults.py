"""End to end through real processes and a real Mosquitto, with faults injected.

Each fault test counts every report accepted by a gateway against what the CP stored:
nothing lost, nothing doubled.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support import (
    Mosquitto,
    Proc,
    Submitter,
    assert_exactly_once,
    cp_message_ids,
    running_system,
    wait_until,
)

CP = "cp-test"


@pytest.fixture
def system(
    tmp_path: Path, broker: Mosquitto, database_url: str
) -> Iterator[tuple[Proc, dict[str, Proc]]]:
    with running_system(tmp_path, broker, database_url, cp_id=CP) as (cp, gws):
        yield cp, gws


def test_report_reaches_cp_once_and_gateway_shows_cp_time(
    system: tuple[Proc, dict[str, Proc]],
) -> None:
    cp, gws = system
    sub = Submitter({"nsp-a": gws["nsp-a"]})
    mid = sub.submit("nsp-a", 1)
    row = wait_until(
        lambda: (r := gws["nsp-a"].get(f"/api/v1/reports/{mid}"))["state"] == "stored" and r,
        what="gateway shows stored",
    )
    stored = cp.get(f"/api/v1/messages/{mid}")
    assert row["cp_stored_at"] is not None
    assert _same_instant(row["cp_stored_at"], stored["received_at"])
    assert stored["nsp_id"] == "nsp-a" and stored["transport"] == "mqtt"
    assert_exactly_once(cp, sub)


def _same_instant(a: str, b: str) -> bool:
    from datetime import datetime

    return datetime.fromisoformat(a.replace("Z", "+00:00")) == datetime.fromisoformat(
        b.replace("Z", "+00:00")
    )


@pytest.mark.slow
def test_cp_killed_mid_stream_loses_nothing(
    system: tuple[Proc, dict[str, Proc]],
) -> None:
    cp, gws = system
    sub = Submitter(gws)
    feeder = sub.in_background(300)
    wait_until(lambda: len(cp_message_ids(cp)) >= 50, 30, what="ingest under way")
    cp.kill()
    feeder.join(60)
    cp.start("/readyz")
    assert len(sub.accepted) == 300
    assert_exactly_once(cp, sub)


@pytest.mark.slow
def test_broker_killed_and_restarted_loses_nothing(
    system: tuple[Proc, dict[str, Proc]], broker: Mosquitto
) -> None:
    cp, gws = system
    sub = Submitter(gws)
    feeder = sub.in_background(300)
    wait_until(lambda: len(cp_message_ids(cp)) >= 50, 30, what="ingest under way")
    broker.kill()
    wait_until(
        lambda: not all(g.get("/api/v1/link")["connected"] for g in gws.values()),
        20,
        what="gateways notice",
    )
    broker.start()
    feeder.join(60)
    assert len(sub.accepted) == 300
    assert_exactly_once(cp, sub, timeout=90)


@pytest.mark.slow
def test_gateway_killed_with_unacked_outbox_loses_nothing(
    system: tuple[Proc, dict[str, Proc]],
) -> None:
    cp, gws = system
    cp.stop()  # no acks while the CP is down: the outbox keeps every row
    sub = Submitter(gws)
    sub.submit_many(60)
    pending = gws["nsp-a"].get("/api/v1/link")["pending_count"]
    assert pending >= 30
    gws["nsp-a"].kill()
    cp.start("/readyz")
    gws["nsp-a"].start()
    sub.submit_many(20, start=60)
    assert_exactly_once(cp, sub)


@pytest.mark.slow
def test_link_cut_while_reports_keep_coming(
    system: tuple[Proc, dict[str, Proc]], broker: Mosquitto
) -> None:
    cp, gws = system
    sub = Submitter(gws)
    sub.submit_many(20)
    broker.stop()
    wait_until(
        lambda: not any(g.get("/api/v1/link")["connected"] for g in gws.values()),
        20,
        what="gateways see the link down",
    )
    sub.submit_many(100, start=20)  # staff keep working while the link is down
    assert all(g.get("/api/v1/link")["pending_count"] > 0 for g in gws.values())
    broker.start()
    assert_exactly_once(cp, sub, timeout=90)
