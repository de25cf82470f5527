"""Flood benchmark (must show 4): one NSP sends at 50x its normal rate for 60 s; do the other
NSPs' reports still reach the CP's database as fast as without the flood?

    .venv/bin/python bench/flood.py                          # 10 NSPs at 1/s, 60 s per phase
    .venv/bin/python bench/flood.py --duration 20 --compare  # also a flood without rate limit
    .venv/bin/python bench/flood.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Everything is real and local: Mosquitto with the production config, password file and ACL
(``noodnet.secure_broker``), the CP service as its own process with its default rate limits,
and one authenticated MQTT 5 client per NSP. Latency is publish() -> the CP's ``ack`` for that
message arrives; the CP sends the ack only after the report is committed, so this is
publish -> durably stored (+ one broker hop back), as in bench/ingest.py.

Phases, in one run on the same machine:

1. **baseline** — the N normal NSPs, each at ``--rate`` reports/s, for ``--duration`` s.
2. **flood** — the same, plus NSP ``flood`` at ``--factor`` x ``--rate`` (default 50x).
3. (``--compare``) **flood, no limit** — phase 2 against a fresh CP with
   ``NOODNET_RATE_LIMIT_PER_SECOND=0``, to show what the limiter changes.

Printed: p50/p95/p99 of the normal NSPs per phase and ratio p99(flood) / p99(baseline); the
flooder's sent/stored counts and its throttle flag. Exit status 1 when any report of a normal
NSP was not stored (nothing may be lost) or the ratio exceeds ``--max-ratio`` (default 2).
The publishers pace themselves with sleeps: that is load generation, not synchronisation.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from noodnet.provision import PasswdFile  # noqa: E402
from noodnet.secure_broker import ProductionBroker  # noqa: E402
from schemas import make_up, parse_down, topics  # noqa: E402
from tests.support import Proc, cp_process, wait_until  # noqa: E402

CP_ID = "cp-flood"
CP_USER = "noodnet-cp"


@dataclass
class Nsp:
    nsp_id: str
    password: str
    client: mqtt.Client | None = None
    seq: int = 0
    sent: dict[str, float] = field(default_factory=dict)  # message_id -> publish time
    latency: dict[str, float] = field(default_factory=dict)  # message_id -> seconds
    lock: threading.Lock = field(default_factory=threading.Lock)

    def connect(self, port: int) -> None:
        c = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"bench-{self.nsp_id}",
            protocol=mqtt.MQTTv5,
        )
        c.username_pw_set(self.nsp_id, self.password)
        c.max_inflight_messages_set(1000)
        c.max_queued_messages_set(0)
        connected = threading.Event()

        def on_connect(cl: Any, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
            if not rc.is_failure:
                cl.subscribe(topics.down(CP_ID, self.nsp_id, "ack"), qos=1)
                connected.set()

        def on_message(_c: Any, _u: Any, msg: Any) -> None:
            now = time.monotonic()
            ack = parse_down(msg.payload)
            ref = ack.body.ref_message_id  # type: ignore[union-attr]
            with self.lock:
                t0 = self.sent.get(ref)
                if t0 is not None and ref not in self.latency:
                    self.latency[ref] = now - t0

        c.on_connect = on_connect
        c.on_message = on_message
        c.connect("127.0.0.1", port, keepalive=30)
        c.loop_start()
        if not connected.wait(10):
            raise RuntimeError(f"{self.nsp_id} could not connect")
        self.client = c

    def publish_one(self) -> None:
        assert self.client is not None
        self.seq += 1
        msg = make_up(
            "situation_report",
            self.nsp_id,
            self.seq,
            {
                "category": "water",
                "severity": "moderate",
                "location": {"address": f"Molenstraat {self.seq % 200 + 1}, Oss"},
                "description": f"Waterdruk valt weg, melding {self.seq} van {self.nsp_id}",
            },
        )
        payload = msg.model_dump_json().encode()
        with self.lock:
            self.sent[msg.message_id] = time.monotonic()
        self.client.publish(topics.up(CP_ID, self.nsp_id, "situation_report"), payload, qos=1)

    def close(self) -> None:
        if self.client is not None:
            self.client.disconnect()
            self.client.loop_stop()


def pace(nsps: list[Nsp], rate: float, duration: float, stop: threading.Event) -> None:
    """Each NSP publishes ``rate``/s, spread evenly over the interval."""
    interval = 1 / rate
    start = time.monotonic()
    tick = 0
    while not stop.is_set():
        due = start + tick * interval
        if due - start >= duration:
            return
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        for n in nsps:
            n.publish_one()
        tick += 1


@dataclass
class PhaseResult:
    name: str
    sent: int
    acked: int
    p50: float
    p95: float
    p99: float
    flood_sent: int = 0
    flood_stored: int = 0
    flood_throttle: dict[str, Any] | None = None


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def run_phase(
    name: str,
    port: int,
    cp: Proc,
    normal: list[Nsp],
    flooder: Nsp | None,
    args: argparse.Namespace,
) -> PhaseResult:
    for n in normal:
        with n.lock:
            n.sent.clear()
            n.latency.clear()
    stop = threading.Event()
    threads = [
        threading.Thread(target=pace, args=([n], args.rate, args.duration, stop), daemon=True)
        for n in normal
    ]
    if flooder is not None:
        flooder.sent.clear()
        threads.append(
            threading.Thread(
                target=pace,
                args=([flooder], args.rate * args.factor, args.duration, stop),
                daemon=True,
            )
        )
    for t in threads:
        t.start()
    for t in threads:
        t.join(args.duration + 30)
    sent = sum(len(n.sent) for n in normal)

    def acked() -> int:
        return sum(len(n.latency) for n in normal)

    with contextlib.suppress(AssertionError):
        wait_until(lambda: acked() >= sent, 120, interval=0.2, what="every normal report acked")
    latencies = [v for n in normal for v in n.latency.values()]
    result = PhaseResult(
        name,
        sent,
        acked(),
        percentile(latencies, 50),
        percentile(latencies, 95),
        percentile(latencies, 99),
    )
    if flooder is not None:
        result.flood_sent = len(flooder.sent)
        view = cp.get(f"/api/v1/nsps/{flooder.nsp_id}")
        result.flood_stored = view["message_count"]
        result.flood_throttle = view["throttle"]
    print(
        f"  {name:<16} normal sent {sent:>6}  acked {result.acked:>6}   "
        f"p50 {result.p50 * 1000:7.1f} ms  p95 {result.p95 * 1000:7.1f} ms  "
        f"p99 {result.p99 * 1000:7.1f} ms"
        + (
            f"   flooder sent {result.flood_sent} stored so far {result.flood_stored}"
            if flooder is not None
            else ""
        ),
        flush=True,
    )
    return result


@contextlib.contextmanager
def database(url: str | None, tmp: Path) -> Iterator[str]:
    if not url:
        yield f"sqlite:///{tmp / 'cp.db'}"
        return
    name = f"noodnet_flood_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def run_cp_phases(
    tmp: Path, broker: ProductionBroker, cp_password: str, args: argparse.Namespace, limited: bool
) -> list[PhaseResult]:
    nsps = [Nsp(f"nsp-{i:02d}", f"pw-{uuid.uuid4().hex}") for i in range(args.nsps)]
    flooder = Nsp("flood", f"pw-{uuid.uuid4().hex}")
    passwd = PasswdFile(broker.passwd_file)
    for n in [*nsps, flooder]:
        passwd.set(n.nsp_id, n.password)
    broker.reload()
    env = {"NOODNET_MQTT_USERNAME": CP_USER, "NOODNET_MQTT_PASSWORD": cp_password}
    if not limited:
        env["NOODNET_RATE_LIMIT_PER_SECOND"] = "0"
    results = []
    sub = tmp / ("limited" if limited else "unlimited")
    sub.mkdir()
    with database(args.database_url, sub) as url:
        cp = cp_process(sub, broker, url, cp_id=CP_ID, **env).start("/readyz")  # type: ignore[arg-type]
        try:
            time.sleep(0.5)  # let the broker's SIGHUP settle before the clients log in
            for n in [*nsps, flooder]:
                n.connect(broker.port)
            if limited:
                results.append(run_phase("baseline", broker.port, cp, nsps, None, args))
            results.append(
                run_phase(
                    "flood" if limited else "flood, no limit", broker.port, cp, nsps, flooder, args
                )
            )
        finally:
            for n in [*nsps, flooder]:
                n.close()
            cp.stop()
    return results


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--nsps", type=int, default=10, help="normal NSPs (default 10)")
    p.add_argument("--rate", type=float, default=1.0, help="reports/s per normal NSP (default 1)")
    p.add_argument("--factor", type=float, default=50, help="flooder's rate / normal (default 50)")
    p.add_argument("--duration", type=float, default=60, help="seconds per phase (default 60)")
    p.add_argument("--database-url", help="PostgreSQL server URL (a throwaway DB is made)")
    p.add_argument("--compare", action="store_true", help="also flood a CP without rate limit")
    p.add_argument("--max-ratio", type=float, default=2.0, help="fail above this p99 ratio")
    p.add_argument("--json", action="store_true", help="print the results as JSON as well")
    args = p.parse_args()

    print(
        f"flood bench: {args.nsps} NSPs at {args.rate:g}/s, flooder at {args.factor:g}x "
        f"({args.rate * args.factor:g}/s), {args.duration:g} s per phase, "
        f"{'PostgreSQL' if args.database_url else 'SQLite'}",
        flush=True,
    )
    with tempfile.TemporaryDirectory(prefix="noodnet-flood-") as d:
        tmp = Path(d)
        broker = ProductionBroker(tmp / "broker")
        cp_password = f"cp-{uuid.uuid4().hex}"
        PasswdFile(broker.passwd_file).set(CP_USER, cp_password)
        broker.start()
        try:
            results = run_cp_phases(tmp, broker, cp_password, args, limited=True)
            if args.compare:
                results += run_cp_phases(tmp, broker, cp_password, args, limited=False)
        finally:
            broker.stop()

    base, flood = results[0], results[1]
    ratio = flood.p99 / base.p99
    print()
    print(
        f"normal NSPs, publish -> stored (ack) p99: baseline {base.p99 * 1000:.1f} ms, "
        f"during flood {flood.p99 * 1000:.1f} ms, ratio {ratio:.2f} (limit {args.max_ratio:g})"
    )
    if len(results) > 2:
        free = results[2]
        print(
            f"without rate limit: p99 during flood {free.p99 * 1000:.1f} ms, "
            f"ratio {free.p99 / base.p99:.2f}"
        )
    throttle = flood.flood_throttle or {}
    print(
        f"flooder: sent {flood.flood_sent}, stored {flood.flood_stored} when the phase ended, "
        f"throttled {throttle.get('throttled_total', 0)}, deferred "
        f"{throttle.get('deferred_total', 0)}, flagged {bool(throttle)}"
    )
    lost = [r.name for r in results if r.acked < r.sent]
    if args.json:
        print(json.dumps([r.__dict__ for r in results], default=str))
    if lost:
        print(f"FAIL: normal reports not stored in phase(s) {lost}")
        return 1
    if ratio > args.max_ratio:
        print(f"FAIL: p99 ratio {ratio:.2f} > {args.max_ratio:g}")
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
