"""Helpers for tests and benches with several CP processes: a publisher playing many gateways
over one MQTT 5 connection (counting the CP's acks), CP processes in HA / shared mode, and
counts read straight from the CP's database."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import sqlalchemy as sa
from paho.mqtt.enums import CallbackAPIVersion

from schemas import make_up, topics
from tests.support import Mosquitto, Proc, cp_process, wait_until

# No admission limit: the publisher below does not resend what the CP defers (a gateway does).
FAST = {
    "NOODNET_RATE_LIMIT_PER_SECOND": "0",
    "NOODNET_UPSTREAM_RETRY_BASE_SECONDS": "0.2",
    "NOODNET_UPSTREAM_RETRY_MAX_SECONDS": "1",
    "NOODNET_UPSTREAM_POLL_SECONDS": "0.2",
    "NOODNET_HA_CHECK_SECONDS": "0.5",
}


class Gateways:
    """Publishes upward messages for many NSPs (QoS 1) and collects the CP's acks."""

    def __init__(self, port: int, cp_id: str, name: str = "test-gateways") -> None:
        self.cp_id = cp_id
        self.acked: dict[str, int] = {}  # message id -> acks received
        self.duplicate_acks = 0
        self._lock = threading.Lock()
        self._connected = threading.Event()
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=name,
            protocol=mqtt.MQTTv5,
        )
        client.max_inflight_messages_set(200)
        client.max_queued_messages_set(0)

        def on_connect(c: Any, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
            if not rc.is_failure:
                c.subscribe(f"{topics.ROOT}/{cp_id}/nsp/+/down/ack", qos=1)
                self._connected.set()

        def on_message(_c: Any, _u: Any, msg: Any) -> None:
            body = json.loads(msg.payload)["body"]
            with self._lock:
                mid = body["ref_message_id"]
                self.acked[mid] = self.acked.get(mid, 0) + 1
                if body.get("duplicate"):
                    self.duplicate_acks += 1

        client.on_connect = on_connect
        client.on_message = on_message
        client.connect("127.0.0.1", port)
        client.loop_start()
        self.client = client
        assert self._connected.wait(10), "test publisher could not connect"

    def publish(self, messages: Iterable[Any], rate: float | None = None) -> None:
        """Publish ``messages`` (envelopes) at about ``rate`` per second (None: at once)."""
        start = time.monotonic()
        last = None
        for i, m in enumerate(messages):
            payload = m.model_dump_json() if hasattr(m, "model_dump_json") else json.dumps(m)
            last = self.client.publish(topics.up(self.cp_id, m.nsp_id, m.kind), payload, qos=1)
            if rate:
                ahead = start + (i + 1) / rate - time.monotonic()
                if ahead > 0:
                    time.sleep(ahead)  # pacing the load generator, not synchronisation
        if last is not None:
            last.wait_for_publish(30)

    def acked_ids(self) -> set[str]:
        with self._lock:
            return set(self.acked)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def help_request(nsp: str, seq: int, place: int, urgency: str = "P3", text: str = "") -> Any:
    """A help request at one of a few well separated places (place ``k``: its own street,
    town and coordinates), so reports at one place group and other places never do."""
    lat, lon = 51.0 + place * 0.05, 5.0 + place * 0.05
    return make_up(
        "help_request",
        nsp,
        seq,
        {
            "category": "medical",
            "urgency": urgency,
            "location": {
                "address": f"Dorpsstraat {place + 1}, Plaats{place}",
                "lat": lat,
                "lon": lon,
            },
            "people_involved": 1,
            "description": text or f"Bewoner onwel aan de Dorpsstraat {place + 1}",
        },
    )


def workload(n: int, nsps: int = 10, places: int = 40, p1_every: int = 0) -> list[Any]:
    """``n`` help requests from ``nsps`` NSPs (seq per NSP), spread over ``places``."""
    seqs: dict[str, int] = {}
    out = []
    for i in range(n):
        nsp = f"nsp-{i % nsps:02d}"
        seqs[nsp] = seqs.get(nsp, 0) + 1
        urgency = "P1" if p1_every and i % p1_every == 0 else "P3"
        out.append(help_request(nsp, seqs[nsp], (i * 7) % places, urgency))
    return out


def ha_cp(
    tmp: Path, broker: Mosquitto, database_url: str, cp_id: str, instance: str, **env: str
) -> Proc:
    return cp_process(
        tmp,
        broker,
        database_url,
        cp_id=cp_id,
        NOODNET_INSTANCE_ID=instance,
        **{**FAST, **env},
    )


def readyz(cp: Proc) -> dict[str, Any]:
    import httpx

    body: dict[str, Any] = httpx.get(cp.url + "/readyz", timeout=5).json()
    return body


def wait_role(cp: Proc, role: str, timeout: float = 30) -> dict[str, Any]:
    result: dict[str, Any] = wait_until(
        lambda: (r := readyz(cp)).get("role") == role and r, timeout, 0.05, f"role {role}"
    )
    return result


class Db:
    """Counts read from the CP's database."""

    def __init__(self, url: str) -> None:
        self.engine = sa.create_engine(url)

    def scalar(self, sql: str) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(sa.text(sql)).scalar()

    def message_ids(self) -> list[str]:
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(sa.text("SELECT message_id FROM message"))]

    def incidents(self) -> set[frozenset[str]]:
        """The grouping: each item as the set of its reports' message ids."""
        groups: dict[int, set[str]] = {}
        with self.engine.connect() as conn:
            for item, mid in conn.execute(sa.text("SELECT item_id, message_id FROM triage_report")):
                groups.setdefault(item, set()).add(mid)
        return {frozenset(g) for g in groups.values()}

    def close(self) -> None:
        self.engine.dispose()
