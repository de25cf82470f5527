"""A local MQTT broker for the demo and the tests: Mosquitto when installed.

The config includes ``deploy/mosquitto/limits.conf`` so the demo and the tests run with the
queue limits production runs with.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMITS = ROOT / "deploy" / "mosquitto" / "limits.conf"


def stop_process(proc: subprocess.Popen[bytes] | None, grace: float = 10) -> None:
    """SIGTERM, then SIGKILL if it has not ended after ``grace`` seconds."""
    if proc is not None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def kill_process(proc: subprocess.Popen[bytes] | None) -> None:
    """SIGKILL, as a power cut would."""
    if proc is not None:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)


def find_mosquitto() -> str | None:
    for candidate in (
        shutil.which("mosquitto"),
        "/usr/sbin/mosquitto",
        "/usr/local/sbin/mosquitto",
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


class LocalBroker:
    """Mosquitto on 127.0.0.1 with persistence in ``workdir``; can be killed and restarted."""

    def __init__(self, workdir: Path, port: int | None = None, extra_conf: str = "") -> None:
        self.workdir = workdir
        self.port = port or free_port()
        # A port picked here may be taken by another process before mosquitto binds it; then
        # the first start moves to a new one (a port the caller chose never moves).
        self._port_may_move = port is None
        self.proc: subprocess.Popen[bytes] | None = None
        binary = find_mosquitto()
        if binary is None:
            raise RuntimeError("mosquitto is not installed (Debian: apt-get install mosquitto)")
        self.binary = binary
        workdir.mkdir(parents=True, exist_ok=True)
        self.conf = workdir / "mosquitto.conf"
        limits = LIMITS.read_text() if LIMITS.exists() else ""
        self.conf.write_text(
            f"listener {self.port} 127.0.0.1\n"
            "allow_anonymous true\n"
            "persistence true\n"
            f"persistence_location {workdir}/\n"
            "autosave_interval 1\n"
            f"log_dest file {workdir}/mosquitto.log\n"
            # Started as root, mosquitto switches to user 'mosquitto', which cannot write
            # persistence and log files in a private (0700) directory: persistence would
            # silently be off.
            + ("user root\n" if os.geteuid() == 0 else "")
            + limits
            + extra_conf
        )

    def start(self, timeout: float = 10) -> LocalBroker:
        for _attempt in range(5):
            log_start = len(self.log())
            self.proc = subprocess.Popen(
                [self.binary, "-c", str(self.conf)],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + timeout
            # Listening is not enough: another process may hold the port. Mosquitto logs
            # "... running" once all its listeners are open.
            while not (port_open(self.port) and " running" in self.log()[log_start:]):
                if self.proc.poll() is not None:
                    break
                if time.monotonic() > deadline:
                    raise RuntimeError(f"mosquitto did not listen on {self.port} within {timeout}s")
                time.sleep(0.02)
            else:
                self._port_may_move = False
                return self
            output = self.log()[log_start:]
            if "Address already in use" in output and self._port_may_move:
                self._move_ports()
                continue
            raise RuntimeError(f"mosquitto exited ({self.proc.returncode}): {output[-2000:]}")
        raise RuntimeError("mosquitto found no free port in 5 attempts")

    def _move_ports(self) -> None:
        """Listen on fresh ports: every ``listener <port>`` line of the config is rewritten."""
        text = self.conf.read_text()
        for attr in ("port", "tls_port"):
            old = getattr(self, attr, None)
            if old is not None:
                new = free_port()
                text = text.replace(f"listener {old} ", f"listener {new} ")
                setattr(self, attr, new)
        self.conf.write_text(text)

    def log(self) -> str:
        path = self.workdir / "mosquitto.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: what a power cut does to the broker."""
        kill_process(self.proc)
        self.proc = None

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None


class EmbeddedBroker:
    """The demo's fallback when Mosquitto is not installed: amqtt (pure Python, MQTT 3.1.1).

    Never used by the tests of delivery guarantees: amqtt lost messages after a crash and
    leaked retained messages when we measured it.
    """

    protocol = "3.1.1"

    def __init__(self, workdir: Path, port: int | None = None) -> None:
        self.workdir = workdir
        self.port = port or free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        workdir.mkdir(parents=True, exist_ok=True)
        self.conf = workdir / "amqtt.yaml"
        self.conf.write_text(
            "listeners:\n"
            "  default:\n"
            "    type: tcp\n"
            f"    bind: 127.0.0.1:{self.port}\n"
            "plugins:\n"
            "  amqtt.plugins.authentication.AnonymousAuthPlugin:\n"
            "    allow_anonymous: true\n"
        )

    def start(self, timeout: float = 20) -> EmbeddedBroker:
        binary = Path(sys.executable).parent / "amqtt"
        if not binary.exists():
            raise RuntimeError("neither mosquitto nor amqtt is installed (pip install amqtt)")
        with (self.workdir / "amqtt.log").open("ab") as log:
            self.proc = subprocess.Popen(
                [str(binary), "-c", str(self.conf)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while not port_open(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"amqtt did not start; see {self.workdir / 'amqtt.log'}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None
