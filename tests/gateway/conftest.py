"""Fixtures for the gateway tests: a real Mosquitto per test, settings, an app client."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gateway.settings import GatewaySettings
from tests.support import Mosquitto, free_port

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
