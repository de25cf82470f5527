"""The staff screen's backup button: the outbox copied to the USB stick directory while the
gateway runs; without a configured directory or without the stick, the page says so in words
and writes nothing; only staff may, and only from the gateway's own pages."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from gateway.api import create_app
from gateway.settings import GatewaySettings
from noodcore.httpguard import TOKEN_COOKIE
from tests.support import free_port, issue_staff_token


async def test_backup_button(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "gw.db"
    app = create_app(
        GatewaySettings(
            nsp_id="nsp-a", cp_id="cp-x", db_path=db, mqtt_port=free_port(), heartbeat_seconds=3600
        )
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://gw") as c,
    ):
        staff = issue_staff_token(db)
        c.cookies.set(TOKEN_COOKIE, staff)
        for i in range(3):
            r = await c.post(
                "/api/v1/status",
                json={"state": "open", "power_source": "grid", "visitors_last_hour": i},
                headers={"Authorization": f"Bearer {staff}"},
            )
            assert r.status_code == 201
        home = await c.get("/staff")
        assert 'href="/staff/backup"' in home.text and "Reservekopie op USB-stick" in home.text

        monkeypatch.delenv("NOODNET_BACKUP_DIR", raising=False)
        r = await c.get("/staff/backup")
        assert r.status_code == 200 and "NOODNET_BACKUP_DIR" in r.text and "<form" not in r.text
        r = await c.post("/staff/backup")
        assert r.status_code == 409 and "NOODNET_BACKUP_DIR" in r.text

        usb = tmp_path / "usb"
        monkeypatch.setenv("NOODNET_BACKUP_DIR", str(usb))
        r = await c.post("/staff/backup")
        assert r.status_code == 409 and "Geen USB-stick gevonden" in r.text
        assert not usb.exists()

        usb.mkdir()
        r = await c.post("/staff/backup", headers={"Origin": "http://evil.example"})
        assert r.status_code == 403 and not list(usb.iterdir())
        r = await c.post("/staff/backup", headers={"Origin": "http://gw"})
        assert r.status_code == 200, r.text
        assert 'id="backup-done"' in r.text and "3 meldingen" in r.text
        (copy,) = list(usb.iterdir())
        conn = sqlite3.connect(copy)
        assert conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 3
        conn.close()
        r = await c.post("/staff/backup?lang=en")
        assert "reports) is on the stick" in r.text and len(list(usb.iterdir())) == 2

        viewer = issue_staff_token(db, "viewer")
        c.cookies.set(TOKEN_COOKIE, viewer)
        r = await c.post("/staff/backup")
        assert r.status_code == 403 and len(list(usb.iterdir())) == 2
