"""The gateway's "Doorgeven via portofoon" card (in-process, no broker: the link is down).

A P1 help request gets the card once the (shortened) threshold passed, with the read-out,
the check code and the short form that ``schemas.shortform`` decodes back; a P3 does not
(only P1 by default), a P2 only when configured. The A6 slip holds an inline SVG QR code and
nothing from another host; marking "doorgegeven via portofoon, bevestigd om 14:05" keeps the
row in the outbox, shows on the sent list and the board, and bad input gets its reason.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import unescape
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.api import create_app
from gateway.runtime import GatewayRuntime
from gateway.settings import GatewaySettings
from noodcore.httpguard import TOKEN_COOKIE
from schemas import shortform as sf
from tests.support import free_port, issue_staff_token, wait_until

CP, NSP = "cp-test", "nsp-radio"


def _client(tmp_path: Path, **settings: object) -> TestClient:
    s = GatewaySettings(
        nsp_id=NSP,
        cp_id=CP,
        db_path=tmp_path / "gw.db",
        mqtt_port=free_port(),  # nobody listens: the link stays down
        heartbeat_seconds=3600,
        short_code="OSC",
        relay_after_seconds=0.5,
        **settings,  # type: ignore[arg-type]
    )
    return TestClient(create_app(s), base_url="http://testserver", follow_redirects=False)


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with _client(tmp_path) as c:
        c.cookies.set(TOKEN_COOKIE, issue_staff_token(tmp_path / "gw.db"))
        yield c


def _help(urgency: str, description: str = "Man onwel, ademt slecht") -> dict[str, str]:
    return {
        "category": "medical",
        "urgency": urgency,
        "address": "Kerkstraat 12, Oss",
        "people_involved": "1",
        "vulnerable_people": "1",
        "description": description,
        # The medical prompts a medical P1 asks (gateway/web/forms.py MEDICAL_PROMPTS).
        "conscious": "yes",
        "breathing": "no",
    }


def _submit(client: TestClient, data: dict[str, str]) -> str:
    r = client.post("/staff/new/help", data=data)
    assert r.status_code == 303, r.text
    return r.headers["location"].split("new=")[1]


def _short_forms(html: str) -> list[str]:
    return [unescape(s) for s in re.findall(r"<code data-short-form>([^<]*)</code>", html)]


def _with_card(client: TestClient) -> str | None:
    html = client.get("/staff/sent/list").text
    return html if _short_forms(html) else None


def test_radio_card_slip_and_mark(client: TestClient) -> None:
    rt: GatewayRuntime = client.app.state.runtime  # type: ignore[attr-defined]
    p1 = _submit(client, _help("P1"))
    _submit(client, _help("P3", "Waterleiding lekt"))

    html = wait_until(lambda: _with_card(client), timeout=10, what="the radio card")
    (short,) = _short_forms(html)  # only the P1
    decoded = sf.decode(short)
    assert (decoded.short_code, decoded.urgency, decoded.kind) == ("OSC", "P1", "help_request")
    assert "Doorgeven via portofoon" in html and "Otto Simon Cornelis" in html
    assert f"data-check-code>{short[-2:]}<" in html

    slip = client.get(f"/staff/relay/{p1}/slip")
    assert slip.status_code == 200
    assert "<svg" in slip.text and "Loperbriefje" in slip.text
    assert "http://" not in re.sub(r'xmlns(:\w+)?="[^"]*"', "", slip.text)

    page = client.get(f"/staff/relay/{p1}")
    assert page.status_code == 200 and "Doorgegeven vastleggen" in page.text
    bad = client.post(f"/staff/relay/{p1}/mark", data={"channel": "radio", "confirmed_at": "25:99"})
    assert bad.status_code == 422 and "UU:MM" in bad.text
    bad = client.post(f"/staff/relay/{p1}/mark", data={"channel": "duif"})
    assert bad.status_code == 422
    assert client.post("/staff/relay/01ARZ3NDEKTSV4RRFFQ69G5FAV/mark", data={}).status_code == 404
    r = client.post(
        f"/staff/relay/{p1}/mark",
        data={"channel": "radio", "confirmed_by": "Jansen", "confirmed_at": "14.05", "by": "Ria"},
    )
    assert r.status_code == 303

    # the row stays in the outbox until the real ack
    assert p1 in {e.message_id for e in rt.outbox.pending()}
    html = client.get("/staff/sent/list").text
    assert "Doorgegeven via portofoon, bevestigd door CP om 14:05" in html
    board = client.get("/board/content")
    assert "portofoon: 1" in board.text


def test_p2_only_when_configured(tmp_path: Path) -> None:
    for urgencies, expected in (("P1", 0), ("P1,P2", 1)):
        path = tmp_path / urgencies.replace(",", "")
        path.mkdir()
        with _client(path, relay_urgencies=urgencies) as c:
            c.cookies.set(TOKEN_COOKIE, issue_staff_token(path / "gw.db"))
            _submit(c, _help("P2"))
            _submit(c, _help("P1"))  # the P1 shows, so the P2 had its chance too
            html = wait_until(lambda c=c: _with_card(c), timeout=10, what="the radio card")
            assert len(_short_forms(html)) == 1 + expected


def test_bulletin_received_by_radio(client: TestClient) -> None:
    rt: GatewayRuntime = client.app.state.runtime  # type: ignore[attr-defined]
    assert "Bericht via portofoon ontvangen" in client.get("/staff").text
    r = client.post("/staff/bulletin-radio", data={"bulletin_id": "Kook advies!", "version": "1"})
    assert r.status_code == 422 and "Berichtcode" in r.text
    r = client.post(
        "/staff/bulletin-radio",
        data={"bulletin_id": "KOOKADVIES-1", "version": "2", "channel": "radio"},
    )
    assert r.status_code == 200 and "Vastgelegd: bericht kookadvies-1 versie 2" in r.text
    (receipt,) = [e.body for e in rt.outbox.pending() if e.kind == "receipt"]
    assert (receipt["bulletin_id"], receipt["version"], receipt["channel"]) == (
        "kookadvies-1",
        2,
        "radio",
    )
