"""Fixtures for the gateway tests: a real Mosquitto per test, settings, an app client."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gateway.settings import GatewaySettings

MOSQUITTO = Path("/usr/sbin/mosquitto")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Mosquitto:
    """Mosquitto on 127.0.0.1 with persistence in ``workdir``; restartable on the same port."""

    def __init__(self, workdir: Path, port: int | None = None, extra_conf: str = "") -> None:
        if not MOSQUITTO.exists():
            pytest.skip(f"mosquitto not installed at {MOSQUITTO}")
        self.workdir = workdir
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        workdir.mkdir(parents=True, exist_ok=True)
        self.conf = workdir / "mosquitto.conf"
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {workdir}/\n"
            "max_queued_messages 1000000\n"
            "max_inflight_messages 100\n"
            f"log_dest file {workdir}/mosquitto.log\n"
            # Started as root, mosquitto would switch to user 'mosquitto', which cannot
            # write the persistence and log files in the (0700) pytest tmp dir.
            f"{'user root' if os.geteuid() == 0 else ''}\n"
            "log_type all\n" + extra_conf
        )

    def start(self) -> Mosquitto:
        self.proc = subprocess.Popen(
            [str(MOSQUITTO), "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        deadline = time.monotonic() + 10
        while not _listening(self.port):
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.proc.returncode}: {self.log()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"mosquitto did not listen on {self.port}: {self.log()}")
            time.sleep(0.02)  # polling for the port, not synchronising on a guess
        return self

    def kill(self) -> None:
        """SIGKILL, as a power cut would."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
            self.proc = None

    def log(self) -> str:
        path = self.workdir / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""


MosquittoFactory = Callable[..., Mosquitto]


@pytest.fixture
def mosquitto_factory(tmp_path: Path) -> Iterator[MosquittoFactory]:
    """Build (not start) brokers: ``factory(extra_conf="...", port=None)``; stopped after."""
    brokers: list[Mosquitto] = []

    def make(extra_conf: str = "", port: int | None = None) -> Mosquitto:
        b = Mosquitto(tmp_path / f"broker{len(brokers)}", port=port, extra_conf=extra_conf)
        brokers.append(b)
        return b

    yield make
    for b in brokers:
        b.stop()


@pytest.fixture
def mosquitto(mosquitto_factory: MosquittoFactory) -> Mosquitto:
    return mosquitto_factory().start()


@pytest.fixture
def settings_factory(tmp_path: Path) -> Callable[..., GatewaySettings]:
    """Gateway settings for tests; no broker listens on the default port unless one is given."""

    def make(**overrides: object) -> GatewaySettings:
        values: dict[str, object] = {
            "nsp_id": "nsp-test",
            "cp_id": "cp-test",
            "db_path": tmp_path / "gw.db",
            "mqtt_port": free_port(),
            "heartbeat_seconds": 3600,
            "resend_after_seconds": 30,
            "reconnect_min_seconds": 1,
            "reconnect_max_seconds": 1,
            "mqtt_keepalive": 5,
        }
        values.update(overrides)
        return GatewaySettings(**values)  # type: ignore[arg-type]

    return make
