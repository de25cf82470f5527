"""Faults around the CP's database and its surroundings, through real processes: PostgreSQL
restarted under load, the CP's disk full, the CP frozen (SIGSTOP), the broker's persistence
deleted, 20 gateways reconnecting with backlogs, a gateway clock an hour back.

Invariant under every one of them: each report a gateway accepted is stored at the CP exactly
once and acked back to its gateway once the fault is gone (``assert_exactly_once`` prints
sent / stored / acked / lost / doubled), and while the CP cannot commit it acks nothing: an ack
is the gateway's only reason to stop resending.

These tests check behaviour, not mechanism: they hold whether the ingest worker retries a whole
batch or isolates messages, as long as nothing is acked before it is committed.

Database passes, to keep each short: the PostgreSQL restart runs its own server
and the reconnect storm loads the database production runs, so both only in the PostgreSQL
pass; the disk-full test fills the filesystem under the CP's SQLite file, so only in the SQLite
pass. The SIGSTOP, broker and clock faults are about processes, broker and gateways, not the
storage engine: SQLite pass only (``test_e2e_faults.py`` covers both engines for kills).
"""

from __future__ import annotations

import errno
import os
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.runtime import GatewayRuntime
from gateway.settings import GatewaySettings
from tests.conftest import test_db_kind as db_kind
from tests.support import (
    Mosquitto,
    OutboxSubmitter,
    PrivatePostgres,
    Proc,
    Submitter,
    assert_exactly_once,
    cp_message_ids,
    cp_process,
    find_postgres_bin,
    running_system,
    wait_until,
)

CP = "cp-test"
PG_BIN = find_postgres_bin()
# How long the CP stays frozen; the gateways resend (after 3 s) into the frozen CP's queue.
STOP_SECONDS = 12
# Backlog per gateway in the reconnect test; the drill used 500 (about 4x the time).
BACKLOG = int(os.environ.get("NOODNET_TEST_RECONNECT_BACKLOG", "100"))

sqlite_pass_only = pytest.mark.skipif(
    db_kind() == "postgres",
    reason="about processes, broker and gateways, not the storage engine: SQLite pass only",
)


def readiness(cp: Proc) -> dict[str, Any]:
    """The CP's /readyz checks, also when it answers 503."""
    checks: dict[str, Any] = httpx.get(cp.url + "/readyz", timeout=5).json()["checks"]
    return checks


def cp_reports(cp: Proc, text: str) -> bool:
    """The CP says ``text`` in its log or in a /readyz check (however often it logs)."""
    if text in cp.log.read_text(errors="replace"):
        return True
    return any(text in str(v) for v in readiness(cp).values())


def published(sub: Submitter, ids: set[str], times: int) -> bool:
    """Every report in ``ids`` handed to the broker at least ``times`` times by its gateway
    (``times=2``: the gateway resent it, having no ack)."""
    counts: dict[str, int] = {}
    for gw in sub.gateways.values():
        page = gw.get("/api/v1/reports", params={"kind": "help_request", "limit": 1000})
        counts.update({r["message_id"]: r["publish_count"] for r in page})
    return all(counts.get(m, 0) >= times for m in ids)


def new_ids(sub: Submitter, before: set[str]) -> set[str]:
    return set(sub.accepted) - before


@pytest.mark.slow
@pytest.mark.skipif(
    db_kind() != "postgres",
    reason="starts and stops its own PostgreSQL server: PostgreSQL pass only",
)
@pytest.mark.skipif(
    PG_BIN is None,
    reason="PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin",
)
@pytest.mark.parametrize(
    "grouping",
    [
        "at ingest",
        # In a process of its own, /readyz read the grouping queue from the database and
        # answered 500 while it was gone: nobody could see that the database was the problem.
        "process",
    ],
)
def test_postgresql_restarted_under_load_loses_nothing(
    tmp_path: Path, broker: Mosquitto, grouping: str
) -> None:
    assert PG_BIN is not None
    cp_env = {"NOODNET_TRIAGE_GROUPING_PROCESS": str(grouping == "process").lower()}
    pg = PrivatePostgres(PG_BIN)
    try:
        pg.init().start()
        url = pg.create_database("noodnet")
        with running_system(tmp_path, broker, url, cp_id=CP, cp_env=cp_env) as (cp, gws):
            sub = Submitter(gws)
            feeder = sub.in_background(100)
            wait_until(lambda: len(cp_message_ids(cp)) >= 30, 60, what="ingest under way")
            pg.stop()  # fast shutdown, under load: every connection of the CP is cut
            wait_until(
                lambda: readiness(cp)["database"] != "ok", 20, what="CP sees the database gone"
            )
            before = set(sub.accepted)
            sub.submit_many(40, start=100)  # staff keep working while the database is down
            during = new_ids(sub, before)
            # Down long enough that every gateway resends into it: no ack came for any.
            wait_until(
                lambda: published(sub, during, 2),
                30,
                what="gateways resend while the database is down (an ack would stop them)",
            )
            assert not sub.acked_ids() & during, "acked while the database was down"
            pg.start()
            feeder.join(60)
            assert sub.count() == 140
            counts = assert_exactly_once(cp, sub, 90, label="PostgreSQL restarted under load")
            assert counts.sent == 140
            wait_until(lambda: readiness(cp) == {"database": "ok", "broker": "ok"}, 30)
    finally:
        pg.remove()


@contextmanager
def small_tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A real filesystem of ``size`` at ``path``; skips when this machine does not allow
    mounting (needs root or CAP_SYS_ADMIN)."""
    path.mkdir(parents=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs for a full disk here: {done.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill(directory: Path) -> Path:
    """Write a file until the filesystem refuses more: the disk is full."""
    filler = directory / "filler"
    chunk = b"\0" * (1 << 20)
    with filler.open("wb", buffering=0) as fh:
        for size in (len(chunk), 4096, 1):
            try:
                while True:
                    fh.write(chunk[:size])
            except OSError as exc:
                assert exc.errno == errno.ENOSPC, exc
    return filler


@pytest.mark.slow
@pytest.mark.skipif(
    db_kind() == "postgres",
    reason="fills the filesystem under the CP's own SQLite file: SQLite pass only",
)
def test_cp_disk_full_acks_nothing_and_catches_up(tmp_path: Path, broker: Mosquitto) -> None:
    with small_tmpfs(tmp_path / "cp-disk", "64m") as disk:
        url = f"sqlite:///{disk / 'cp.db'}"
        with running_system(tmp_path, broker, url, cp_id=CP) as (cp, gws):
            sub = Submitter(gws)
            sub.submit_many(30)
            wait_until(lambda: len(cp_message_ids(cp)) >= 30, 60, what="first reports stored")
            filler = fill(disk)
            stored_before = len(cp_message_ids(cp))
            before = set(sub.accepted)
            sub.submit_many(40, start=30)  # staff keep working while the CP's disk is full
            during = new_ids(sub, before)
            wait_until(
                lambda: cp_reports(cp, "database or disk is full"),
                30,
                what="the CP hits the full disk (SQLITE_FULL)",
            )
            # Full long enough that every gateway resends into it: still nothing stored or acked.
            wait_until(
                lambda: published(sub, during, 2),
                30,
                what="gateways resend while the disk is full (an ack would stop them)",
            )
            assert not sub.acked_ids() & during, "acked while the disk was full"
            assert len(cp_message_ids(cp)) == stored_before, "stored while the disk was full"
            filler.unlink()  # space returns
            counts = assert_exactly_once(cp, sub, 90, label="CP disk full, then freed")
            assert counts.sent == 70


@pytest.mark.slow
@sqlite_pass_only
def test_cp_frozen_by_sigstop_loses_nothing(
    tmp_path: Path, broker: Mosquitto, database_url: str
) -> None:
    with running_system(tmp_path, broker, database_url, cp_id=CP) as (cp, gws):
        sub = Submitter(gws)
        feeder = sub.in_background(60)
        wait_until(lambda: len(cp_message_ids(cp)) >= 30, 60, what="ingest under way")
        cp.pause()
        frozen_at = time.monotonic()
        try:
            before = set(sub.accepted)
            sub.submit_many(60, start=60)  # the gateways go on accepting and publishing
            during = new_ids(sub, before)
            wait_until(
                lambda: time.monotonic() - frozen_at >= STOP_SECONDS and published(sub, during, 2),
                STOP_SECONDS + 30,
                what=f"CP frozen {STOP_SECONDS} s and gateways resending (an ack would stop them)",
            )
            assert not sub.acked_ids() & during, "acked by a frozen CP"
        finally:
            cp.resume()
        feeder.join(60)
        counts = assert_exactly_once(cp, sub, 90, label=f"CP SIGSTOPped {STOP_SECONDS} s")
        assert counts.sent == 120


@pytest.mark.slow
@sqlite_pass_only
def test_broker_persistence_deleted_gateways_resend(
    tmp_path: Path, broker: Mosquitto, database_url: str
) -> None:
    with running_system(tmp_path, broker, database_url, cp_id=CP) as (cp, gws):
        sub = Submitter(gws)
        feeder = sub.in_background(100)
        wait_until(lambda: len(cp_message_ids(cp)) >= 30, 60, what="ingest under way")
        # The CP goes away first, so the broker holds reports queued for its session: the
        # only copies outside the gateways' outboxes, about to be deleted.
        cp.stop()
        sub.submit_many(30, start=100)
        broker.stop()
        persistence = broker.workdir / "mosquitto.db"
        assert persistence.stat().st_size > 0
        persistence.unlink()
        pending = sum(g.get("/api/v1/link")["pending_count"] for g in gws.values())
        assert pending > 0, "the test must leave reports the broker had taken and now forgot"
        broker.start()
        cp.start("/readyz")
        feeder.join(60)
        counts = assert_exactly_once(cp, sub, 90, label="broker persistence deleted")
        assert counts.sent == 130
        print(f"broker persistence deleted: {pending} reports unacked at the deletion")


@pytest.mark.slow
@pytest.mark.skipif(
    db_kind() != "postgres",
    reason="a reconnect storm on the database production runs: PostgreSQL pass only",
)
def test_twenty_gateways_reconnect_with_backlogs(
    tmp_path: Path, broker: Mosquitto, database_url: str
) -> None:
    cp = cp_process(tmp_path, broker, database_url, cp_id=CP).start("/readyz")
    runtimes: dict[str, GatewayRuntime] = {}
    try:
        # In-process gateways (real outbox, paho, MQTT 5), as bench/bulletins.py runs them:
        # 20 gateway processes would cost more start-up than the test itself.
        for i in range(20):
            settings = GatewaySettings(
                nsp_id=f"nsp-{i:02d}",
                cp_id=CP,
                db_path=tmp_path / f"gw-{i:02d}.db",
                mqtt_port=broker.port,
                heartbeat_seconds=3600,
                resend_after_seconds=3,
                reconnect_max_seconds=2,
            )
            runtimes[settings.nsp_id] = rt = GatewayRuntime.open(settings)
            rt.start()
        wait_until(lambda: all(r.publisher.connected for r in runtimes.values()), 30)
        sub = OutboxSubmitter(runtimes)
        for nsp in runtimes:
            sub.submit_batch(nsp, 5)
        broker.stop()
        wait_until(lambda: not any(r.publisher.connected for r in runtimes.values()), 30)
        for nsp in runtimes:
            sub.submit_batch(nsp, BACKLOG, start=5)  # the link is down; staff keep working
        started = time.monotonic()
        broker.start()  # all 20 reconnect at once, each with its backlog
        counts = assert_exactly_once(
            cp, sub, 60 + BACKLOG / 5, label=f"20 gateways x {BACKLOG} reconnecting"
        )
        print(f"20 gateways x {BACKLOG}: all stored and acked {time.monotonic() - started:.1f} s")
        assert counts.sent == 20 * (BACKLOG + 5)
        nsps = {n["nsp_id"]: n for n in cp.get("/api/v1/nsps")}
        assert all(nsps[n]["gaps"] == [] and nsps[n]["seq_conflicts"] == 0 for n in runtimes)
    finally:
        for rt in runtimes.values():
            rt.stop()
        cp.stop()


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.mark.slow
@sqlite_pass_only
def test_gateway_clock_an_hour_back_keeps_order_and_shows_skew(
    tmp_path: Path, broker: Mosquitto, database_url: str
) -> None:
    with running_system(tmp_path, broker, database_url, ("nsp-a",), cp_id=CP) as (cp, gws):
        gw = gws["nsp-a"]
        sub = Submitter(gws)
        sub.submit_many(20)
        assert_exactly_once(cp, sub, label="gateway clock right")
        right = set(sub.accepted)
        # The gateway restarts with its clock an hour behind (a Pi that lost network time).
        gw.stop()
        gw.env["NOODNET_CLOCK_OFFSET_SECONDS"] = "-3600"
        gw.start()
        sub.submit_many(20, start=20)
        counts = assert_exactly_once(cp, sub, label="gateway clock an hour back")
        assert counts.sent == 40
        stored = {
            m["message_id"]: m
            for m in cp.get(
                "/api/v1/messages",
                params={"nsp_id": "nsp-a", "kind": "help_request", "limit": 1000},
            )
        }
        in_order = [stored[m] for m in sub.accepted]  # the order staff submitted them
        seqs = [m["seq"] for m in in_order]
        assert seqs == sorted(seqs) and len(set(seqs)) == 40, "seq follows submission order"
        early, late = in_order[:20], in_order[20:]
        assert all(m["message_id"] in right for m in early)
        assert all(abs(m["skew_seconds"]) < 60 for m in early)
        assert all(3600 - 60 < m["skew_seconds"] < 3600 + 60 for m in late)
        # The envelopes' clock went back while seq and the CP's receive time went forward.
        assert _at(late[0]["sent_at"]) < _at(early[-1]["sent_at"])
        assert _at(late[0]["received_at"]) > _at(early[-1]["received_at"])
        nsp = cp.get("/api/v1/nsps/nsp-a")
        assert nsp["gaps"] == [] and nsp["seq_conflicts"] == 0
        assert 3600 - 60 < nsp["skew_seconds"] < 3600 + 60, nsp["skew_seconds"]
        print(f"gateway clock an hour back: CP records skew {nsp['skew_seconds']:.1f} s")


def test_migrations_accept_a_percent_in_the_database_url(tmp_path: Path) -> None:
    """URL quoting puts '%' in real URLs (a Unix-socket host, a password with '%'); alembic's
    configparser once refused them, so a CP on such a database could not start."""
    from service.db import make_engine, migrate

    engine = make_engine(f"sqlite:///{tmp_path / '100%' / 'cp.db'}")
    try:
        migrate(engine)
        with engine.connect() as conn:
            assert conn.exec_driver_sql("SELECT count(*) FROM message").scalar() == 0
    finally:
        engine.dispose()
