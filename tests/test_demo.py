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

        port = wait_until(cp_port, 60, interval=0.2, what="the demo's banner")

        def nsps_with_messages() -> set[str]:
            assert proc.poll() is None, log.read_text()
            r = httpx.get(f"http://127.0.0.1:{port}/api/v1/messages?limit=1000", timeout=2)
            return {m["nsp_id"] for m in r.json()} if r.status_code == 200 else set()

        found = wait_until(lambda: len(s := nsps_with_messages()) >= 3 and s, 60, interval=0.5)
        assert len(found) >= 3
        kinds = {m["kind"] for m in httpx.get(f"http://127.0.0.1:{port}/api/v1/messages").json()}
        assert "status" in kinds
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
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(30) == 0, log.read_text()[-3000:]
