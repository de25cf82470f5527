"""Must show 4: two ingest processes on PostgreSQL behind an MQTT 5 shared subscription store
every message once, ack every one, and group the reports into the same incidents as one
process given the same input (service/cluster/grouping_sync.py serialises grouping).

Every tenth message is published twice (a gateway's resend after a lost ack): the copies may
reach different processes at once, and must still be stored once and acked.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests.cluster.support import Db, Gateways, ha_cp, readyz, workload
from tests.conftest import test_db_kind as db_kind
from tests.support import Mosquitto, wait_until

pytestmark = pytest.mark.skipif(
    db_kind() != "postgres",
    reason="shared-subscription ingest needs PostgreSQL (SQLite has one writer process); "
    "run with NOODNET_TEST_DB=postgres",
)

CP = "cp-shared"
N = 800


def test_two_ingest_processes_lose_nothing_double_nothing_and_group_like_one(
    tmp_path: Path, make_database_url: Any
) -> None:
    shared_broker = Mosquitto(tmp_path / "broker-shared").start()
    single_broker = Mosquitto(tmp_path / "broker-single").start()
    shared_db, single_db = make_database_url("shared"), make_database_url("single")
    procs = []
    gateways: list[Gateways] = []
    try:
        a = ha_cp(tmp_path, shared_broker, shared_db, CP, "ingest-a", NOODNET_INGEST_SHARED="true")
        procs.append(a.start("/readyz"))
        b = ha_cp(tmp_path, shared_broker, shared_db, CP, "ingest-b", NOODNET_INGEST_SHARED="true")
        procs.append(b.start("/readyz"))
        one = ha_cp(tmp_path, single_broker, single_db, CP, "single")
        procs.append(one.start("/readyz"))
        assert {readyz(a)["role"], readyz(b)["role"]} == {"active", "standby"}
        assert readyz(b)["cluster"]["ingest"] == "shared subscription"

        messages = workload(N, nsps=10, places=40)
        sent = [m.message_id for m in messages]
        stream = []
        for i, m in enumerate(messages):
            stream.append(m)
            if i % 10 == 5:
                stream.append(m)  # the same message again, right behind it
        gw_shared = Gateways(shared_broker.port, CP, "gw-shared")
        gw_single = Gateways(single_broker.port, CP, "gw-single")
        gateways += [gw_shared, gw_single]
        started = time.monotonic()
        gw_shared.publish(stream)
        gw_single.publish(stream)
        for gw in gateways:
            wait_until(lambda gw=gw: gw.acked_ids() >= set(sent), 120, 0.2, "every message acked")
        elapsed = time.monotonic() - started

        shared, single = Db(shared_db), Db(single_db)
        try:
            stored = shared.message_ids()
            per_process = {
                p.args[0] + str(i): readyz(p)["cluster"]["stored_here"]
                for i, p in enumerate((a, b))
            }
            print(
                f"\nshared subscription, 2 ingest processes: sent={len(sent)} "
                f"(+{len(stream) - len(sent)} resent) stored={len(stored)} "
                f"distinct={len(set(stored))} acked={len(gw_shared.acked_ids())} "
                f"stored per process={sorted(per_process.values())} in {elapsed:.1f}s"
            )
            assert set(stored) == set(sent), "lost or unexpected messages"
            assert len(stored) == len(set(stored)) == N, "a message was stored twice"
            assert gw_shared.acked_ids() == set(sent), "lost acks"
            assert sum(per_process.values()) == N, "each message is new in one process only"
            assert min(per_process.values()) > 0, "the broker shared the load"
            # Every report placed exactly once, NSP bookkeeping without lost updates.
            # (Acked means stored; the grouping processes place right after.)
            wait_until(
                lambda: shared.scalar("SELECT count(*) FROM triage_report") >= N,
                60,
                0.2,
                "every report placed",
            )
            assert shared.scalar("SELECT count(*) FROM triage_report") == N
            assert shared.scalar("SELECT sum(message_count) FROM nsp") == N
            assert shared.scalar("SELECT sum(seq_conflicts) FROM nsp") == 0
            assert shared.scalar("SELECT count(*) FROM deadletter") == 0

            # With grouping in its own process (NOODNET_TRIAGE_GROUPING_PROCESS) the single
            # CP acks before it places: compare once it has placed everything.
            wait_until(
                lambda: single.scalar("SELECT count(*) FROM triage_report") == N,
                60,
                0.2,
                "every report placed by the single process",
            )
            grouped, reference = shared.incidents(), single.incidents()
            print(f"incidents: shared={len(grouped)} single process={len(reference)}")
            assert len(reference) == 40
            assert grouped == reference, "the two processes grouped differently from one"
        finally:
            shared.close()
            single.close()
    finally:
        for gw in gateways:
            gw.close()
        for p in procs:
            p.stop()
        shared_broker.stop()
        single_broker.stop()
