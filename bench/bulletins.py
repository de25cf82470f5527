"""Bulletin reach benchmark: how long from "publish a new version" at the CP until the CP knows
every NSP shows it ("has everybody got the new water advice?").

    .venv/bin/python bench/bulletins.py                    # 20 gateways, 5 versions, SQLite
    .venv/bin/python bench/bulletins.py --gateways 40 --versions 10 --json

Everything real and local (127.0.0.1): Mosquitto with the production limits, the CP service as
its own process, and N gateways (``GatewayRuntime``: SQLite outbox with synchronous=FULL, paho,
MQTT 5) in this process.

Two phases on the same broker, same N, same payload size:

1. **raw** — baseline: a plain paho client publishes a retained QoS 1 message of the same size
   as a bulletin to N plain paho subscribers; time until all N received it. This is one broker
   hop fan-out, nothing stored.
2. **reach** — ``POST /api/v1/bulletins/{id}/versions`` at the CP; time until
   ``GET .../reach`` says ``all_current`` for that version: the CP committed and published it,
   every gateway stored it and committed a receipt in its outbox, published the receipt, and
   the CP stored all N receipts.

Prints per-phase median and max over the rounds, and the ratio reach / raw.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from gateway.runtime import GatewayRuntime  # noqa: E402
from gateway.settings import GatewaySettings  # noqa: E402
from tests.support import Mosquitto, cp_process, wait_until  # noqa: E402

CP_ID = "cp-bench"


def texts(round_no: int) -> list[dict[str, str]]:
    return [
        {
            "language": "nl",
            "headline": f"Kookadvies Oss-Noord (ronde {round_no})",
            "text": "Door de stroomstoring kan het leidingwater vervuild zijn. " * 4,
            "instruction": "Kook water 3 minuten voordat u het drinkt.",
            "area": "Oss-Noord en Berghem",
        },
        {
            "language": "en",
            "headline": f"Boil water advice (round {round_no})",
            "text": "Because of the power cut tap water may be contaminated. " * 4,
        },
    ]


class RawFanout:
    """N plain subscribers on one topic; counts arrivals per round."""

    def __init__(self, port: int, n: int) -> None:
        self.topic = "bench/raw/bulletin"
        self.lock = threading.Lock()
        self.arrived: dict[str, int] = {}
        self.done = threading.Event()
        self.expected = n
        self.clients: list[mqtt.Client] = []
        subscribed = threading.Semaphore(0)
        for i in range(n):
            c = mqtt.Client(
                callback_api_version=CallbackAPIVersion.VERSION2,
                client_id=f"raw-sub-{i}",
                protocol=mqtt.MQTTv5,
            )
            c.on_message = self._on_message
            c.on_subscribe = lambda *_a: subscribed.release()
            c.connect("127.0.0.1", port)
            c.loop_start()
            c.subscribe(self.topic, qos=1)
            self.clients.append(c)
        for _ in range(n):
            assert subscribed.acquire(timeout=10), "raw subscriber did not subscribe"
        self.pub = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id="raw-pub",
            protocol=mqtt.MQTTv5,
        )
        self.pub.connect("127.0.0.1", port)
        self.pub.loop_start()

    def _on_message(self, _c: Any, _u: Any, msg: mqtt.MQTTMessage) -> None:
        key = bytes(msg.payload[:16]).decode()
        with self.lock:
            self.arrived[key] = self.arrived.get(key, 0) + 1
            if self.arrived[key] == self.expected:
                self.done.set()

    def round(self, payload: bytes, round_no: int) -> float:
        self.done.clear()
        tag = f"{round_no:016d}".encode()
        t0 = time.perf_counter()
        self.pub.publish(self.topic, tag + payload, qos=1, retain=True)
        assert self.done.wait(30), "raw fan-out incomplete"
        return time.perf_counter() - t0

    def close(self) -> None:
        for c in [*self.clients, self.pub]:
            c.disconnect()
            c.loop_stop()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--gateways", type=int, default=20)
    ap.add_argument("--versions", type=int, default=5, help="rounds (bulletin versions)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(prefix="noodnet-bench-") as tmp_name:
        tmp = Path(tmp_name)
        broker = Mosquitto(tmp / "broker").start()
        cp = cp_process(tmp, broker, f"sqlite:///{tmp / 'cp.db'}", cp_id=CP_ID).start()
        gateways: list[GatewayRuntime] = []
        raw: RawFanout | None = None
        try:
            wait_until(lambda: cp.get("/readyz")["status"] == "ready", 20, what="CP ready")
            for i in range(args.gateways):
                rt = GatewayRuntime.open(
                    GatewaySettings(
                        nsp_id=f"nsp-{i:03d}",
                        cp_id=CP_ID,
                        db_path=tmp / f"gw-{i}.db",
                        mqtt_port=broker.port,
                        heartbeat_seconds=3600,
                    )
                )
                rt.start()
                gateways.append(rt)
            wait_until(lambda: all(g.publisher.connected for g in gateways), 30, what="gateways")
            # Every gateway announced itself, so the CP targets all of them.
            wait_until(
                lambda: len(cp.get("/api/v1/nsps")) == args.gateways, 30, what="CP knows NSPs"
            )
            r = httpx.post(
                cp.url + "/api/v1/bulletins",
                json={"bulletin_id": "bench", "texts": texts(0)},
                timeout=10,
            )
            r.raise_for_status()
            size = len(json.dumps(r.json()["current"]))

            def all_current(version: int) -> bool:
                reach = cp.get("/api/v1/bulletins/bench/reach")
                return bool(reach["current_version"] == version and reach["summary"]["all_current"])

            wait_until(lambda: all_current(1), 60, interval=0.01, what="warm-up round")

            reach_times = []
            for n in range(2, args.versions + 2):
                t0 = time.perf_counter()
                httpx.post(
                    cp.url + "/api/v1/bulletins/bench/versions",
                    json={"texts": texts(n)},
                    timeout=10,
                ).raise_for_status()
                wait_until(lambda n=n: all_current(n), 60, interval=0.01, what=f"round {n}")
                reach_times.append(time.perf_counter() - t0)

            raw = RawFanout(broker.port, args.gateways)
            payload = b"x" * size
            raw.round(payload, 0)  # warm-up
            raw_times = [raw.round(payload, n) for n in range(1, args.versions + 1)]
        finally:
            if raw is not None:
                raw.close()
            for g in gateways:
                g.stop()
            cp.stop()
            broker.stop()

    result = {
        "gateways": args.gateways,
        "rounds": args.versions,
        "payload_bytes": size,
        "raw_fanout_ms": {
            "median": round(statistics.median(raw_times) * 1000, 1),
            "max": round(max(raw_times) * 1000, 1),
        },
        "reach_ms": {
            "median": round(statistics.median(reach_times) * 1000, 1),
            "max": round(max(reach_times) * 1000, 1),
        },
        "ratio_median": round(statistics.median(reach_times) / statistics.median(raw_times), 1),
    }
    if args.json:
        print(json.dumps(result))
    else:
        print(f"{args.gateways} gateways, {args.versions} rounds, bulletin ~{size} bytes")
        print(
            f"raw   retained QoS 1 fan-out to all subscribers: median "
            f"{result['raw_fanout_ms']['median']} ms, max {result['raw_fanout_ms']['max']} ms"
        )
        print(
            f"reach new version -> CP knows every NSP shows it: median "
            f"{result['reach_ms']['median']} ms, max {result['reach_ms']['max']} ms"
        )
        print(f"ratio reach/raw (median): {result['ratio_median']}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
