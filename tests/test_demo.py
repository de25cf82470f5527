"""The README's demo brings the whole system up and data flows from several NSPs."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from noodcore.httpguard import TOKEN_COOKIE
from tests.support import ROOT, wait_until


@pytest.mark.parametrize("broker", ["mosquitto", "amqtt"])
def test_demo_lists_messages_from_three_nsps_within_60s(tmp_path: Path, broker: str) -> None:
    log = tmp_path / "demo.log"
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "noodnet", "demo",
                "--http-port", "0", "--duration", "120", "--speed", "2",
                "--workdir", str(tmp_path / "demo"), "--broker", broker,
            ],
            cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        # The CP binds any free port (no port picked here and handed over); the banner says which.
        def cp_port() -> int | None:
            assert proc.poll() is None, log.read_text()
            m = re.search(
                r"Crisis-room dashboard http://127\.0\.0\.1:(\d+)/dashboard", log.read_text()
            )
            return int(m.group(1)) if m else None

        # Seven processes start (four gateways, the CP, a region and a national level): on a
        # loaded two-core machine that takes longer than the minute the CP and gateways took.
        port = wait_until(cp_port, 120, interval=0.2, what="the demo's banner")

        def nsps_with_messages() -> set[str]:
            assert proc.poll() is None, log.read_text()
            # Staff reports, not the gateways' own confirmations (a facility directory arrives
            # retained at once, so every gateway's first message is its facility_receipt).
            r = httpx.get(
                f"http://127.0.0.1:{port}/api/v1/messages?kind=status&limit=1000", timeout=2
            )
            return {m["nsp_id"] for m in r.json()} if r.status_code == 200 else set()

        found = wait_until(lambda: len(s := nsps_with_messages()) >= 3 and s, 60, interval=0.5)
        assert len(found) >= 3
        kinds = {m["kind"] for m in httpx.get(f"http://127.0.0.1:{port}/api/v1/messages").json()}
        assert "status" in kinds
        everything = httpx.get(f"http://127.0.0.1:{port}/api/v1/messages?limit=1000").json()
        assert {"status", "facility_receipt"} <= {m["kind"] for m in everything}
        # Citizen aid and scarce goods are in the scenario too (volunteers, ledger, hand-outs).
        wait_until(
            lambda: (
                {"volunteer_roster", "stock_entry"}
                <= {
                    m["kind"]
                    for m in httpx.get(
                        f"http://127.0.0.1:{port}/api/v1/messages?limit=1000", timeout=2
                    ).json()
                }
            ),
            60,
            interval=0.5,
            what="aid and goods messages from the demo",
        )
        stock = httpx.get(f"http://127.0.0.1:{port}/api/v1/goods/stock", timeout=5).json()
        assert any(line["item"] == "drinkwater" for line in stock["lines"])
        assert "API docs" in log.read_text()
        assert f"127.0.0.1:{port}/dashboard" in log.read_text()
        # The console's URL and a token that signs in there, as a browser would.
        m = re.search(r"/console\s+sign in with the operator token: (nn_\S+)", log.read_text())
        assert m, log.read_text()
        r = httpx.post(f"http://127.0.0.1:{port}/login", data={"token": m.group(1)}, timeout=5)
        assert r.status_code == 303 and r.headers["location"] == "/console"
        console = httpx.get(
            f"http://127.0.0.1:{port}/console", cookies={TOKEN_COOKIE: m.group(1)}, timeout=5
        )
        assert console.status_code == 200 and "(operator)" in console.text

        # Facilities: the library's staff report the water point dry, the CP operator accepts
        # it, and the library's board shows it closed under "Waar kunt u terecht?".
        def water_point() -> dict[str, object] | None:
            r = httpx.get(f"http://127.0.0.1:{port}/api/v1/facilities/tappunt-walplein", timeout=2)
            return r.json() if r.status_code == 200 and r.json()["state"] == "closed" else None

        closed = wait_until(water_point, 60, interval=0.5, what="observation accepted")
        assert closed["history"][0]["observation_id"] is not None
        gw = re.search(
            r"Bibliotheek Oss\s+info board\s+(http://127\.0\.0\.1:\d+)/board", log.read_text()
        )
        assert gw, log.read_text()
        wait_until(
            lambda: (
                'id="facility-tappunt-walplein" data-state="closed"'
                in httpx.get(gw.group(1) + "/board", timeout=2).text
            ),
            30,
            interval=0.5,
            what="the library's board shows the water point closed",
        )
        # Issue 12: each gateway's board and staff screen with its pairing code and PIN; a
        # tablet pairs with the link once and signs in with the PIN.
        text = log.read_text()
        boards = re.findall(r"info board\s+(http://127\.0\.0\.1:\d+)/board", text)
        pairs = re.findall(
            r"staff screen\s+(http://127\.0\.0\.1:\d+)/staff/pair\?code=([A-Z2-9]{8})\s+"
            r"pairing code [A-Z2-9-]{9}\s+then PIN (\d{4})",
            text,
        )
        assert len(boards) >= 3 and len(pairs) == len(boards), text
        gw_url, code, pin = pairs[0]
        board = httpx.get(gw_url + "/board", timeout=5)
        assert board.status_code == 200 and "Noodgeval? Meld het hier bij de balie." in board.text
        with httpx.Client(base_url=gw_url, timeout=10) as tablet:
            paired = tablet.post("/staff/pair", data={"code": code})
            assert paired.status_code == 303, paired.text
            signed_in = tablet.post("/staff/login", data={"pin": pin, "next": "/staff"})
            assert signed_in.status_code == 303 and signed_in.headers["location"] == "/staff"
            assert tablet.get("/staff").status_code == 200

        # The levels above: the region's picture and the national level fed by the region.
        nodes = dict(
            re.findall(r"(Region|National) \S+\s+(http://127\.0\.0\.1:\d+)/dashboard", text)
        )
        assert set(nodes) == {"Region", "National"}, text
        for level in ("Region", "National"):
            wait_until(
                lambda url=nodes[level]: (
                    [c["cp_id"] for c in httpx.get(url + "/api/v1/region/cps", timeout=2).json()]
                    == ["cp-oss"]
                ),
                60,
                interval=0.5,
                what=f"{level} has the CP's summary",
            )
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0, log.read_text()[-3000:]


def test_demo_cuts_the_link_and_shows_the_radio_card(tmp_path: Path) -> None:
    """Must show 5 (the demo part): the demo's link-cut step prints the radio card's URL, and
    the card there holds the short form it printed.

    The demo starts with SIGINT ignored, as a background job of a script inherits it, and the
    SIGINT at the end must still stop it cleanly."""
    log = tmp_path / "demo.log"
    ignore_sigint_then_exec = (
        "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); "
        "os.execv(sys.executable, [sys.executable, *sys.argv[1:]])"
    )
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [
                sys.executable, "-c", ignore_sigint_then_exec,
                "-m", "noodnet", "demo",
                "--http-port", "0", "--duration", "240", "--gateways", "2",
                "--workdir", str(tmp_path / "demo"), "--broker", "mosquitto",
                "--link-cut-at", "3",
            ],
            cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:

        def card() -> re.Match[str] | None:
            assert proc.poll() is None, log.read_text()
            return re.search(
                r"radio card .*\n\s+(http://127\.0\.0\.1:\d+)/staff/sent#relay-([0-9A-Z]{26})\n"
                r"\s+short form to read out:\s+(.+)\n\s+the CP operator types it in:\s+"
                r"(http://\S+/console/relay)",
                log.read_text(),
            )

        m = wait_until(card, 150, interval=0.2, what="the demo's radio card step")
        gw_url, message_id, short, _relay_url = m.groups()
        assert "the NSP-CP link is gone" in log.read_text()
        staff = re.search(r"(?:staff|long) token\s+(nn_\S+)", log.read_text())
        assert staff, log.read_text()

        def sent_list() -> str | None:
            page = httpx.get(
                f"{gw_url}/staff/sent/list", cookies={TOKEN_COOKIE: staff.group(1)}, timeout=5
            )
            assert page.status_code == 200
            return page.text if f'id="relay-{message_id}"' in page.text else None

        html = wait_until(sent_list, 20, interval=0.5, what="the card on the staff screen")
        assert short.strip() in html
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0, log.read_text()[-3000:]
