"""Bulletins from the CP service to gateway processes through a real Mosquitto: versions
published while a gateway is down, late gateways, and a broker that lost its retained store."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from tests.support import Mosquitto, Proc, cp_process, gateway_process, wait_until

CP = "cp-test"


def publish(cp: Proc, path: str, headline: str, **extra: Any) -> dict[str, Any]:
    r = httpx.post(
        headers=cp.headers,
        url=cp.url + path,
        json={
            "texts": [
                {"language": "nl", "headline": headline, "text": f"Tekst bij {headline}."},
                {"language": "en", "headline": f"EN {headline}", "text": "Text."},
            ],
            **extra,
        },
        timeout=10,
    )
    assert r.status_code == 201, r.text
    return dict(r.json())


def shown(gw: Proc) -> list[tuple[str, int, str]]:
    return [(b["bulletin_id"], b["version"], b["headline"]) for b in gw.get("/api/v1/bulletins")]


def reach(cp: Proc, bulletin_id: str) -> dict[str, Any]:
    return dict(cp.get(f"/api/v1/bulletins/{bulletin_id}/reach"))


def test_gateway_offline_during_three_versions_shows_only_the_latest(
    tmp_path: Path, broker: Mosquitto, database_url: str
) -> None:
    cp = cp_process(tmp_path, broker, database_url, cp_id=CP).start()
    gw = gateway_process(tmp_path, broker, "nsp-a", cp_id=CP).start()
    late: Proc | None = None
    try:
        wait_until(lambda: gw.get("/api/v1/link")["connected"], 20, what="gateway connected")
        publish(cp, "/api/v1/bulletins", "Kookadvies v1", bulletin_id="water")
        wait_until(lambda: shown(gw) == [("water", 1, "Kookadvies v1")], 20, what="v1 shown")
        wait_until(lambda: reach(cp, "water")["summary"]["all_current"], 20, what="v1 receipt")

        gw.kill()  # power cut at the NSP
        for v in (2, 3, 4):
            publish(cp, "/api/v1/bulletins/water/versions", f"Kookadvies v{v}")
        behind = reach(cp, "water")
        assert behind["current_version"] == 4
        assert [(n["nsp_id"], n["state"], n["version"]) for n in behind["nsps"]] == [
            ("nsp-a", "behind", 1)
        ]

        gw.start()
        wait_until(lambda: shown(gw) == [("water", 4, "Kookadvies v4")], 30, what="v4 shown")
        board = httpx.get(gw.url + "/board", headers=gw.headers, timeout=10).text
        assert "Kookadvies v4" in board
        assert not any(f"Kookadvies v{v}" in board for v in (1, 2, 3))

        caught_up = wait_until(
            lambda: (r := reach(cp, "water"))["summary"]["all_current"] and r,
            30,
            what="CP sees nsp-a caught up",
        )
        [nsp] = caught_up["nsps"]
        assert (nsp["nsp_id"], nsp["state"], nsp["version"], nsp["stale"]) == (
            "nsp-a",
            "current",
            4,
            False,
        )
        assert nsp["behind_since"] is None and nsp["confirmed_at"] is not None

        # A gateway that never was online before gets the current set at once (retained).
        late = gateway_process(tmp_path, broker, "nsp-late", cp_id=CP).start()
        wait_until(lambda: shown(late) == [("water", 4, "Kookadvies v4")], 20, what="late")
        # Withdrawing reaches both, and both confirm it.
        httpx.post(
            cp.url + "/api/v1/bulletins/water/withdraw", headers=cp.headers, timeout=10
        ).raise_for_status()
        wait_until(lambda: shown(gw) == [] and shown(late) == [], 20, what="withdrawn")
        done = wait_until(
            lambda: (r := reach(cp, "water"))["summary"]["all_current"] and r, 20, what="acks"
        )
        assert done["withdrawn"] and done["summary"]["current"] == 2
    finally:
        if late is not None:
            late.stop()
        gw.stop()
        cp.stop()


def test_broker_that_lost_its_retained_messages_gets_them_again(
    tmp_path: Path, broker: Mosquitto, database_url: str
) -> None:
    cp = cp_process(tmp_path, broker, database_url, cp_id=CP).start()
    late: Proc | None = None
    try:
        wait_until(lambda: cp.get("/readyz")["status"] == "ready", 20, what="CP connected")
        publish(cp, "/api/v1/bulletins", "Stroom pas over drie dagen terug", bulletin_id="power")
        # A broker restarted on empty storage: the retained bulletin is gone.
        broker.kill()
        for f in broker.workdir.glob("mosquitto.db*"):
            f.unlink()
        broker.start()
        late = gateway_process(tmp_path, broker, "nsp-new", cp_id=CP).start()
        wait_until(
            lambda: shown(late) == [("power", 1, "Stroom pas over drie dagen terug")],
            40,
            what="bulletin re-published by the CP after it reconnected",
        )
    finally:
        if late is not None:
            late.stop()
        cp.stop()
