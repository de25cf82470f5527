"""Must show 1: Mosquitto with the files from deploy/mosquitto/ (only paths and ports
substituted) keeps every NSP in its own lane.

* anonymous and wrong-password connects are refused;
* NSP A cannot publish under NSP B's topics nor read B's down topics;
* A can do all it needs: a real gateway with the credentials from ``noodnet provision nsp``
  delivers a report to the real CP service and gets its ack, shows presence, reads bulletins;
* after ``noodnet provision revoke`` A's open connection is dropped and it cannot connect;
* the TLS listener of the same config requires a client certificate from the NSP CA.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from noodnet.provision import PasswdFile
from noodnet.secure_broker import ProductionBroker
from schemas import make_up, topics
from tests.conftest import test_db_kind as db_kind
from tests.support import ROOT, Proc, cp_process, gateway_process, wait_until
from tests.tls_certs import Pki

CP = "cp-sec"
CP_USER, CP_PASSWORD = "noodnet-cp", "cp-secret-0123456789"


class Client:
    """A paho MQTT 5 client that records CONNACK, PUBACK reason codes and messages."""

    def __init__(
        self,
        port: int,
        username: str | None,
        password: str | None,
        client_id: str,
        tls: tuple[Path, Path | None, Path | None] | None = None,
    ) -> None:
        self.received: list[tuple[str, bytes]] = []
        self.pubacks: dict[int, int] = {}
        self.connack: int | None = None
        self.disconnected = threading.Event()
        self._lock = threading.Lock()
        c = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
        )
        if username is not None:
            c.username_pw_set(username, password)
        if tls is not None:
            ca, cert, key = tls
            c.tls_set(
                ca_certs=str(ca),
                certfile=str(cert) if cert else None,
                keyfile=str(key) if key else None,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        c.on_publish = self._on_publish
        c.reconnect_delay_set(60, 120)  # never reconnect behind the test's back
        self.client = c
        self.port = port

    def _on_connect(self, _c: Any, _u: Any, _f: Any, rc: ReasonCode, _p: Any) -> None:
        self.connack = rc.value

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, _rc: Any, _p: Any) -> None:
        self.disconnected.set()

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.received.append((msg.topic, bytes(msg.payload)))

    def _on_publish(self, _c: Any, _u: Any, mid: int, rc: ReasonCode, _p: Properties) -> None:
        self.pubacks[mid] = rc.value

    def connect(self) -> int:
        """CONNACK reason code (0 = accepted); raises on a failed TLS handshake."""
        self.client.connect("127.0.0.1", self.port, keepalive=10)
        self.client.loop_start()
        wait_until(
            lambda: self.connack is not None or self.disconnected.is_set(), 10, what="CONNACK"
        )
        return self.connack if self.connack is not None else -1

    def publish(self, topic: str, payload: bytes | str, retain: bool = False) -> int:
        """PUBACK reason code: 0 delivered to the broker, 0x87 not authorized."""
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        wait_until(lambda: info.mid in self.pubacks, 10, what=f"PUBACK for {topic}")
        return self.pubacks[info.mid]

    def subscribe(self, topic: str) -> None:
        result, _ = self.client.subscribe(topic, qos=1)
        assert result == mqtt.MQTT_ERR_SUCCESS

    def got(self, topic: str) -> list[bytes]:
        with self._lock:
            return [p for t, p in self.received if t == topic]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


NOT_AUTHORIZED = 0x87
NO_DATABASE = pytest.mark.skipif(
    db_kind() == "postgres", reason="broker only, no database: the SQLite pass runs it"
)
# Mosquitto 2.0.11 answers a wrong password with 0x87 too; 0x86 is what the spec suggests.
REFUSED = {0x86, 0x87}


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path / "pki")


@pytest.fixture
def secure_broker(tmp_path: Path, pki: Pki) -> Iterator[ProductionBroker]:
    broker = ProductionBroker(tmp_path / "broker", tls=pki.broker_files())
    PasswdFile(broker.passwd_file).set(CP_USER, CP_PASSWORD)
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def clients() -> Iterator[list[Client]]:
    made: list[Client] = []
    yield made
    for c in made:
        c.close()


def _client(made: list[Client], port: int, user: str | None, pw: str | None, **kw: Any) -> Client:
    c = Client(port, user, pw, client_id=f"{user or 'anon'}-{len(made)}", **kw)
    made.append(c)
    return c


@NO_DATABASE
def test_anonymous_and_wrong_passwords_are_refused(
    secure_broker: ProductionBroker, clients: list[Client]
) -> None:
    PasswdFile(secure_broker.passwd_file).set("nsp-a", "a-password-0123456789")
    secure_broker.reload()
    port = secure_broker.port
    # Without a username there is no client id (use_username_as_clientid): Mosquitto 2.0.11
    # answers CONNACK 0x87 or closes the connection before its CONNACK (-1); refused both ways.
    assert _client(clients, port, None, None).connect() in {NOT_AUTHORIZED, -1}
    assert _client(clients, port, "nsp-a", "guess").connect() in REFUSED
    assert _client(clients, port, "nsp-z", "a-password-0123456789").connect() in REFUSED
    # The positive control: the same broker does let the right password in.
    wait_until(
        lambda: _client(clients, port, "nsp-a", "a-password-0123456789").connect() == 0,
        10,
        what="nsp-a accepted after the reload",
    )


@NO_DATABASE
def test_an_nsp_cannot_publish_or_read_under_another_nsps_topics(
    secure_broker: ProductionBroker, clients: list[Client]
) -> None:
    pw = {"nsp-a": "a-password-0123456789", "nsp-b": "b-password-0123456789"}
    for user, p in pw.items():
        PasswdFile(secure_broker.passwd_file).set(user, p)
    secure_broker.reload()
    port = secure_broker.port
    cp = _client(clients, port, CP_USER, CP_PASSWORD)
    wait_until(lambda: cp.connect() == 0, 10, what="service identity connects")
    cp.subscribe(f"noodnet/v1/{CP}/nsp/+/up/#")
    cp.subscribe(f"noodnet/v1/{CP}/nsp/+/status")
    a = _client(clients, port, "nsp-a", pw["nsp-a"])
    b = _client(clients, port, "nsp-b", pw["nsp-b"])
    assert a.connect() == 0 and b.connect() == 0
    # A tries to read B's down topics (and everything else it can name).
    a.subscribe(topics.down(CP, "nsp-b", "+"))
    a.subscribe(f"noodnet/v1/{CP}/nsp/+/down/#")
    a.subscribe(topics.down(CP, "nsp-a", "+"))
    b.subscribe(topics.down(CP, "nsp-b", "+"))

    spoof = make_up("status", "nsp-b", 1, {"state": "closed", "power_source": "none"})
    assert a.publish(topics.up(CP, "nsp-b", "status"), spoof.model_dump_json()) == NOT_AUTHORIZED
    assert a.publish(topics.status(CP, "nsp-b"), b'{"online": false}') == NOT_AUTHORIZED
    assert a.publish(topics.down(CP, "nsp-b", "task"), b"{}") == NOT_AUTHORIZED
    assert a.publish(topics.bulletin(CP, "fake"), b"{}") == NOT_AUTHORIZED
    # A's own lane works (and, being later on the same connection, proves nothing of the
    # refused publishes is still on its way).
    own = make_up("status", "nsp-a", 1, {"state": "open", "power_source": "generator"})
    assert a.publish(topics.up(CP, "nsp-a", "status"), own.model_dump_json()) == 0
    wait_until(lambda: cp.got(topics.up(CP, "nsp-a", "status")), 10, what="A's own report")
    assert cp.got(topics.up(CP, "nsp-b", "status")) == []
    assert cp.got(topics.status(CP, "nsp-b")) == []

    # The service writes to B, then to A: B gets its message, A only its own.
    assert cp.publish(topics.down(CP, "nsp-b", "task"), b"for-b") == 0
    assert cp.publish(topics.down(CP, "nsp-a", "task"), b"for-a") == 0
    wait_until(lambda: a.got(topics.down(CP, "nsp-a", "task")), 10, what="A's own task")
    wait_until(lambda: b.got(topics.down(CP, "nsp-b", "task")), 10, what="B's task")
    assert a.got(topics.down(CP, "nsp-b", "task")) == []
    assert [t for t, _ in a.received] == [topics.down(CP, "nsp-a", "task")] * len(a.received)


def _provision(cp: Proc, broker: ProductionBroker, nsp_id: str, *extra: str) -> dict[str, str]:
    assert broker.proc is not None
    out = subprocess.run(
        [
            sys.executable, "-m", "noodnet", "provision", "nsp", nsp_id,
            "--name", f"Dorpshuis {nsp_id}", "--address", "Kerkstraat 1, Oss",
            "--lat", "51.76", "--lon", "5.52",
            "--cp-url", cp.url, "--passwd-file", str(broker.passwd_file),
            "--reload-command", f"kill -HUP {broker.proc.pid}",
            "--broker-port", str(broker.port), *extra,
        ],
        env={"NOODNET_ADMIN_TOKEN": cp.token or "", "PATH": "/usr/bin:/bin"},
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    env = dict(line.split("=", 1) for line in out.stdout.splitlines() if line and line[0] != "#")
    assert env["NOODNET_MQTT_USERNAME"] == nsp_id and env["NOODNET_CP_ID"] == CP
    assert f"write noodnet/v1/{CP}/nsp/{nsp_id}/up/#" in out.stderr  # the ACL it gets
    return env


def _revoke(cp: Proc, broker: ProductionBroker, nsp_id: str) -> str:
    assert broker.proc is not None
    out = subprocess.run(
        [
            sys.executable, "-m", "noodnet", "provision", "revoke", nsp_id,
            "--cp-url", cp.url, "--passwd-file", str(broker.passwd_file),
            "--reload-command", f"kill -HUP {broker.proc.pid}",
        ],
        env={"NOODNET_ADMIN_TOKEN": cp.token or "", "PATH": "/usr/bin:/bin"},
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_provisioned_nsp_does_all_it_needs_and_revoked_nsp_is_locked_out(
    tmp_path: Path,
    secure_broker: ProductionBroker,
    database_url: str,
    clients: list[Client],
) -> None:
    cp = cp_process(
        tmp_path,
        secure_broker,
        database_url,
        cp_id=CP,
        NOODNET_MQTT_USERNAME=CP_USER,
        NOODNET_MQTT_PASSWORD=CP_PASSWORD,
    ).start("/readyz")
    gw: Proc | None = None
    try:
        env = _provision(cp, secure_broker, "nsp-a")
        gw_env = {k: v for k, v in env.items() if k.startswith("NOODNET_MQTT_")}
        gw = gateway_process(tmp_path, secure_broker, "nsp-a", cp_id=CP, **gw_env).start()
        wait_until(lambda: gw.get("/api/v1/link")["connected"], 20, what="gateway connected")
        # A report goes up, is stored by the CP, and the CP's ack comes down.
        body = {
            "category": "medical",
            "urgency": "P1",
            "location": {"address": "Kerkstraat 3, Oss"},
            "description": "Man onwel op straat",
        }
        created = gw.post("/api/v1/reports", {"kind": "help_request", "body": body}).json()
        mid = created["message_id"]
        wait_until(lambda: gw.get(f"/api/v1/reports/{mid}")["state"] == "stored", 30, what="CP ack")
        assert cp.get(f"/api/v1/messages/{mid}")["nsp_id"] == "nsp-a"
        nsp = wait_until(lambda: (n := cp.get("/api/v1/nsps/nsp-a"))["online"] and n, 10)
        assert nsp["registered"] and nsp["name"] == "Dorpshuis nsp-a"
        # Bulletins: the service publishes one, every NSP may read it. (The watcher is NSP
        # W: a second connection as nsp-a would replace the gateway's, since the broker uses
        # the username as client id, see tests/test_client_id_binding.py.)
        w_env = _provision(cp, secure_broker, "nsp-w")
        watcher = _client(clients, secure_broker.port, "nsp-w", w_env["NOODNET_MQTT_PASSWORD"])
        assert watcher.connect() == 0
        watcher.subscribe(topics.bulletin(CP, "+"))
        # (Published by the running service: a second connection as noodnet-cp would
        # replace the service's own.)
        texts = [{"language": "nl", "headline": "Drinkwater", "text": "Tappunt open."}]
        r = cp.post("/api/v1/bulletins", {"texts": texts})
        assert r.status_code == 201, r.text
        bulletin = topics.bulletin(CP, r.json()["bulletin_id"])
        wait_until(lambda: watcher.got(bulletin), 10, what="bulletin read")

        # Revoke: the open connections are dropped, reconnecting is refused, tokens revoked.
        printed = _revoke(cp, secure_broker, "nsp-a")
        assert "removed from" in printed
        wait_until(lambda: not gw.get("/api/v1/link")["connected"], 20, what="gateway dropped")
        assert not watcher.disconnected.is_set()  # revoking A leaves W connected
        again = _client(clients, secure_broker.port, "nsp-a", env["NOODNET_MQTT_PASSWORD"])
        assert again.connect() in REFUSED
        events = cp.get("/api/v1/security-events", params={"nsp_id": "nsp-a"})
        assert {"nsp_registered", "nsp_revoked"} <= {e["kind"] for e in events}
    finally:
        if gw is not None:
            gw.stop()
        cp.stop()


@NO_DATABASE
def test_tls_listener_requires_a_client_certificate_from_the_nsp_ca(
    tmp_path: Path, secure_broker: ProductionBroker, pki: Pki, clients: list[Client]
) -> None:
    assert secure_broker.tls_port is not None and secure_broker.tls is not None
    pw = "a-password-0123456789"
    PasswdFile(secure_broker.passwd_file).set("nsp-a", pw)
    secure_broker.reload()
    ca = secure_broker.tls.ca
    cert, key = pki.issue("nsp-a")
    port = secure_broker.tls_port
    ok = _client(clients, port, "nsp-a", pw, tls=(ca, cert, key))
    wait_until(lambda: ok.connect() == 0, 10, what="TLS client with certificate accepted")
    # The ACL holds on the TLS listener too.
    assert ok.publish(topics.up(CP, "nsp-b", "status"), b"{}") == NOT_AUTHORIZED
    assert ok.publish(topics.up(CP, "nsp-a", "status"), b"{}") < 0x80  # 0x10: no subscribers
    # No client certificate: the handshake fails.
    with pytest.raises((ssl.SSLError, OSError)):
        no_cert = _client(clients, port, "nsp-a", pw, tls=(ca, None, None))
        if no_cert.connect() != 0:
            raise ssl.SSLError("refused")
    # A certificate from another CA: refused.
    rogue_cert, rogue_key = Pki(tmp_path / "rogue", "Rogue CA").issue("nsp-a")
    with pytest.raises((ssl.SSLError, OSError)):
        rogue = _client(clients, port, "nsp-a", pw, tls=(ca, rogue_cert, rogue_key))
        if rogue.connect() != 0:
            raise ssl.SSLError("refused")
    # A valid certificate does not replace the password.
    assert _client(clients, port, "nsp-a", "wrong", tls=(ca, cert, key)).connect() in REFUSED


def test_service_and_gateway_connect_over_tls_with_client_certificates(
    tmp_path: Path, secure_broker: ProductionBroker, pki: Pki, database_url: str
) -> None:
    assert secure_broker.tls_port is not None and secure_broker.tls is not None
    ca = str(secure_broker.tls.ca)
    cp_cert, cp_key = pki.issue(CP_USER)
    gw_cert, gw_key = pki.issue("nsp-t")
    pw = "t-password-0123456789"
    PasswdFile(secure_broker.passwd_file).set("nsp-t", pw)
    secure_broker.reload()
    tls_port = str(secure_broker.tls_port)
    cp = cp_process(
        tmp_path,
        secure_broker,
        database_url,
        cp_id=CP,
        NOODNET_MQTT_PORT=tls_port,
        NOODNET_MQTT_USERNAME=CP_USER,
        NOODNET_MQTT_PASSWORD=CP_PASSWORD,
        NOODNET_MQTT_CA_FILE=ca,
        NOODNET_MQTT_CERT_FILE=str(cp_cert),
        NOODNET_MQTT_KEY_FILE=str(cp_key),
    ).start("/readyz")
    gw = gateway_process(
        tmp_path,
        secure_broker,
        "nsp-t",
        cp_id=CP,
        NOODNET_MQTT_PORT=tls_port,
        NOODNET_MQTT_PASSWORD=pw,
        NOODNET_MQTT_CA_FILE=ca,
        NOODNET_MQTT_CERT_FILE=str(gw_cert),
        NOODNET_MQTT_KEY_FILE=str(gw_key),
    ).start()
    try:
        status = {"state": "open", "power_source": "battery"}
        mid = gw.post("/api/v1/status", status).json()["message_id"]
        wait_until(lambda: gw.get(f"/api/v1/reports/{mid}")["state"] == "stored", 30)
        stored = cp.get(f"/api/v1/messages/{mid}")
        assert json.dumps(stored["body"]["power_source"]) == '"battery"'
    finally:
        gw.stop()
        cp.stop()
