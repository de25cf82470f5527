"""Fixtures for the gateway tests: a real Mosquitto per test, settings, an app client."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from gateway.settings import GatewaySettings
from tests.support import Mosquitto, MosquittoFactory, free_port


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
