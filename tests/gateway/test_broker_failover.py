"""Gateways (and the CP) accept a list of brokers and fail over to the next when the current
one cannot be reached: the standby site's broker (deploy/standby.md).

The end-to-end test runs real processes: two Mosquitto brokers, a CP and two gateways given
both brokers; the first broker is killed, and every report (before, during and after) is
stored once and acked.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from gateway.settings import GatewaySettings
from noodcore.mqttconf import BrokerAddress, parse_brokers
from service.settings import ServiceSettings
from tests.support import (
    Mosquitto,
    Submitter,
    assert_exactly_once,
    cp_process,
    gateway_process,
    wait_until,
)


def test_broker_list_parsing() -> None:
    assert parse_brokers("a:1884, b ,[::1]:8883") == [
        BrokerAddress("a", 1884),
        BrokerAddress("b", 1883),
        BrokerAddress("::1", 8883),
    ]
    assert str(BrokerAddress("::1", 1)) == "[::1]:1"
    for bad, reason in [
        ("", "empty"),
        ("a:0", "port must be a number"),
        ("a:x", "port must be a number"),
        ("::1:1883", "IPv6"),
        ("[::1:1883", "missing ']'"),
        ("user@host:1", "not a host"),
    ]:
        with pytest.raises(ValueError, match=reason):
            parse_brokers(bad)


def test_settings_keep_single_broker_and_reject_bad_lists(tmp_path: Path) -> None:
    one = GatewaySettings(nsp_id="nsp-x", cp_id="cp-x", mqtt_host="h", mqtt_port=1999)
    assert one.brokers == [BrokerAddress("h", 1999)]
    two = GatewaySettings(nsp_id="nsp-x", cp_id="cp-x", mqtt_brokers="a:1,b")
    assert two.brokers == [BrokerAddress("a", 1), BrokerAddress("b", 1883)]
    with pytest.raises(ValidationError, match="mqtt_brokers: broker 'b:99999'"):
        GatewaySettings(nsp_id="nsp-x", cp_id="cp-x", mqtt_brokers="a:1,b:99999")
    with pytest.raises(ValidationError, match="mqtt_brokers: the broker list is empty"):
        ServiceSettings(mqtt_brokers=" , ")


def test_gateways_and_cp_fail_over_to_the_standby_sites_broker(tmp_path: Path) -> None:
    site_a = Mosquitto(tmp_path / "broker-a").start()
    site_b = Mosquitto(tmp_path / "broker-b").start()
    brokers = f"127.0.0.1:{site_a.port},127.0.0.1:{site_b.port}"
    fast = {"NOODNET_RECONNECT_MIN_SECONDS": "0.5", "NOODNET_RECONNECT_MAX_SECONDS": "2"}
    cp = cp_process(
        tmp_path,
        site_a,
        f"sqlite:///{tmp_path / 'cp.db'}",
        NOODNET_MQTT_BROKERS=brokers,
        NOODNET_RATE_LIMIT_PER_SECOND="0",
    )
    gws = {
        nsp: gateway_process(tmp_path, site_a, nsp, NOODNET_MQTT_BROKERS=brokers, **fast)
        for nsp in ("nsp-a", "nsp-b")
    }
    try:
        cp.start("/readyz")
        for gw in gws.values():
            gw.start()
        sub = Submitter(gws)
        sub.submit_many(20)
        wait_until(lambda: sub.acked_ids() == set(sub.accepted), 30, 0.2, "acks via site A")
        for gw in gws.values():
            assert gw.get("/api/v1/link")["broker"] == f"127.0.0.1:{site_a.port}"

        site_a.kill()  # the CP site's broker is gone
        sub.submit_many(20, start=20)  # reports keep coming in at the NSPs meanwhile

        def on_site_b() -> bool:
            return all(
                (link := gw.get("/api/v1/link"))["connected"]
                and link["broker"] == f"127.0.0.1:{site_b.port}"
                for gw in gws.values()
            )

        wait_until(on_site_b, 60, 0.2, "the gateways to fail over to site B")
        sub.submit_many(20, start=40)
        counts = assert_exactly_once(cp, sub, timeout=90, label="failover to site B")
        assert counts.sent == 60
    finally:
        for p in [*gws.values(), cp]:
            p.stop()
        site_a.stop()
        site_b.stop()
