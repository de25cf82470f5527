"""On SQLite there is no standby: one CP process per database file. The leader lock and the
shared subscription are switched off there, and the process says so on /readyz."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.cluster.support import ha_cp, readyz
from tests.support import Mosquitto


def test_on_sqlite_the_lock_is_a_no_op_and_the_process_is_active(
    tmp_path: Path, broker: Mosquitto
) -> None:
    cp = ha_cp(
        tmp_path,
        broker,
        f"sqlite:///{tmp_path / 'cp.db'}",
        "cp-one",
        "only",
        NOODNET_HA_LEADER_LOCK="true",
        NOODNET_INGEST_SHARED="true",
    )
    try:
        cp.start("/readyz")
        state = readyz(cp)
        assert state["status"] == "ready" and state["role"] == "active"
        assert state["cluster"]["lock"].startswith("none")
        assert state["cluster"]["ingest"] == "single"
        assert "SQLite has one ingest process" in cp.log.read_text()
        # The active serves writes (a summary on demand is a change).
        r = httpx.post(cp.url + "/api/v1/upstream/summaries", headers=cp.headers, timeout=10)
        assert r.status_code == 201, r.text
    finally:
        cp.stop()
