"""Must show 3: the active CP is SIGKILLed under load and the standby takes over.

Real parts only: Mosquitto, PostgreSQL, two ``noodnet cp`` processes with the leader lock
(NOODNET_HA_LEADER_LOCK), a publisher playing ten gateways, and a region service as the
upstream receiver of the P1 items. The standby resumes the active's persistent MQTT session
(same client id), so what the broker queued or had in flight to the dead process reaches it.

Counted at the end: sent vs stored (CP database) vs acked (acks the gateways received) vs
forwarded (P1 items the region holds): 0 lost, 0 doubled. The takeover time (SIGKILL until
the standby's /readyz says active) is printed and must stay under 10 s: a correctness bound
of the design (lock poll 0.5 s here), not a performance figure.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cluster.support import Db, Gateways, ha_cp, readyz, wait_role, workload
from tests.conftest import test_db_kind as db_kind
from tests.support import Mosquitto, issue_cp_token, wait_until
from tests.upstream.support import service_process

pytestmark = pytest.mark.skipif(
    db_kind() != "postgres",
    reason="no standby on SQLite: one CP process per database file, the leader lock is a "
    "no-op there (service/cluster/leader.py); run with NOODNET_TEST_DB=postgres",
)

CP = "cp-ha"
N = 1500
P1_EVERY = 10


@pytest.mark.parametrize(
    "grouping_process", [False, True], ids=["grouping-at-ingest", "grouping-process"]
)
def test_active_cp_killed_under_load_standby_takes_over_nothing_lost_or_doubled(
    tmp_path: Path, broker: Mosquitto, make_database_url: Any, grouping_process: bool
) -> None:
    """With ``grouping_process`` the active's grouping process (its child) dies with it or
    ends at the EOF of its stdin; the standby starts its own and places what was queued."""
    region_db, cp_db = make_database_url("region"), make_database_url("cp")
    region = service_process(tmp_path, "region", "vr-ha", region_db).start()
    env = {
        "NOODNET_HA_LEADER_LOCK": "true",
        "NOODNET_UPSTREAM_URLS": region.url,
        "NOODNET_UPSTREAM_TOKEN": issue_cp_token(region_db, "cp"),
        "NOODNET_SUMMARY_INTERVAL_SECONDS": "0",
        "NOODNET_TRIAGE_GROUPING_PROCESS": "true" if grouping_process else "false",
    }
    active = ha_cp(tmp_path, broker, cp_db, CP, "site-a", **env)
    standby = ha_cp(tmp_path, broker, cp_db, CP, "site-b", **env)
    gw: Gateways | None = None
    db = Db(cp_db)
    try:
        active.start("/readyz")
        wait_role(active, "active")
        standby.start("/readyz")
        state = wait_role(standby, "standby")
        assert state["cluster"]["lock"] == "postgresql advisory"
        # A standby runs no worker but the one waiting for the lock (and no ingest).
        assert [w["name"] for w in state["workers"]] == ["leader-lock"]
        assert "broker" not in state["checks"]
        active_workers = {w["name"] for w in readyz(active)["workers"]}
        assert "leader-lock" in active_workers
        assert any(name.startswith("forwarder") for name in active_workers)
        assert ("grouping-process" in active_workers) == grouping_process
        # The standby serves reads, refuses changes until it takes over.
        assert standby.get("/api/v1/nsps") == []
        refused = httpx.post(standby.url + "/api/v1/upstream/summaries", headers=standby.headers)
        assert refused.status_code == 503 and refused.json()["role"] == "standby"

        messages = workload(N, nsps=10, places=60, p1_every=P1_EVERY)
        sent = {m.message_id for m in messages}
        p1 = {m.message_id for m in messages if m.body.urgency == "P1"}
        gw = Gateways(broker.port, CP, "gw-ha")
        load = threading.Thread(target=gw.publish, args=(messages, 250.0), daemon=True)
        load.start()

        wait_until(
            lambda: db.scalar("SELECT count(*) FROM message") >= N // 4, 60, 0.05, "load stored"
        )
        killed_at = time.monotonic()
        active.kill()  # SIGKILL while messages stream in
        wait_role(standby, "active", timeout=30)
        takeover = time.monotonic() - killed_at
        load.join(60)
        assert not load.is_alive()

        wait_until(lambda: gw.acked_ids() >= sent, 120, 0.2, "every message acked")
        wait_until(
            lambda: len(region.get("/api/v1/region/p1-items", params={"limit": 1000})) >= len(p1),
            120,
            0.3,
            "every P1 forwarded to the region",
        )
        received = region.get("/api/v1/region/p1-items", params={"limit": 1000})
        forwarded = [r["payload"]["body"]["message"]["message_id"] for r in received]
        resends = sum(r["receive_count"] - 1 for r in received)
        stored = db.message_ids()
        counts = {
            "sent": len(sent),
            "stored": len(stored),
            "acked": len(gw.acked_ids() & sent),
            "forwarded_p1": len(set(forwarded)),
            "p1_sent": len(p1),
            "lost": len(sent - set(stored)),
            "doubled": len(stored) - len(set(stored)),
            "doubled_at_region": len(forwarded) - len(set(forwarded)),
        }
        print(
            f"\ntakeover {takeover:.2f}s after SIGKILL; "
            + " ".join(f"{k}={v}" for k, v in counts.items())
            + f" (duplicate acks {gw.duplicate_acks}, region re-receipts {resends})"
        )
        assert counts["lost"] == 0 and set(stored) == sent
        assert counts["doubled"] == 0 and counts["doubled_at_region"] == 0
        assert counts["acked"] == N
        assert set(forwarded) == p1
        # Grouping after the ack: placed by the new active's grouping process (the rows the
        # dead one held are queued again when its transaction is rolled back).
        wait_until(
            lambda: db.scalar("SELECT count(*) FROM triage_grouping_pending") == 0,
            120,
            0.2,
            "the grouping queue empty",
        )
        assert db.scalar("SELECT count(*) FROM triage_report") == N, "every report placed once"
        assert (
            db.scalar(
                "SELECT count(*) FROM triage_report r JOIN message m "
                "ON m.message_id = r.message_id WHERE m.urgency = 'P1' AND r.joined_by = 'match'"
            )
            == 0
        ), "no P1 absorbed"
        assert db.scalar("SELECT sum(seq_conflicts) FROM nsp") == 0
        assert takeover < 10, f"standby took {takeover:.1f}s to take over"
        assert readyz(standby)["status"] == "ready"
        if grouping_process:
            assert readyz(standby)["cluster"]["grouping_queue"]["waiting"] == 0
    finally:
        if gw is not None:
            gw.close()
        db.close()
        for p in (standby, active, region):
            if p.proc is not None:
                p.stop()


def test_active_that_loses_its_lock_connection_stops_and_the_standby_takes_over(
    tmp_path: Path, broker: Mosquitto, make_database_url: Any
) -> None:
    """The active checks its lock connection: when the session is gone (here: terminated by
    the server, as after a network cut) it cannot know whether a standby is active already,
    so it exits at once (status 75, systemd restarts it as a standby)."""
    cp_db = make_database_url("cp")
    env = {"NOODNET_HA_LEADER_LOCK": "true"}
    active = ha_cp(tmp_path, broker, cp_db, CP, "site-a", **env)
    standby = ha_cp(tmp_path, broker, cp_db, CP, "site-b", **env)
    db = Db(cp_db)
    try:
        active.start("/readyz")
        wait_role(active, "active")
        standby.start("/readyz")
        wait_role(standby, "standby")
        assert active.proc is not None
        pid = active.proc.pid
        terminated = db.scalar(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() "
            "AND application_name = 'noodnet-cp leader lock' AND pid IN ("
            "  SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted)"
        )
        assert terminated == 1
        wait_until(lambda: active.proc.poll() is not None, 15, 0.05, f"process {pid} to exit")
        assert active.proc.returncode == 75
        assert "leader lock lost" in active.log.read_text()
        wait_role(standby, "active", timeout=15)
        active.proc = None
    finally:
        db.close()
        for p in (standby, active):
            if p.proc is not None:
                p.stop()
