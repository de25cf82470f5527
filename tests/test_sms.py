"""SMS (should): a short form sent as one SMS reaches the CP through gammu-smsd.

Debian's gammu-smsd runs with Gammu's dummy phone driver (the "phone" is a directory) and
its files service writing received SMS into the CP's ``sms_inbox_dir``; ``gammu savesms``
puts an SMS in the dummy phone's inbox as a GSM modem would. The CP (real app, its ingest
worker, SQLite and PostgreSQL) enters it like a radio relay: stored as P1 at once, channel
``sms`` with the sender's number; a garbled SMS becomes a dead letter with the Dutch reason
and nothing is stored; the original over HTTP later is the same report.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from gateway.outbox import Outbox
from noodcore.db import table_of
from noodnet.broker import stop_process
from schemas import shortform as sf
from service.models import DeadLetter, Message
from tests.support import wait_grouped, wait_until
from tests.web.support import running_cp, token

CP, NSP, SENDER = "cp-sms", "nsp-oss-west", "+31612345678"
GAMMU = shutil.which("gammu")
SMSD = shutil.which("gammu-smsd")


@pytest.fixture
def smsd(tmp_path: Path) -> Iterator[tuple[Path, Path]]:
    """gammu-smsd on the dummy driver; yields (gammurc, inbox directory)."""
    assert GAMMU and SMSD, "Debian's gammu and gammu-smsd are needed: apt-get install gammu-smsd"
    root = tmp_path / "gammu"
    dirs = {name: root / name for name in ("phone", "inbox", "outbox", "sent", "error")}
    for d in dirs.values():
        d.mkdir(parents=True)
    rc = root / "gammurc"
    rc.write_text(
        f"""[gammu]
device = {dirs["phone"]}
model = dummy
connection = none

[smsd]
service = files
inboxpath = {dirs["inbox"]}/
outboxpath = {dirs["outbox"]}/
sentsmspath = {dirs["sent"]}/
errorsmspath = {dirs["error"]}/
inboxformat = standard
logfile = {root / "smsd.log"}
debuglevel = 1
ReceiveFrequency = 1
StatusFrequency = 0
CheckSecurity = 0
CheckBattery = 0
CheckSignal = 0
HardResetFrequency = 0
ResetFrequency = 0
"""
    )
    proc = subprocess.Popen(
        [SMSD, "-c", str(rc)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
    )
    try:
        wait_until(
            lambda: (
                (root / "smsd.log").exists()
                and "Starting phone communication" in (root / "smsd.log").read_text()
            ),
            20,
            what="gammu-smsd up",
        )
        yield rc, dirs["inbox"]
    finally:
        stop_process(proc)


def _receive(rc: Path, text: str, sender: str = SENDER) -> None:
    """An SMS arrives at the (dummy) modem."""
    assert GAMMU is not None
    subprocess.run(
        [GAMMU, "-c", str(rc), "savesms", "TEXT", "-folder", "1", "-unread",
         "-sender", sender, "-text", text],
        check=True, capture_output=True, timeout=20,
    )  # fmt: skip


async def _until(cond: Callable[[], Any], timeout: float, what: str) -> Any:
    """``tests.support.wait_until`` for an async test, on a worker thread so the event loop
    the app under test runs on is not blocked."""
    return await asyncio.to_thread(wait_until, cond, timeout, 0.1, what)


def _dead(app: Any) -> list[Any]:
    with app.state.ctx.engine.connect() as conn:
        return list(conn.execute(sa.select(table_of(DeadLetter))).all())


def _messages(app: Any) -> list[Any]:
    with app.state.ctx.engine.connect() as conn:
        return list(conn.execute(sa.select(table_of(Message))).all())


async def test_short_form_by_sms(
    database_url: str, tmp_path: Path, smsd: tuple[Path, Path]
) -> None:
    rc, inbox = smsd
    async with running_cp(database_url, CP, sms_inbox_dir=inbox) as (app, client):
        admin = {"Authorization": f"Bearer {token(app, 'admin')}"}
        operator = {"Authorization": f"Bearer {token(app, 'operator')}"}
        r = await client.put(
            f"/api/v1/fallback/nsps/{NSP}", json={"short_code": "OW"}, headers=admin
        )
        assert r.status_code == 200
        entry = Outbox(tmp_path / "gw.db", NSP).enqueue(
            "help_request",
            {
                "category": "fire",
                "urgency": "P1",
                "location": {"address": "Molenstraat 3, Oss"},
                "description": "Rook uit het dak van de schuur, mensen nog binnen",
            },
        )
        short = sf.encode(sf.to_short("help_request", entry.body, "OW", entry.seq))

        # garbled on the way: refused with the reason, nothing stored
        _receive(rc, short[:12] + ("Q" if short[12] != "Q" else "R") + short[13:])
        dead = await _until(lambda: _dead(app), 30, what="the garbled SMS as a dead letter")
        assert dead[0].step == "sms" and SENDER in dead[0].reason
        assert "controlecode klopt niet" in dead[0].reason
        assert list((inbox / "refused").glob("IN*.txt"))
        assert _messages(app) == []

        _receive(rc, short)
        (stored,) = await _until(lambda: _messages(app), 30, what="the SMS stored")
        assert (stored.transport, stored.urgency, stored.nsp_id) == ("sms", "P1", NSP)
        # Stored is acked; the grouping process places it in the queue right after.
        await asyncio.to_thread(wait_grouped, app.state.ctx.engine)
        queue = (await client.get("/api/v1/queue", headers=operator)).json()
        assert [q["item"]["top_class"] for q in queue] == ["P1"]
        relays = (await client.get("/api/v1/fallback/relay", headers=operator)).json()
        assert relays[0]["history"][0]["by"] == f"sms {SENDER}"

        # the original arrives over HTTP: still one report
        gateway = {
            "Authorization": f"Bearer {token(app, 'gateway', NSP)}",
            "Content-Type": "application/json",
        }
        r = await client.post("/api/v1/messages", content=entry.envelope, headers=gateway)
        assert r.status_code in (200, 201) and r.json()["ack"]["ref_message_id"] == entry.message_id
        assert len(_messages(app)) == 1
        relays = (await client.get("/api/v1/fallback/relay", headers=operator)).json()
        assert [e["channel"] for e in relays[0]["history"]] == ["sms", "http"]
