"""End to end through a real Mosquitto: an operator's state change at the CP reaches every
gateway that contributed a report, and shows next to the report in the gateway's API; also
when the broker is down at that moment and the CP is killed before it comes back."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import Mosquitto, MosquittoFactory, Proc, cp_process, gateway_process, wait_until

CP = "cp-oss"
NSPS = ("oss-centrum", "oss-schadewijk")


@pytest.fixture
def broker(mosquitto_factory: MosquittoFactory) -> Mosquitto:
    """The usual test broker, logging every packet: should a state ack not arrive, its log
    (printed with the failure) tells whether the CP published it and the broker sent it on."""
    return mosquitto_factory(extra_conf="log_type all\n").start()


@pytest.fixture
def system(
    tmp_path: Path, broker: Mosquitto, database_url: str
) -> Iterator[tuple[Proc, dict[str, Proc]]]:
    cp = cp_process(tmp_path, broker, database_url, cp_id=CP).start("/readyz")
    gws = {nsp: gateway_process(tmp_path, broker, nsp, cp_id=CP).start() for nsp in NSPS}
    try:
        yield cp, gws
    finally:
        for p in [*gws.values(), cp]:
            p.stop()


def report(gw: Proc, address: str, text: str) -> str:
    r = gw.post(
        "/api/v1/reports",
        {
            "kind": "situation_report",
            "body": {
                "category": "fire",
                "severity": "high",
                "location": {"address": address},
                "description": text,
            },
        },
    )
    assert r.status_code == 201, r.text
    return str(r.json()["message_id"])


def one_incident(cp: Proc, n_reports: int) -> dict[str, Any]:
    def ready() -> dict[str, Any] | None:
        incidents = cp.get("/api/v1/incidents")
        full = [i for i in incidents if i["report_count"] == n_reports]
        return full[0] if len(incidents) == 1 and full else None

    result: dict[str, Any] = wait_until(ready, 30, what=f"one incident of {n_reports} reports")
    return result


def shows(gw: Proc, message_id: str, state: str, note: str) -> bool:
    row = gw.get(f"/api/v1/reports/{message_id}")
    return bool(
        row["cp_state"] == state
        and row["cp_note"] == note
        and state in [h["state"] for h in row["history"]]
    )


def change(cp: Proc, item_id: int, state: str, note: str) -> None:
    r = httpx.post(
        f"{cp.url}/api/v1/items/{item_id}/state",
        json={"state": state, "note": note},
        headers=cp.headers,
        timeout=10,
    )
    assert r.status_code == 200, r.text


def test_operator_state_change_reaches_every_contributing_gateway(
    system: tuple[Proc, dict[str, Proc]],
) -> None:
    cp, gws = system
    m1 = report(gws["oss-centrum"], "Kerkstraat 12, Oss", "Rook uit het dak van een woning")
    m2 = report(gws["oss-schadewijk"], "kerkstr. 12 oss", "Woning in brand, veel rook")
    incident = one_incident(cp, 2)
    assert incident["nsp_ids"] == sorted(NSPS)

    change(cp, incident["id"], "acknowledged", "Brandweer is gewaarschuwd")
    for nsp, mid in (("oss-centrum", m1), ("oss-schadewijk", m2)):
        wait_until(
            lambda nsp=nsp, mid=mid: shows(
                gws[nsp], mid, "acknowledged", "Brandweer is gewaarschuwd"
            ),
            20,
            what=f"{nsp} shows acknowledged",
        )
    change(cp, incident["id"], "dispatched", "Brandweer onderweg, 10 min")
    for nsp, mid in (("oss-centrum", m1), ("oss-schadewijk", m2)):
        wait_until(
            lambda nsp=nsp, mid=mid: shows(
                gws[nsp], mid, "dispatched", "Brandweer onderweg, 10 min"
            ),
            20,
            what=f"{nsp} shows dispatched",
        )
    row = gws["oss-centrum"].get(f"/api/v1/reports/{m1}")
    assert [h["state"] for h in row["history"]] == ["stored", "acknowledged", "dispatched"]

    # A report that joins the incident now learns its state at once.
    m3 = report(gws["oss-centrum"], "Kerkstraat 12", "Brand in woning, rook slaat naar buren")
    one_incident(cp, 3)
    wait_until(
        lambda: gws["oss-centrum"].get(f"/api/v1/reports/{m3}")["cp_state"] == "dispatched",
        20,
        what="joining report shows dispatched",
    )


@pytest.mark.slow
def test_state_ack_survives_broker_outage_and_cp_kill(
    system: tuple[Proc, dict[str, Proc]], broker: Mosquitto
) -> None:
    cp, gws = system
    m1 = report(gws["oss-centrum"], "Molenstraat 3, Oss", "Schuur in brand achter het huis")
    m2 = report(gws["oss-schadewijk"], "Molenstraat 3", "Brand in schuur, aggregaat stond erin")
    incident = one_incident(cp, 2)
    wait_until(
        lambda: all(
            gws[n].get(f"/api/v1/reports/{m}")["state"] == "stored"
            for n, m in (("oss-centrum", m1), ("oss-schadewijk", m2))
        ),
        20,
        what="both reports stored",
    )

    broker.stop()
    wait_until(
        lambda: httpx.get(cp.url + "/readyz", timeout=5).status_code == 503,
        20,
        what="CP sees the broker gone",
    )
    change(cp, incident["id"], "acknowledged", "Gezien, wacht op brandweer")
    cp.kill()  # the ack exists only in the CP's database now

    broker.start()
    cp.start("/readyz")
    for nsp, mid in (("oss-centrum", m1), ("oss-schadewijk", m2)):
        wait_until(
            lambda nsp=nsp, mid=mid: shows(
                gws[nsp], mid, "acknowledged", "Gezien, wacht op brandweer"
            ),
            40,
            what=f"{nsp} shows acknowledged after the outage",
        )
