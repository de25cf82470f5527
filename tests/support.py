"""Real components for tests: a Mosquitto broker, CP service and gateway processes.

Everything is started in a temporary directory and waited on by condition, never by sleeping
a fixed time. CP and gateway processes bind HTTP port 0 and report the port they got
(``NOODNET_HTTP_PORT_FILE``), so no test picks a free port, closes it and hands it to a child
that may lose it to another process (that race failed a CI run with "address already in use").
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from noodnet.broker import LocalBroker, kill_process, stop_process
from noodnet.broker import free_port as free_port  # re-exported: in-process tests need a dead port

ROOT = Path(__file__).resolve().parents[1]


def wait_until(
    cond: Callable[[], Any], timeout: float = 20, interval: float = 0.05, what: str = ""
) -> Any:
    """Poll ``cond`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while time.monotonic() < deadline:
        try:
            value = cond()
            if value:
                return value
        except Exception as exc:  # the thing may not be up yet
            last_exc = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what or cond}: {last_exc!r}")


class Mosquitto(LocalBroker):
    """A real broker per test (see noodnet.broker); fails loudly when not installed."""


class Proc:
    """A ``noodnet`` subcommand in its own process, so tests can SIGKILL it."""

    def __init__(
        self,
        args: list[str],
        env: dict[str, str],
        log: Path,
        http_port: int,
        token: str | None = None,
    ) -> None:
        self.args = args
        self.env = env
        self.log = log
        self.http_port = http_port
        self.token = token  # sent by get/post: an admin token (CP) or nsp-staff token (gateway)
        # When set, get/post authenticate through it (e.g. CpAuth: gateway tokens per NSP).
        self.auth: httpx.Auth | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.port_file = log.with_name(log.name + ".port")

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, wait_path: str = "/healthz", timeout: float = 30) -> Proc:
        """Start the process and wait until ``wait_path`` answers 200. With ``http_port`` 0
        the child binds any free port and reports it; a restart binds that port again."""
        env = {
            **os.environ,
            **self.env,
            "NOODNET_HTTP_PORT": str(self.http_port),
            "NOODNET_HTTP_PORT_FILE": str(self.port_file),
        }
        self.port_file.unlink(missing_ok=True)
        with self.log.open("ab") as fh:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "noodnet", *self.args],
                env=env,
                cwd=ROOT,
                stdout=fh,
                stderr=subprocess.STDOUT,
            )

        def up() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise AssertionError(f"process exited: {self.log.read_text()[-3000:]}")
            if self.http_port == 0:
                self.http_port = int(self.port_file.read_text())
            return httpx.get(self.url + wait_path, timeout=2).status_code == 200

        wait_until(up, timeout, interval=0.1, what=f"{self.args[0]} on {self.http_port}")
        return self

    def kill(self) -> None:
        kill_process(self.proc)
        self.proc = None

    def stop(self) -> None:
        stop_process(self.proc, grace=20)
        self.proc = None

    def get(self, path: str, **kw: Any) -> Any:
        if self.auth is not None:
            r = httpx.get(self.url + path, timeout=10, auth=self.auth, **kw)
        else:
            r = httpx.get(self.url + path, timeout=10, headers=self.headers, **kw)
        r.raise_for_status()
        return r.json()

    def post(self, path: str, json: Any, token: str | None = None) -> httpx.Response:
        if token is None and self.auth is not None:
            return httpx.post(self.url + path, json=json, timeout=10, auth=self.auth)
        headers = {"Authorization": f"Bearer {token}"} if token else self.headers
        return httpx.post(self.url + path, json=json, timeout=10, headers=headers)


def issue_cp_token(database_url: str, role: str, nsp_id: str | None = None) -> str:
    """A token straight in the CP's database (migrated first), as `noodnet token create`."""
    from datetime import timedelta

    from noodcore.httpguard import Role
    from service.auth.tokens import create_token_cli
    from service.db import make_engine, migrate

    engine = make_engine(database_url)
    try:
        migrate(engine)
        return create_token_cli(
            engine,
            name=f"test-{role}" + (f"-{nsp_id}" if nsp_id else ""),
            role=Role(role),
            expires_in=timedelta(days=1),
            nsp_id=nsp_id,
        ).token
    finally:
        engine.dispose()


def bearer(engine: Any, role: str, nsp_id: str | None = None) -> dict[str, str]:
    """Authorization header of a new CP token in the (already migrated) database."""
    from datetime import timedelta

    from noodcore.httpguard import Role
    from service.auth.tokens import create_token_cli

    issued = create_token_cli(
        engine,
        name=f"test-{role}" + (f"-{nsp_id}" if nsp_id else ""),
        role=Role(role),
        expires_in=timedelta(days=1),
        nsp_id=nsp_id,
    )
    return {"Authorization": f"Bearer {issued.token}"}


def staff_headers(db_path: Path, role: str = "nsp-staff") -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_staff_token(db_path, role)}"}


def issue_staff_token(db_path: Path, role: str = "nsp-staff") -> str:
    """A token in a gateway's database, as `noodnet staff-token create`."""
    from datetime import timedelta

    from gateway import auth
    from noodcore.httpguard import Role

    engine = auth.open_engine(db_path)
    try:
        return auth.issue(engine, f"test-{role}", Role(role), timedelta(days=1)).token
    finally:
        engine.dispose()


_serial = itertools.count(1)


def cp_process(
    tmp: Path, broker: Mosquitto, database_url: str, cp_id: str = "cp-test", **env: str
) -> Proc:
    return Proc(
        ["cp"],
        {
            "NOODNET_CP_ID": cp_id,
            "NOODNET_DATABASE_URL": database_url,
            "NOODNET_MQTT_PORT": str(broker.port),
            **env,
        },
        tmp / f"cp-{cp_id}-{next(_serial)}.log",
        0,
        token=issue_cp_token(database_url, "admin"),
    )


def gateway_process(
    tmp: Path, broker: Mosquitto, nsp_id: str, cp_id: str = "cp-test", **env: str
) -> Proc:
    db_path = tmp / f"gw-{nsp_id}.db"
    return Proc(
        ["gateway"],
        {
            "NOODNET_NSP_ID": nsp_id,
            "NOODNET_CP_ID": cp_id,
            "NOODNET_DB_PATH": str(db_path),
            "NOODNET_MQTT_PORT": str(broker.port),
            "NOODNET_RESEND_AFTER_SECONDS": "3",
            **env,
        },
        tmp / f"gw-{nsp_id}.log",
        0,
        token=issue_staff_token(db_path),
    )


class MqttPeer:
    """A plain paho MQTT 5 client for tests: plays a gateway or a CP without our code."""

    def __init__(self, port: int, client_id: str, subscribe: list[str] | None = None) -> None:
        import threading

        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        self.received: list[tuple[str, bytes]] = []
        self._lock = threading.Lock()
        self._subscribe = subscribe or []
        self.client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=client_id,
            protocol=mqtt.MQTTv5,
        )
        self.connected = False

        def on_connect(c: Any, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
            self.connected = not rc.is_failure
            for t in self._subscribe:
                c.subscribe(t, qos=1)

        def on_message(_c: Any, _u: Any, msg: Any) -> None:
            with self._lock:
                self.received.append((msg.topic, msg.payload))

        self.client.on_connect = on_connect
        self.client.on_message = on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        wait_until(lambda: self.connected, 10, what=f"{client_id} connected")

    def publish(self, topic: str, payload: bytes | str, qos: int = 1) -> None:
        info = self.client.publish(topic, payload, qos=qos)
        info.wait_for_publish(10)

    def messages(self, topic_suffix: str = "") -> list[tuple[str, bytes]]:
        with self._lock:
            return [m for m in self.received if m[0].endswith(topic_suffix)]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class CpAuth(httpx.Auth):
    """Authenticates in-process test clients of the CP as a real deployment would: an admin
    token for operator work, and for ``POST /api/v1/messages`` a gateway token of the NSP
    named in the envelope (a gateway may post only for its own NSP)."""

    def __init__(self, engine: Any, role: str = "admin") -> None:
        self.engine = engine
        self.default = bearer(engine, role)
        self._gateways: dict[str, dict[str, str]] = {}

    def auth_flow(self, request: httpx.Request) -> Any:
        headers = self.default
        if request.method == "POST" and request.url.path == "/api/v1/messages":
            import json

            try:
                nsp = json.loads(request.content or b"{}").get("nsp_id")
            except (ValueError, AttributeError):
                nsp = None
            if isinstance(nsp, str):
                if nsp not in self._gateways:
                    self._gateways[nsp] = bearer(self.engine, "gateway", nsp)
                headers = self._gateways[nsp]
        elif request.method == "POST" and request.url.path.startswith("/api/v1/region/"):
            # What a CP forwarding to this region presents (NOODNET_UPSTREAM_TOKEN).
            if "cp" not in self._gateways:
                self._gateways["cp"] = bearer(self.engine, "cp")
            headers = self._gateways["cp"]
        if "authorization" not in request.headers:
            request.headers.update(headers)
        yield request
