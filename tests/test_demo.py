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
            r = httpx.get(f"http://127.0.0.1:{port}/api/v1/messages?limit=1000", timeout=2)
            return {m["nsp_id"] for m in r.json()} if r.status_code == 200 else set()

        found = wait_until(lambda: len(s := nsps_with_messages()) >= 3 and s, 60, interval=0.5)
        assert len(found) >= 3
        kinds = {m["kind"] for m in httpx.get(f"http://127.0.0.1:{port}/api/v1/messages").json()}
        assert "status" in kinds
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
