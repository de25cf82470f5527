"""The test brokers (noodnet/broker.py) survive the free-port race: a port picked for
Mosquitto and taken by another process before Mosquitto binds it used to leave a dead broker
behind a port that answered (the other process's), or fail the run with "address already in
use". Now the first start moves to a fresh port; a port the caller chose never moves.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

import noodnet.broker as broker_module
from noodnet.broker import LocalBroker
from tests.conftest import test_db_kind as db_kind

pytestmark = pytest.mark.skipif(
    db_kind() == "postgres", reason="no database involved: the SQLite pass runs it"
)


def test_a_broker_whose_port_was_taken_moves_to_a_free_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        taken = squatter.getsockname()[1]
        picks = iter([taken])
        real = broker_module.free_port
        # The race, made certain: the first port picked is the one another process holds.
        monkeypatch.setattr(broker_module, "free_port", lambda: next(picks, None) or real())
        b = LocalBroker(tmp_path / "b")
        assert b.port == taken
        try:
            b.start(timeout=5)
            assert b.port != taken and b.proc is not None and b.proc.poll() is None
            assert f"listener {b.port} 127.0.0.1" in b.conf.read_text()
            b.kill()
            b.start(timeout=5)  # a restart keeps the port it moved to
            assert f"Opening ipv4 listen socket on port {b.port}" in b.log()
        finally:
            b.stop()
        # A port the caller chose is not moved: a clear error instead.
        fixed = LocalBroker(tmp_path / "fixed", port=taken)
        with pytest.raises(RuntimeError, match="Address already in use"):
            fixed.start(timeout=5)
