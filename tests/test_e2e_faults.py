"""End to end through real processes and a real Mosquitto, with faults injected.

Each fault test counts every report accepted by a gateway against what the CP stored:
nothing lost, nothing doubled.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import Mosquitto, Proc, cp_process, gateway_process, wait_until

CP = "cp-test"


def help_report(i: int, nsp: str) -> dict[str, Any]:
    return {
        "kind": "help_request",
        "body": {
            "category": "medical",
            "urgency": "P2",
            "location": {"address": f"Kerkstraat {i % 90 + 1}, Oss"},
            "people_involved": 1,
            "description": f"Melding {i} via {nsp}: bewoner onwel, geen telefoon",
        },
    }


class Submitter:
    """Posts reports to gateways (as staff would) and remembers every accepted message id."""

    def __init__(self, gateways: dict[str, Proc]) -> None:
        self.gateways = gateways
        self.accepted: dict[str, str] = {}  # message_id -> nsp_id
        self._lock = threading.Lock()

    def submit(self, nsp: str, i: int) -> str:
        r = httpx.post(
            self.gateways[nsp].url + "/api/v1/reports",
            json=help_report(i, nsp),
            timeout=10,
            headers=self.gateways[nsp].headers,
        )
        assert r.status_code == 201, r.text
        mid = r.json()["message_id"]
        with self._lock:
            self.accepted[mid] = nsp
        return str(mid)

    def submit_many(self, n: int, start: int = 0) -> None:
        names = sorted(self.gateways)
        for i in range(start, start + n):
            self.submit(names[i % len(names)], i)

    def in_background(self, n: int, start: int = 0) -> threading.Thread:
        t = threading.Thread(target=self.submit_many, args=(n, start), daemon=True)
        t.start()
        return t


def cp_message_ids(cp: Proc) -> list[str]:
    ids: list[str] = []
    offset = 0
    while True:
        page = cp.get(
            "/api/v1/messages", params={"kind": "help_request", "limit": 1000, "offset": offset}
        )
        ids += [m["message_id"] for m in page]
        if len(page) < 1000:
            return ids
        offset += 1000


def assert_exactly_once(cp: Proc, sub: Submitter, timeout: float = 60) -> None:
    expected = set(sub.accepted)

    def all_stored() -> bool:
        return set(cp_message_ids(cp)) >= expected

    wait_until(all_stored, timeout, interval=0.3, what=f"{len(expected)} reports stored at CP")
    ids = cp_message_ids(cp)
    assert len(ids) == len(set(ids)), "a message was stored twice"
    assert set(ids) == expected, f"unexpected extra messages: {set(ids) - expected}"

    def all_acked_at_gateways() -> bool:
        for nsp, gw in sub.gateways.items():
            rows = gw.get("/api/v1/reports", params={"kind": "help_request", "limit": 1000})
            mine = {m for m, n in sub.accepted.items() if n == nsp}
            if {r["message_id"] for r in rows if r["state"] == "stored"} < mine:
                return False
        return True

    wait_until(all_acked_at_gateways, timeout, interval=0.3, what="every gateway sees its acks")


@pytest.fixture
def system(
    tmp_path: Path, broker: Mosquitto, database_url: str
) -> Iterator[tuple[Proc, dict[str, Proc]]]:
    cp = cp_process(tmp_path, broker, database_url, cp_id=CP).start("/readyz")
    gws = {
        nsp: gateway_process(tmp_path, broker, nsp, cp_id=CP).start() for nsp in ("nsp-a", "nsp-b")
    }
    try:
        yield cp, gws
    finally:
        for p in [*gws.values(), cp]:
            p.stop()


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
