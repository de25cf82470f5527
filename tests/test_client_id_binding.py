"""Must show 3 (part): no NSP can take over another identity's MQTT session.

Before: an NSP with its own valid password connected with the CP service's client id;
Mosquitto dropped the CP and, on the clean start, wiped its persistent session, so reports the
broker had queued for the CP while it was away never arrived (0 of 20). The production config
(deploy/mosquitto/mosquitto.conf, ``use_username_as_clientid true``) now uses the username as
the client id, whatever id a client sends.

The test runs the real CP service and a real gateway against Mosquitto with the production
files, NSP identities made with ``noodnet provision``. The gateway's resend timer is set to an
hour, so every report the CP gets after its restart comes out of its broker session; with the
option removed from the config this test fails (checked by hand: 0 of 20 arrive).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from noodnet.provision import PasswdFile
from noodnet.secure_broker import ProductionBroker
from service.settings import ServiceSettings
from tests.support import Proc, cp_process, gateway_process, wait_until
from tests.test_broker_security import CP, CP_PASSWORD, CP_USER, Client, _provision

REPORTS = 20


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[ProductionBroker]:
    broker = ProductionBroker(tmp_path / "broker")
    assert "\nuse_username_as_clientid true\n" in broker.conf.read_text()
    PasswdFile(broker.passwd_file).set(CP_USER, CP_PASSWORD)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


def test_an_nsp_cannot_take_over_the_cp_or_another_gateway_by_client_id(
    tmp_path: Path, broker: ProductionBroker, database_url: str
) -> None:
    cp_env = {"NOODNET_MQTT_USERNAME": CP_USER, "NOODNET_MQTT_PASSWORD": CP_PASSWORD}
    cp = cp_process(tmp_path, broker, database_url, cp_id=CP, **cp_env).start("/readyz")
    gw: Proc | None = None
    attackers: list[Client] = []
    try:
        victim = _provision(cp, broker, "nsp-a")
        attacker = _provision(cp, broker, "nsp-b")
        gw_env = {k: v for k, v in victim.items() if k.startswith("NOODNET_MQTT_")}
        gw = gateway_process(
            tmp_path, broker, "nsp-a", cp_id=CP, NOODNET_RESEND_AFTER_SECONDS="3600", **gw_env
        ).start()
        wait_until(lambda: gw.get("/api/v1/link")["connected"], 20, what="gateway connected")
        # The CP goes away; its broker session (subscriptions, clean_start=False) stays.
        cp.stop()
        ids = []
        for i in range(REPORTS):
            status = {"state": "open", "power_source": "grid", "staff_present": i + 1}
            ids.append(gw.post("/api/v1/status", status).json()["message_id"])
        # The broker PUBACKed all of them: they are queued in the CP's session now.
        wait_until(
            lambda: gw.get("/api/v1/link")["counts"]["sent"] == REPORTS, 20, what="all PUBACKed"
        )

        # NSP B, with its own valid password, connects under every id it could guess: the
        # CP's configured default, the CP's username, the gateway's default and username.
        cp_default = ServiceSettings(
            cp_id=CP, mqtt_username=CP_USER, mqtt_password=CP_PASSWORD
        ).client_id
        guesses = [cp_default, f"noodnet-cp-{CP}", CP_USER, "gw-nsp-a", "nsp-a"]
        for client_id in guesses:
            c = Client(broker.port, "nsp-b", attacker["NOODNET_MQTT_PASSWORD"], client_id)
            attackers.append(c)
            assert c.connect() == 0  # B may connect, but only as itself
            c.close()

        # The CP comes back: every queued report arrives and is acked down to the gateway.
        cp.start("/readyz")

        def all_stored() -> bool:
            reports = gw.get("/api/v1/reports", params={"kind": "status", "limit": 100})
            return sum(r["state"] == "stored" for r in reports if r["message_id"] in ids) == (
                REPORTS
            )

        wait_until(all_stored, 30, what=f"all {REPORTS} reports stored at the CP")
        for mid in ids:
            assert cp.get(f"/api/v1/messages/{mid}")["nsp_id"] == "nsp-a"
        # The gateway kept its one session throughout: it was never kicked off.
        assert gw.get("/api/v1/link")["last_disconnected_at"] is None
        # The broker used B's username as its client id every time.
        assert CP_PASSWORD not in cp_default
        log = broker.log()
        assert log.count("as nsp-b (p5, c1") == len(guesses)
        assert not any(f"as {guess} (p5, c1" in log for guess in guesses)
    finally:
        for c in attackers:
            c.close()
        if gw is not None:
            gw.stop()
        cp.stop()
