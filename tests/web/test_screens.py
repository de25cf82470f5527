"""Sign-in fit for volunteers (issue 12): a staff screen is paired once with a one-time code,
then signed in per shift with a short PIN; wrong PINs lock the screen, revoking it signs it
out. Real gateway app and SQLite over HTTP (in-process), the CLI as the administrator."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from gateway import screens
from gateway.api import create_app
from gateway.runtime import GatewayRuntime
from gateway.settings import GatewaySettings
from noodcore.httpguard import TOKEN_COOKIE
from noodnet.cli import app as cli
from tests.support import free_port

BASE = "http://testserver"


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    settings = GatewaySettings(
        nsp_id="nsp-pin",
        cp_id="cp-test",
        db_path=tmp_path / "gw.db",
        mqtt_port=free_port(),  # nobody listens: the link stays down
        heartbeat_seconds=3600,
        display_name="Bibliotheek Oss",
    )
    with TestClient(create_app(settings), base_url=BASE, follow_redirects=False) as c:
        yield c


def _engine(client: TestClient):  # type: ignore[no-untyped-def]
    rt: GatewayRuntime = client.app.state.runtime  # type: ignore[attr-defined]
    return rt.outbox.engine


def _pair(client: TestClient, code: str) -> None:
    r = client.post("/staff/pair", data={"code": code})
    assert r.status_code == 303 and r.headers["location"] == "/staff/login", r.text
    assert screens.SCREEN_COOKIE in client.cookies


def _pin(client: TestClient, pin: str) -> str:
    r = client.post("/staff/login", data={"pin": pin, "next": "/staff"})
    return r.text if r.status_code == 200 else f"redirect {r.headers.get('location')}"


def test_pair_once_then_pin_per_shift(client: TestClient, tmp_path: Path) -> None:
    # The administrator, on the Pi: a pairing code (and a QR of the pairing URL).
    out = CliRunner().invoke(
        cli,
        [
            "staff-screen", "pair", "--name", "Balie 1", "--pin", "4821",
            "--db-path", str(tmp_path / "gw.db"), "--url", "http://10.0.0.2:8081",
        ],
    )  # fmt: skip
    assert out.exit_code == 0, out.output
    code = re.search(r"\b([A-Z2-9]{4}-[A-Z2-9]{4})\b", out.output)
    assert code, out.output
    assert "/staff/pair?code=" in out.output

    # An unpaired browser cannot use a PIN at all, and sees the long-token form.
    page = client.get("/staff/login")
    assert 'name="token"' in page.text and 'name="pin"' not in page.text
    assert "niet (meer) gekoppeld" in _pin(client, "4821")

    # The QR link fills the code in; typed in lower case with a space it works as well.
    assert (
        code.group(1).replace("-", "")
        in client.get("/staff/pair?code=" + code.group(1).replace("-", "")).text
    )
    _pair(client, code.group(1).lower().replace("-", " "))
    # Spent: a second browser cannot pair with the same code.
    other = TestClient(client.app, base_url=BASE, follow_redirects=False)
    assert "onbekend of al gebruikt" in other.post("/staff/pair", data={"code": code.group(1)}).text

    # The paired screen asks for the PIN only.
    page = client.get("/staff/login")
    assert 'name="pin"' in page.text and "Balie 1" in page.text
    assert _pin(client, "4821") == "redirect /staff"
    assert client.get("/staff").status_code == 200

    # The session is an ordinary nsp-staff token until the end of the shift.
    session_cookie = client.cookies[TOKEN_COOKIE]
    assert session_cookie.startswith("nn_")


def test_wrong_pins_lock_the_screen_and_revoking_signs_it_out(
    client: TestClient, tmp_path: Path
) -> None:
    engine = _engine(client)
    pairing = screens.create(engine, "Balie 2", "2468", timedelta(hours=8))
    _pair(client, screens.format_code(pairing.code))

    for left in (4, 3, 2, 1):
        assert f"nog {left} pogingen" in _pin(client, "0000")
    locked = _pin(client, "0000")
    assert "dit scherm is op slot tot" in locked
    # Locked: even the right PIN is refused until the lock ends.
    assert "op slot" in _pin(client, "2468")
    with screens.Session(engine) as s:
        row = s.get(screens.StaffScreen, pairing.screen_id)
        assert row is not None and row.locked_until is not None
        row.locked_until = screens.utcnow() - timedelta(seconds=1)  # the lock has run out
        s.add(row)
        s.commit()
    assert _pin(client, "2468") == "redirect /staff"
    assert client.get("/staff").status_code == 200

    # English page, English reason (one language per page).
    assert (
        "the PIN is not right (4 tries left"
        in client.post("/staff/login?lang=en", data={"pin": "1111"}).text
    )

    # Lost tablet: the administrator revokes the screen; the open shift ends at once.
    out = CliRunner().invoke(
        cli,
        ["staff-screen", "revoke", str(pairing.screen_id), "--db-path", str(tmp_path / "gw.db")],
    )
    assert out.exit_code == 0, out.output
    assert client.get("/staff", params={"lang": "nl"}).status_code == 401
    assert "niet (meer) gekoppeld" in _pin(client, "2468")


def test_a_shift_pin_expires(client: TestClient) -> None:
    engine = _engine(client)
    pairing = screens.create(engine, "Balie 3", "1357", timedelta(hours=1))
    _pair(client, pairing.code)
    with screens.Session(engine) as s:
        row = s.get(screens.StaffScreen, pairing.screen_id)
        assert row is not None
        row.pin_expires_at = screens.utcnow() - timedelta(minutes=1)
        s.add(row)
        s.commit()
    assert "de pincode van deze dienst is verlopen op" in _pin(client, "1357")
    screens.set_pin(engine, pairing.screen_id, "9753", timedelta(hours=12))
    assert _pin(client, "9753") == "redirect /staff"


def test_pin_and_code_rules() -> None:
    with pytest.raises(ValueError, match="4 to 8 digits"):
        screens.check_pin_format("12a4")
    with pytest.raises(ValueError, match="4 to 8 digits"):
        screens.check_pin_format("123")
    assert screens.normalise_code(" k7mp-4xq2 ") == "K7MP4XQ2"


def test_the_coordinator_pairs_a_screen_in_the_browser(client: TestClient, tmp_path: Path) -> None:
    from tests.support import issue_staff_token

    coordinator = TestClient(client.app, base_url=BASE, follow_redirects=False)
    coordinator.cookies.set(TOKEN_COOKIE, issue_staff_token(tmp_path / "gw.db"))
    page = coordinator.post("/staff/screens", data={"name": "Balie 4", "pin": "8642", "hours": "8"})
    assert page.status_code == 200, page.text
    assert "<svg" in page.text and "/staff/pair?code=" in page.text  # the QR code and its URL
    code = re.search(r'class="pair-code">([A-Z2-9]{4}-[A-Z2-9]{4})<', page.text)
    assert code, page.text
    bad = coordinator.post("/staff/screens", data={"name": "Balie 5", "pin": "12"})
    assert bad.status_code == 422 and "een pincode heeft 4 tot 8 cijfers" in bad.text

    # The tablet pairs and signs in with the PIN; a PIN session cannot manage screens.
    _pair(client, code.group(1))
    assert _pin(client, "8642") == "redirect /staff"
    refused = client.get("/staff/screens")
    assert refused.status_code == 403 and "Alleen de coördinator" in refused.text

    listed = coordinator.get("/staff/screens")
    assert "Balie 4" in listed.text and "gekoppeld om" in listed.text
    [screen] = [s for s in screens.list_screens(_engine(client)) if s.name == "Balie 4"]
    assert coordinator.post(f"/staff/screens/{screen.id}/revoke").status_code == 303
    assert client.get("/staff").status_code == 401
