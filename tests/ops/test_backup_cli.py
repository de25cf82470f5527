"""``noodnet backup`` / ``restore``: a gateway outbox backed up while it is written to (to a
"USB stick" directory) and restored with its rows and sequence intact; every wrong use gets one
line saying what to do and exit status 1, and never overwrites a file."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from typer.testing import CliRunner

from gateway.outbox import Outbox
from noodnet.cli import app

runner = CliRunner()


def _status(i: int) -> dict[str, object]:
    return {"state": "open", "power_source": "generator", "visitors_last_hour": i}


def test_gateway_backup_to_usb_while_writing_and_restore(tmp_path: Path) -> None:
    db = tmp_path / "gw.db"
    outbox = Outbox(db, "nsp-a")
    for i in range(20):
        outbox.enqueue("status", _status(i))
    usb = tmp_path / "usb"
    usb.mkdir()
    stop = threading.Event()

    def writer() -> None:
        i = 100
        while not stop.is_set():
            outbox.enqueue("status", _status(i))
            i += 1

    t = threading.Thread(target=writer)
    t.start()
    try:
        r = runner.invoke(
            app, ["backup", "gateway", "--db-path", str(db), "--to", str(usb), "--nsp-id", "nsp-a"]
        )
    finally:
        stop.set()
        t.join()
    assert r.exit_code == 0, r.output
    (copy,) = list(usb.iterdir())
    assert copy.name.startswith("noodnet-gw-nsp-a-") and copy.suffix == ".db"
    conn = sqlite3.connect(copy)
    seqs = [s for (s,) in conn.execute("SELECT seq FROM outbox ORDER BY seq")]
    meta = dict(conn.execute("SELECT key, value FROM meta").fetchall())
    conn.close()
    # A consistent snapshot: gap-free sequence, and the counter matches the rows.
    assert seqs == list(range(1, len(seqs) + 1)) and len(seqs) >= 20
    assert meta["seq"] == len(seqs)
    assert f"outbox rows: {len(seqs)}" in r.output
    outbox.close()

    target = tmp_path / "restored" / "gw.db"
    r = runner.invoke(app, ["restore", "gateway", "--from", str(copy), "--db-path", str(target)])
    assert r.exit_code == 0, r.output
    again = Outbox(target, "nsp-a")
    try:
        assert again.enqueue("status", _status(0)).seq == len(seqs) + 1  # numbering continues
    finally:
        again.close()


def test_wrong_uses_are_named(tmp_path: Path) -> None:
    db = tmp_path / "cp.db"
    url = f"sqlite:///{db}"
    cases = [
        (["backup", "cp", "--database-url", url, "--to", str(tmp_path)], "no database file"),
        (
            ["backup", "gateway", "--db-path", str(db), "--to", str(tmp_path / "nope" / "x.db")],
            "no database file",
        ),
        (
            ["restore", "cp", "--from", str(tmp_path / "missing.db"), "--database-url", url],
            "no backup file",
        ),
        (["backup", "cp", "--database-url", "sqlite://", "--to", str(tmp_path)], "in-memory"),
    ]
    for args, words in cases:
        r = runner.invoke(app, args)
        assert r.exit_code == 1 and words in r.output, (args, r.output)

    Outbox(db, "nsp-a").close()  # some SQLite file to back up
    (tmp_path / "usb").mkdir()
    first = runner.invoke(
        app, ["backup", "gateway", "--db-path", str(db), "--to", str(tmp_path / "usb" / "a.db")]
    )
    assert first.exit_code == 0, first.output
    again = runner.invoke(
        app, ["backup", "gateway", "--db-path", str(db), "--to", str(tmp_path / "usb" / "a.db")]
    )
    assert again.exit_code == 1 and "never overwritten" in again.output
    r = runner.invoke(
        app, ["backup", "gateway", "--db-path", str(db), "--to", str(tmp_path / "gone" / "b.db")]
    )
    assert r.exit_code == 1 and "USB stick mounted" in r.output
    r = runner.invoke(
        app, ["restore", "gateway", "--from", str(tmp_path / "usb" / "a.db"), "--db-path", str(db)]
    )
    assert r.exit_code == 1 and "--force" in r.output
    r = runner.invoke(
        app,
        [
            "restore",
            "gateway",
            "--from",
            str(tmp_path / "usb" / "a.db"),
            "--db-path",
            str(db),
            "--force",
        ],
    )
    assert r.exit_code == 0, r.output
    assert any(p.name.startswith("cp.db.before-restore-") for p in tmp_path.iterdir())
    not_a_db = tmp_path / "usb" / "junk.db"
    not_a_db.write_bytes(b"this is not sqlite" * 100)
    r = runner.invoke(
        app, ["restore", "gateway", "--from", str(not_a_db), "--db-path", str(tmp_path / "n.db")]
    )
    assert r.exit_code == 1 and "not a usable SQLite database" in r.output
