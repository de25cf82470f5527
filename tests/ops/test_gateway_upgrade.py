"""Must show 2: a gateway database made by release 0.1.0 (tests/ops/fixtures/gateway-0.1.0.sql,
made by that release's own code) with unacknowledged reports is upgraded at start-up, and
every unacknowledged report arrives at the CP exactly once; the one the CP had already
acknowledged is not sent again.

Process-level with a real Mosquitto; the subject is the gateway's SQLite file, so the
PostgreSQL pass skips it (the CP side is the same code on both).
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from pathlib import Path

import pytest
import sqlalchemy as sa

from gateway import schema
from gateway.db import make_engine
from gateway.models import GatewayTable
from noodnet.schemadrift import describe, diff
from tests.support import Mosquitto, cp_process, gateway_process, wait_until

pytestmark = pytest.mark.skipif(
    os.environ.get("NOODNET_TEST_DB") == "postgres",
    reason="gateway SQLite upgrade: covered by the SQLite pass",
)

FIXTURE = Path(__file__).parent / "fixtures" / "gateway-0.1.0.sql"
NSP = "nsp-old"


def load_fixture(db_path: Path) -> dict[str, str]:
    """Write the 0.1.0 file; returns message_id -> state of its outbox rows."""
    conn = sqlite3.connect(db_path)
    try:
        conn.executescript(FIXTURE.read_text())
        return dict(conn.execute("SELECT message_id, state FROM outbox").fetchall())
    finally:
        conn.close()


def test_fixture_is_a_0_1_0_file_with_unacknowledged_rows(tmp_path: Path) -> None:
    rows = load_fixture(tmp_path / "gw.db")
    assert sorted(rows.values()).count("stored") == 1
    assert len([s for s in rows.values() if s != "stored"]) == 7
    engine = make_engine(tmp_path / "gw.db")
    try:
        assert schema.current(engine) is None  # 0.1.0 had no alembic_version
        schema.upgrade(engine)
        assert schema.current(engine) == schema.head()
        # The upgraded file is exactly what the code declares, and nothing was lost.
        assert describe(diff(engine, GatewayTable.metadata)) == []
        with engine.connect() as conn:
            after = dict(conn.execute(sa.text("SELECT message_id, state FROM outbox")).all())
        assert after == rows
        schema.upgrade(engine)  # a second start changes nothing
        assert schema.current(engine) == schema.head()
    finally:
        engine.dispose()


def test_new_file_migrates_to_the_models(tmp_path: Path) -> None:
    engine = make_engine(tmp_path / "new.db")
    try:
        schema.upgrade(engine)
        assert describe(diff(engine, GatewayTable.metadata)) == []
        schema.downgrade(engine, "base")  # back to what 0.1.0 reads: tables kept, unversioned
        assert schema.current(engine) is None
        assert sa.inspect(engine).has_table("outbox")
    finally:
        engine.dispose()


def test_upgraded_gateway_sends_every_unacknowledged_row_once(
    tmp_path: Path, broker: Mosquitto, database_url: str
) -> None:
    rows = load_fixture(tmp_path / f"gw-{NSP}.db")
    unacked = {m for m, s in rows.items() if s != "stored"}
    acked = {m for m, s in rows.items() if s == "stored"}
    cp = cp_process(tmp_path, broker, database_url).start("/readyz")
    gw = gateway_process(tmp_path, broker, NSP)
    try:
        gw.start()

        def at_cp() -> list[dict[str, object]]:
            return list(cp.get("/api/v1/messages", params={"nsp_id": NSP, "limit": 1000}))

        wait_until(
            lambda: {m["message_id"] for m in at_cp()} >= unacked,
            30,
            what="the 7 unacknowledged 0.1.0 rows at the CP",
        )
        stored = [m["message_id"] for m in at_cp()]
        assert len(stored) == len(set(stored)), "a row arrived twice"
        assert not acked & set(stored), "a row the CP had acknowledged was sent again"
        # Nothing else came from this NSP but, possibly, a fresh heartbeat status.
        extra = [m for m in at_cp() if m["message_id"] not in unacked]
        assert all(m["kind"] == "status" for m in extra), extra
        wait_until(
            lambda: all(
                r["state"] == "stored"
                for r in gw.get("/api/v1/reports", params={"limit": 1000})
                if r["message_id"] in unacked
            ),
            20,
            what="the gateway sees the CP's acks",
        )
        # The sequence continues where 0.1.0 stopped: no reuse of a number.
        r = gw.post("/api/v1/status", {"state": "open", "power_source": "grid"})
        assert r.status_code in (200, 201), r.text
        assert r.json()["seq"] > max(_seqs())
        log = gw.log.read_text()
        assert re.search(r"without a schema version \(release 0\.1\.0\)", log), log[-2000:]
    finally:
        gw.stop()
        cp.stop()


def _seqs() -> list[int]:
    return [
        json.loads(m.group(1))
        for m in re.finditer(
            r"INSERT INTO \"?outbox\"? VALUES\('[0-9A-Z]+',(\d+),", FIXTURE.read_text()
        )
    ]
