"""Must show 4: the restore drill, counted.

A CP with two gateways on a real Mosquitto takes reports; ``noodnet backup cp`` (the CLI, while
the CP runs: SQLite online backup API, or pg_dump on the PostgreSQL pass) saves the database;
more reports come in and are acknowledged; the database is lost (file deleted / database
dropped); ``noodnet restore cp`` puts the backup back; the CP starts, sees the holes in the
NSPs' sequences and asks the gateways to re-send them (service/ops/gapfill.py); the gateways'
resends fill in exactly what the backup missed: every accepted report stored once, nothing
lost, nothing doubled, no gap left.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import sqlalchemy as sa
from typer.testing import CliRunner

from noodnet.cli import app
from tests.conftest import PG_ADMIN_URL
from tests.support import Mosquitto, Proc, cp_process, gateway_process, wait_until
from tests.test_e2e_faults import Submitter, cp_message_ids

CP = "cp-test"
NSPS = ("nsp-a", "nsp-b")


def noodnet(*args: str) -> str:
    """The real ``noodnet`` command line, in this process (saves a Python start per call)."""
    r = CliRunner().invoke(app, list(args))
    assert r.exit_code == 0, r.output
    return r.output


def help_ids_in(database_url: str) -> set[str]:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT message_id FROM message WHERE kind='help_request'"))
            return {r[0] for r in rows}
    finally:
        engine.dispose()


def lose(database_url: str) -> None:
    url = sa.engine.make_url(database_url)
    if url.get_backend_name() == "sqlite":
        assert url.database
        for suffix in ("", "-wal", "-shm"):
            Path(url.database + suffix).unlink(missing_ok=True)
        return
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE "{url.database}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{url.database}"'))  # empty, as a new server
    finally:
        admin.dispose()


def test_backup_lose_restore_and_the_gateways_fill_in_exactly_what_was_missing(
    tmp_path: Path, broker: Mosquitto, database_url: str
) -> None:
    cp = cp_process(tmp_path, broker, database_url, cp_id=CP, NOODNET_GAP_REQUEST_SECONDS="0.5")
    gws: dict[str, Proc] = {
        nsp: gateway_process(tmp_path, broker, nsp, cp_id=CP, NOODNET_HEARTBEAT_SECONDS="2")
        for nsp in NSPS
    }
    sub = Submitter(gws)
    try:
        # Three independent processes: start them side by side (each waits on its own health).
        with ThreadPoolExecutor(3) as pool:
            cp_up = pool.submit(cp.start, "/readyz")
            for done in [pool.submit(g.start) for g in gws.values()]:
                done.result()
            cp_up.result()
        sub.submit_many(12)
        wait_until(lambda: set(cp_message_ids(cp)) >= set(sub.accepted), 60, what="12 stored")
        backup = tmp_path / "backups"
        backup.mkdir()
        out = noodnet("backup", "cp", "--database-url", database_url, "--to", str(backup))
        assert "backup written" in out, out
        (backup_file,) = list(backup.iterdir())
        in_backup = set(sub.accepted)

        sub.submit_many(8, start=12)  # acknowledged after the backup: the backup misses them
        wait_until(lambda: set(cp_message_ids(cp)) >= set(sub.accepted), 60, what="20 stored")
        missed = set(sub.accepted) - in_backup
        assert len(missed) == 8
        wait_until(
            lambda: all(
                r["state"] == "stored"
                for g in gws.values()
                for r in g.get("/api/v1/reports", params={"kind": "help_request", "limit": 1000})
            ),
            30,
            what="every report acknowledged at the gateways (no resend by themselves)",
        )

        cp.stop()
        lose(database_url)
        out = noodnet("restore", "cp", "--from", str(backup_file), "--database-url", database_url)
        assert "restored" in out, out
        restored = help_ids_in(database_url)
        assert restored == in_backup, "the backup holds exactly what was stored at its time"

        cp.start("/readyz")
        sub.submit_many(4, start=20)  # life goes on after the restore
        wait_until(
            lambda: set(cp_message_ids(cp)) >= set(sub.accepted),
            60,
            interval=0.3,
            what="the gateways' resends fill in what the backup missed",
        )
        ids = cp_message_ids(cp)
        assert len(ids) == len(set(ids)) == 24, "nothing doubled"
        assert set(ids) == set(sub.accepted), "nothing lost, nothing extra"
        nsps = {n["nsp_id"]: n for n in cp.get("/api/v1/nsps")}
        wait_until(
            lambda: all(not n["gaps"] for n in cp.get("/api/v1/nsps")),
            30,
            what="no gap left in any NSP's sequence",
        )
        requeued = sum(g.log.read_text().count("re-queued") for g in gws.values())
        assert requeued >= 1
        metrics = httpx.get(cp.url + "/metrics", headers=cp.headers, timeout=10).text
        assert 'noodnet_cp_messages_stored_total{kind="help_request"} 24.0' in metrics
        print(
            f"drill: {len(in_backup)} in backup, {len(missed)} missed by it, "
            f"{len(ids) - len(in_backup) - 4} filled in by resends, 4 new, "
            f"{len(ids)} stored once; resend requests answered: {requeued}; nsps {sorted(nsps)}"
        )
    finally:
        for g in gws.values():
            g.stop()
        cp.stop()
