"""Must show 1: a real upstream (a region-role instance under uvicorn in its own process).

Upstream down while 100 changes happen at the CP, the CP SIGKILLed and restarted in between,
then the region comes up: every P1 item and the latest summary arrive exactly once (by
idempotency key), P1 items first, nothing is lost and nothing is dead-lettered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import Proc, wait_until
from tests.upstream.support import (
    help_request,
    resource_request,
    service_process,
    situation,
    status,
)

CP = "cp-fw"
NSPS = ["oss-centrum", "berghem", "lith", "heesch", "ravenstein"]


def changes(start: int, count: int, seqs: dict[str, int]) -> list[dict[str, Any]]:
    """``count`` reports from five NSPs: P1 help and resource requests, other requests,
    situation reports, and statuses whose power runs down (significant changes too)."""
    out = []
    for i in range(start, start + count):
        nsp = NSPS[i % len(NSPS)]
        seqs[nsp] = seqs.get(nsp, 0) + 1
        seq = seqs[nsp]
        match i % 10:
            case 0 | 3 | 6:
                out.append(help_request(nsp, seq, urgency="P1", description=f"P1 melding {i}"))
            case 1:
                out.append(resource_request(nsp, seq, urgency="P1", item=f"insuline {i}"))
            case 2 | 7:
                out.append(help_request(nsp, seq, urgency="P3", category="other"))
            case 4 | 8:
                out.append(situation(nsp, seq, "information_need", f"Vraag {i % 3}"))
            case _:
                out.append(status(nsp, seq, hours=max(0.5, 30 - i * 0.3)))
    return out


def post_all(cp: Proc, messages: list[dict[str, Any]]) -> None:
    with httpx.Client(base_url=cp.url, timeout=10, auth=cp.auth) as c:
        for m in messages:
            r = c.post("/api/v1/messages", json=m)
            assert r.status_code == 201, r.text


@pytest.mark.slow
def test_upstream_down_100_changes_and_a_restart_then_everything_arrives_once(
    tmp_path: Path, make_database_url: Any
) -> None:
    region_db = make_database_url("region")
    # The region binds port 0 and reports it; it is then stopped ("down") and later started
    # again on that same port (no free port picked here and handed to a child).
    region = service_process(tmp_path, "region", "vr-test", region_db)
    region.start()
    region.stop()
    cp = service_process(
        tmp_path,
        "cp",
        CP,
        make_database_url("cp"),
        upstream_database_url=region_db,
        NOODNET_UPSTREAM_URLS=region.url,
        NOODNET_SUMMARY_INTERVAL_SECONDS="0",  # only change-triggered summaries here
    )
    seqs: dict[str, int] = {}
    first, second = changes(0, 50, seqs), changes(50, 50, seqs)
    p1_ids = [m["message_id"] for m in first + second if m["body"].get("urgency") == "P1"]
    try:
        cp.start()
        post_all(cp, first)

        seen: list[Any] = []

        def retried() -> bool:
            rows = cp.get("/api/v1/upstream/outbox", params={"kind": "p1_item", "limit": 1000})
            seen[:] = rows
            return len(rows) == 20 and all(
                r["attempts"] >= 1 and "ConnectError" in (r["last_error"] or "") for r in rows[-1:]
            )

        try:
            wait_until(retried, 20, what="the forwarder to try the region and fail")
        except AssertionError as exc:  # say what the forwarder did instead
            head = {k: v for k, v in seen[-1].items() if k != "payload"} if seen else None
            raise AssertionError(
                f"{exc}; {len(seen)} P1 rows, head {head}; CP log: {cp.log.read_text()[-4000:]}"
            ) from exc
        cp.kill()  # SIGKILL in the middle of the outage
        cp.start()
        post_all(cp, second)
        # Every report is committed (each POST answered after its commit); a summary asked
        # for now is the latest one and counts them all.
        r = cp.post("/api/v1/upstream/summaries", json=None)
        assert r.status_code == 201
        latest = r.json()
        assert sum(latest["messages"]["by_kind"].values()) == 100
        assert latest["help_requests"]["by_urgency"]["P1"] == 30
        made = cp.get("/api/v1/upstream/summaries", params={"limit": 1000})
        assert any("new_p1" in s["triggers"] for s in made), "P1s made summaries by themselves"
        assert made[0]["summary_id"] == latest["summary_id"]
        status_before = cp.get("/api/v1/upstream/status")["targets"][0]["counts"]
        assert status_before["delivered"] == 0 and status_before["pending"] >= 41

        region.start()

        def drained() -> dict[str, int] | None:
            counts: dict[str, int] = cp.get("/api/v1/upstream/status")["targets"][0]["counts"]
            return counts if counts["pending"] == 0 else None

        counts = wait_until(drained, 60, interval=0.2, what="the backlog to drain")

        # Every P1 item exactly once, in the order they happened.
        received = region.get("/api/v1/region/p1-items", params={"limit": 1000})
        assert sorted(r["payload"]["body"]["message"]["message_id"] for r in received) == sorted(
            p1_ids
        )
        assert len({r["idempotency_key"] for r in received}) == len(p1_ids) == 40
        assert all(r["receive_count"] == 1 for r in received), "no item was sent twice"
        by_arrival = [r["payload"]["body"]["message"]["message_id"] for r in reversed(received)]
        assert by_arrival == p1_ids

        # The latest summary, once; older ones were superseded, not sent, not lost.
        summaries = region.get("/api/v1/region/summaries", params={"cp_id": CP})
        assert [s["payload"]["body"]["summary_id"] for s in summaries] == [latest["summary_id"]]
        assert summaries[0]["receive_count"] == 1
        (cp_row,) = region.get("/api/v1/region/cps")
        assert (cp_row["cp_id"], cp_row["seq"]) == (CP, latest["seq"])
        assert counts == {
            "pending": 0,
            "delivered": 41,
            "superseded": latest["seq"] - 1,
            "dead": 0,
        }

        # P1 items first: on the region's event log every p1 precedes the summary.
        events = region.get("/api/v1/events", params={"limit": 500})
        order = [e["type"] for e in events]
        assert order == ["p1"] * 40 + ["summary"]
        pic = region.get("/api/v1/picture")
        assert len(pic["p1_items"]) == 40
        assert {n["nsp_id"] for n in pic["cps"][0]["content"]["nsps"]} == set(NSPS)
    finally:
        cp.stop()
        region.stop()
