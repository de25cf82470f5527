"""The MQTT client's own cost per received message: paho's client against ``BlockClient``.

    .venv/bin/python bench/mqtt_client.py                  # 50,000 messages, 3 rounds
    .venv/bin/python bench/mqtt_client.py --messages 20000 --rounds 5

One local Mosquitto (the production limits, ``tests.support.Mosquitto``) and a C publisher
(``mosquitto_pub -l``, QoS 1, 500-byte lines) feeding one subscriber in this process, which
does nothing but count: the CPU this process uses is the client's. Two ways to receive:

* **plain**: paho acks each message itself, on its network thread;
* **acks from a worker**: manual acks, sent in batches by another thread after the message
  was handed over, as the CP's ingest worker acks after its commit.

Each round runs paho's ``mqtt.Client`` (the baseline) and ``noodcore.mqttio.BlockClient``
(what ``make_client`` makes for the CP and the gateway), in alternating order, and the
table shows the median per client and the ratio ``BlockClient / paho`` of the medians. CPU
per message is the steadier figure on a shared machine; the rate depends on the C publisher
and the broker as well.
"""

from __future__ import annotations

import argparse
import queue
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from noodcore.mqttio import BlockClient  # noqa: E402
from tests.support import Mosquitto  # noqa: E402

TOPIC = "bench/client"
CLIENTS: dict[str, type[mqtt.Client]] = {"paho": mqtt.Client, "BlockClient": BlockClient}
MODES = ("plain", "acks from a worker")


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def trial(
    port: int, pub_bin: str, cls: type[mqtt.Client], mode: str, n: int, timeout: float
) -> tuple[float, float]:
    """Receive ``n`` messages with ``cls``; returns (CPU ms per message, messages/s)."""
    manual = mode != "plain"
    client = cls(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=f"bench-client-{cls.__name__}",
        protocol=mqtt.MQTTv5,
        manual_ack=manual,
    )
    handed: queue.SimpleQueue[int] = queue.SimpleQueue()
    counted = 0
    done = threading.Event()
    subscribed = threading.Event()

    def on_message(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        nonlocal counted
        if manual:
            handed.put(msg.mid)
            return
        counted += 1
        if counted >= n:
            done.set()

    def ack_worker() -> None:
        acked = 0
        while acked < n:
            try:
                mids = [handed.get(timeout=timeout)]
            except queue.Empty:
                return
            while True:
                try:
                    mids.append(handed.get_nowait())
                except queue.Empty:
                    break
            for mid in mids:
                client.ack(mid, 1)
            acked += len(mids)
        done.set()

    client.on_message = on_message
    client.on_subscribe = lambda *_a: subscribed.set()
    client.connect("127.0.0.1", port, clean_start=True)
    client.loop_start()
    try:
        client.subscribe(f"{TOPIC}/#", qos=1)
        if not subscribed.wait(10):
            raise RuntimeError("no SUBACK from the broker")
        if manual:
            threading.Thread(target=ack_worker, daemon=True).start()
        lines = (("x" * 500 + "\n") * n).encode()
        cpu0, t0 = cpu_seconds(), time.perf_counter()
        pub = subprocess.Popen(
            [pub_bin, "-h", "127.0.0.1", "-p", str(port), "-q", "1", "-t", f"{TOPIC}/a", "-l"],
            stdin=subprocess.PIPE,
        )
        assert pub.stdin is not None
        pub.stdin.write(lines)
        pub.stdin.close()
        if not done.wait(timeout):
            raise RuntimeError(f"{cls.__name__}, {mode}: not all {n} messages within {timeout} s")
        elapsed, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
        pub.wait(timeout)
    finally:
        client.disconnect()
        client.loop_stop()
    return cpu / n * 1000, n / elapsed


def main() -> int:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0] if __doc__ else None,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    ap.add_argument("--messages", type=int, default=50_000, help="messages per trial")
    ap.add_argument("--rounds", type=int, default=3, help="trials per client and mode")
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds allowed per trial")
    args = ap.parse_args()
    if args.messages < 1 or args.rounds < 1:
        ap.error("--messages and --rounds must be at least 1")
    pub_bin = shutil.which("mosquitto_pub")
    if pub_bin is None:
        sys.exit("mosquitto_pub is needed (Debian: apt-get install mosquitto-clients)")

    results: dict[tuple[str, str], list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory(prefix="noodnet-bench-client-") as tmp:
        broker = Mosquitto(Path(tmp) / "broker").start()
        try:
            for r in range(args.rounds):
                names = list(CLIENTS) if r % 2 == 0 else list(reversed(CLIENTS))
                for mode in MODES:
                    for name in names:
                        cpu, rate = trial(
                            broker.port, pub_bin, CLIENTS[name], mode, args.messages, args.timeout
                        )
                        results.setdefault((name, mode), []).append((cpu, rate))
                        print(
                            f"  round {r + 1}: {name:<12} {mode:<20} {cpu:.4f} ms CPU/msg "
                            f"{rate:>9,.0f} msg/s",
                            flush=True,
                        )
        finally:
            broker.stop()

    print(
        f"\nMQTT client cost per received message ({args.messages:,} QoS 1 messages of 500 B "
        f"from mosquitto_pub -l, median of {args.rounds}):"
    )
    print(f"{'mode':<22}{'client':<14}{'ms CPU/msg':>12}{'msg/s':>10}")
    for mode in MODES:
        medians = {}
        for name in CLIENTS:
            runs = results[(name, mode)]
            cpu = statistics.median(c for c, _ in runs)
            rate = statistics.median(r for _, r in runs)
            medians[name] = (cpu, rate)
            print(f"{mode:<22}{name:<14}{cpu:>12.4f}{rate:>10,.0f}")
        (base_cpu, base_rate), (cpu, rate) = medians["paho"], medians["BlockClient"]
        print(
            f"{'':<22}{'ratio':<14}{cpu / base_cpu:>12.2f}{rate / base_rate:>10.2f}"
            "   (BlockClient / paho; CPU lower is better)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
