"""The HTTP server limits (noodcore/httpserve.py) in a real gateway process under uvicorn, the
same runner the CP service uses: a client that trickles its body gets 408 while others are
served, one that trickles its headers is disconnected, and beyond the concurrency limit the
server answers 503 at once and recovers when the slow connections are gone.

Raw sockets, because an HTTP client library would not send half a request. The gateway
process runs with short limits (1 s) so the test stays fast; the defaults are checked below.
Runs on the SQLite pass only: no CP database is involved.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gateway.settings import GatewaySettings
from service.settings import ServiceSettings
from tests.conftest import test_db_kind as db_kind
from tests.support import Mosquitto, Proc, gateway_process, wait_until

pytestmark = pytest.mark.skipif(
    db_kind() == "postgres", reason="no CP database involved: the SQLite pass runs it"
)
LIMIT = 8


@pytest.fixture
def gw(tmp_path: Path, broker: Mosquitto) -> Iterator[Proc]:
    proc = gateway_process(
        tmp_path,
        broker,
        "nsp-h",
        NOODNET_HTTP_BODY_TIMEOUT_SECONDS="1",
        NOODNET_HTTP_HEADER_TIMEOUT_SECONDS="1",
        NOODNET_HTTP_LIMIT_CONCURRENCY=str(LIMIT),
    ).start()
    try:
        yield proc
    finally:
        proc.stop()


def _connect(port: int) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    return s


def _read_all(s: socket.socket) -> bytes:
    """Everything until the server closes the connection (recv returns b"")."""
    chunks = []
    while chunk := s.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def test_a_slow_body_gets_408_and_does_not_hold_up_others(gw: Proc) -> None:
    s = _connect(gw.http_port)
    try:
        s.sendall(
            b"POST /api/v1/reports HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Authorization: Bearer " + (gw.token or "").encode() + b"\r\n"
            b"Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
            b'{"kind": "help_'
        )
        started = time.monotonic()
        # While that request waits for its body, everyone else is served.
        for _ in range(5):
            assert httpx.get(gw.url + "/healthz", timeout=5).status_code == 200
        answer = _read_all(s)
        elapsed = time.monotonic() - started
    finally:
        s.close()
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert b"request body not received within 1 seconds" in answer
    assert elapsed < 5, elapsed
    # Nothing half-received became a report.
    assert gw.get("/api/v1/reports") == []


def test_a_connection_that_trickles_its_headers_is_closed(gw: Proc) -> None:
    s = _connect(gw.http_port)
    try:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        started = time.monotonic()
        assert _read_all(s) == b""  # closed without an answer: no request to answer
        assert time.monotonic() - started < 5
    finally:
        s.close()


def test_beyond_the_concurrency_limit_the_server_answers_503_and_recovers(gw: Proc) -> None:
    idle = [_connect(gw.http_port) for _ in range(LIMIT)]
    try:
        # Every slot is held by a connection that sends nothing: refused at once, not queued.
        wait_until(
            lambda: httpx.get(gw.url + "/healthz", timeout=5).status_code == 503,
            5,
            what="503 at the limit",
        )
        # The head timeout frees the slots; the server serves again by itself.
        for s in idle:
            assert _read_all(s) == b""
        wait_until(
            lambda: httpx.get(gw.url + "/healthz", timeout=5).status_code == 200,
            5,
            what="served again",
        )
    finally:
        for s in idle:
            s.close()


def test_the_limits_are_on_by_default(tmp_path: Path) -> None:
    for settings in (
        ServiceSettings(),
        GatewaySettings(nsp_id="nsp-d", cp_id="cp-d", db_path=tmp_path / "g.db"),
    ):
        assert settings.http_limit_concurrency == 200
        assert settings.http_body_timeout_seconds == 30
        assert settings.http_header_timeout_seconds == 10
        assert settings.http_keep_alive_seconds == 5
        assert settings.http_max_header_bytes == 16 * 1024
