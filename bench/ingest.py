"""Ingest benchmark: how many reports per second does a CP store durably, and at what latency?

    .venv/bin/python bench/ingest.py                       # 20,000 msgs, 10 gateways, SQLite
    .venv/bin/python bench/ingest.py --messages 5000 --gateways 4 --json
    .venv/bin/python bench/ingest.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Everything is real and local (127.0.0.1 only): a Mosquitto broker started on a free port with
the production limits (``deploy/mosquitto/limits.conf``, via ``tests.support.Mosquitto``) and
the CP service as its own process (``python -m noodnet cp`` via ``tests.support.cp_process``).

Two phases run on the same broker with the same pre-built payloads and publisher count:

1. **raw** — baseline: the simulated gateways publish QoS 1 to a topic the CP does not
   subscribe to; one plain paho subscriber (QoS 1, MQTT 5) receives them. Latency is
   publish() → subscriber on_message. This is what broker + paho alone can do here.
2. **cp** — the gateways publish on their real up topics; the CP validates, stores
   (committed, ``synchronous=FULL`` on SQLite) and then publishes an ``ack`` on
   ``.../nsp/{nsp}/down/ack``. Latency is publish() → ack received, i.e. publish → durably
   stored (+ one broker hop back). Rate = N / (first publish → last ack).

Flow control: each gateway keeps at most ``--window`` messages outstanding (published, not
yet received by the subscriber / acked by the CP), like a gateway flushing its outbox. At
saturation latency is then mostly queueing (Little's law: latency ≈ outstanding / rate); use
``--rate`` to measure latency at a given offered load instead.

At the end the database is queried directly: exactly the N published message ids must be
stored, each once, with gap-free sequences and no dead letters. Exit status 1 when not.
With a PostgreSQL URL the bench creates a throwaway database on that server and drops it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import multiprocessing as mp
import os
import queue
import random
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import paho.mqtt.client as mqtt  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from paho.mqtt.enums import CallbackAPIVersion  # noqa: E402

from schemas import make_up, topics, utcnow  # noqa: E402
from service.triage.grouping import PLACED_KINDS  # noqa: E402
from tests.support import Mosquitto, cp_process, wait_grouping_running, wait_until  # noqa: E402

HOST = "127.0.0.1"
CP_ID = "cp-bench"
RAW_ROOT = "bench/raw"  # outside noodnet/v1/..., so the CP never sees baseline traffic
RAW_C_ROOT = "bench/rawc"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"

# --------------------------------------------------------------------------- payloads

_STREETS = [
    "Kerkstraat",
    "Molenstraat",
    "Hoogstraat",
    "Stationsweg",
    "Schoolstraat",
    "Dorpsstraat",
    "Julianastraat",
    "Wilhelminalaan",
    "Beatrixstraat",
    "Parallelweg",
    "Raadhuisplein",
    "Kruisstraat",
    "Nieuwstraat",
    "Eikenlaan",
    "Berkenlaan",
    "Lindenlaan",
]
_HELP = [
    ("medical", "Oudere man met pijn op de borst, kortademig. Buurvrouw is bij hem."),
    ("medical", "Vrouw gevallen van de trap, heup mogelijk gebroken, kan niet opstaan."),
    ("medical", "Diabetespatiënt heeft geen insuline meer, koelkast werkt niet sinds gisteren."),
    ("medical", "Thuisbeademing: accu van het apparaat is bijna leeg, geen stroom in de wijk."),
    ("fire", "Rookontwikkeling uit schuur achter woning, mogelijk aggregaat in brand."),
    ("fire", "Kaarsen hebben gordijn in brand gezet, bewoners zijn buiten, vuur nog niet uit."),
    ("crime", "Inbraak in supermarkt, groep jongeren neemt water en voedsel mee."),
    ("crime", "Dieselroof uit aggregaat van de huisartsenpost gemeld door beheerder."),
    ("vulnerable_person", "Alleenstaande vrouw (89) reageert niet, ramen beslagen, deur op slot."),
    ("vulnerable_person", "Bewoner met dementie dwaalt op straat, weet niet waar hij woont."),
    ("missing_person", "Kind (7) sinds 14:00 vermist na spelen bij de speeltuin."),
    ("other", "Lift vast in flat met twee bewoners erin, alarmknop werkt niet."),
]
_SITUATION = [
    ("infrastructure", "Boom over de weg, doorgang voor hulpdiensten geblokkeerd."),
    ("power", "Hele wijk zonder stroom, verkeerslichten op kruispunt uit."),
    ("water", "Waterdruk valt weg in hoge flats boven de vierde verdieping."),
    ("health", "Apotheek dicht, veel vragen naar medicijnen voor chronisch zieken."),
    ("safety", "Geen straatverlichting, bewoners voelen zich 's avonds onveilig."),
    ("fire", "Veel mensen stoken binnen met barbecues en kachels, risico op CO."),
    ("public_mood", "Onrust bij de supermarkt over lege schappen, lange rij buiten."),
    ("rumour", "Gerucht dat het kraanwater niet meer drinkbaar is, mensen hamsteren flessen."),
    ("information_need", "Bewoners vragen wanneer de stroom terugkomt en waar ze kunnen laden."),
    ("other", "Zwerfhonden in het park, mogelijk achtergelaten door geëvacueerde eigenaren."),
]
_SEVERITIES = ["low", "moderate", "high", "critical"]
_URGENCIES = ["P1", "P2", "P3", "P4"]


def _location(rng: random.Random) -> dict[str, Any]:
    # Around Oss (51.765 N, 5.518 E), a few km spread.
    return {
        "address": f"{rng.choice(_STREETS)} {rng.randint(1, 180)}, Oss",
        "lat": round(51.765 + rng.uniform(-0.03, 0.03), 6),
        "lon": round(5.518 + rng.uniform(-0.05, 0.05), 6),
    }


def make_body(rng: random.Random) -> tuple[str, dict[str, Any]]:
    """A realistic body: 40% help requests, 60% situation reports."""
    if rng.random() < 0.4:
        category, text = rng.choice(_HELP)
        people = rng.randint(1, 6)
        body: dict[str, Any] = {
            "category": category,
            "urgency": rng.choices(_URGENCIES, weights=[2, 3, 3, 1])[0],
            "location": _location(rng),
            "people_involved": people,
            "vulnerable_people": rng.randint(0, people),
            "description": text,
            "reporter_name": rng.choice([None, "J. de Vries", "A. Yilmaz", "M. Jansen"]),
            "callback": rng.choice([None, "blijft bij het noodsteunpunt", "buurman op nr. 14"]),
        }
        return "help_request", body
    category, text = rng.choice(_SITUATION)
    body = {
        "category": category,
        "severity": rng.choice(_SEVERITIES),
        "description": text,
        "observed_at": (utcnow() - timedelta(minutes=rng.randint(0, 120))).isoformat(),
        "people_affected": rng.choice([None, rng.randint(1, 5000)]),
    }
    if category not in ("rumour", "information_need", "public_mood"):
        body["location"] = _location(rng)
    return "situation_report", body


@dataclass
class Outgoing:
    message_id: str
    kind: str
    payload: bytes


def build_payloads(nsp_ids: list[str], total: int, seed: int) -> list[list[Outgoing]]:
    """Per gateway, its messages with gap-free seq 1..n, built and validated via make_up."""
    rng = random.Random(seed)
    per = [
        total // len(nsp_ids) + (1 if i < total % len(nsp_ids) else 0) for i in range(len(nsp_ids))
    ]
    out: list[list[Outgoing]] = []
    for nsp_id, n in zip(nsp_ids, per, strict=True):
        msgs = []
        for seq in range(1, n + 1):
            kind, body = make_body(rng)
            m = make_up(kind, nsp_id, seq, body)
            msgs.append(Outgoing(m.message_id, kind, m.model_dump_json().encode()))
        out.append(msgs)
    return out


# --------------------------------------------------------------------------- clients


def new_client(client_id: str) -> mqtt.Client:
    return mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        protocol=mqtt.MQTTv5,
    )


def connect_and_subscribe(client: mqtt.Client, port: int, filters: list[str]) -> None:
    """Connect (clean start), start the network thread, wait for CONNACK and every SUBACK."""
    connected = threading.Event()
    subscribed = threading.Event()
    pending: set[int] = set()
    lock = threading.Lock()

    def on_connect(c: mqtt.Client, _u: Any, _f: Any, rc: Any, _p: Any) -> None:
        if not rc.is_failure:
            connected.set()

    def on_subscribe(_c: mqtt.Client, _u: Any, mid: int, rcs: Any, _p: Any) -> None:
        if any(rc.is_failure for rc in rcs):
            return
        with lock:
            pending.discard(mid)
            if not pending:
                subscribed.set()

    client.on_connect = on_connect
    client.on_subscribe = on_subscribe
    client.connect(HOST, port, keepalive=60, clean_start=True)
    client.loop_start()
    if not connected.wait(10):
        raise RuntimeError(f"client {client._client_id!r}: no CONNACK from broker")
    if not filters:
        return
    with lock:
        for f in filters:
            rc, mid = client.subscribe(f, qos=1)
            if rc != mqtt.MQTT_ERR_SUCCESS or mid is None:
                raise RuntimeError(f"subscribe {f} failed: {mqtt.error_string(rc)}")
            pending.add(mid)
    if not subscribed.wait(10):
        raise RuntimeError(f"no SUBACK for {filters}")


def close(client: mqtt.Client) -> None:
    with contextlib.suppress(Exception):
        client.disconnect()
    with contextlib.suppress(Exception):
        client.loop_stop()


# --------------------------------------------------------------------------- one phase
#
# Each simulated gateway runs in its own process (as on a real NSP it is its own device), so
# the publishers do not share one GIL with each other or with the raw subscriber. Times are
# time.perf_counter() = CLOCK_MONOTONIC, which is the same clock in every process.


@dataclass
class WorkerSpec:
    phase: str  # "raw" | "cp"
    index: int
    nsp_id: str
    messages: list[Outgoing]
    topics: list[str]
    filters: list[str]  # what the gateway subscribes to (its acks); empty for raw
    window: int
    interval: float  # seconds between this gateway's publishes; 0 = unpaced
    offset: float  # stagger of the first publish when paced
    port: int
    timeout: float
    status_topic: str | None = None  # cp phase: where the gateway announces its presence
    batch_acks: bool = True


@dataclass
class WorkerResult:
    index: int
    published: dict[str, float] = field(default_factory=dict)
    done: dict[str, float] = field(default_factory=dict)
    # cp phase: the CP's receive time of each message (the ack's stored_at), as perf_counter
    cp_received: dict[str, float] = field(default_factory=dict)
    duplicates: int = 0
    publish_errors: int = 0
    error: str | None = None


@dataclass
class Shared:
    """Cross-process plumbing of one phase."""

    ready: Any  # mp.Queue of (index, error | None)
    results: Any  # mp.Queue of WorkerResult
    start: Any  # mp.Event
    start_at: Any  # mp.Value("d")
    stop: Any  # mp.Event
    done_counts: Any  # mp.Array("q"), one slot per gateway, written by its worker (cp)
    sems: list[Any]  # raw: mp.Semaphore per gateway, released by the subscriber


def gateway_worker(spec: WorkerSpec, sh: Shared) -> None:
    """One simulated gateway: connect, publish its messages within the window, collect acks."""
    res = WorkerResult(spec.index)
    sem: Any = sh.sems[spec.index] if spec.phase == "raw" else None
    if sem is None and spec.window > 0:
        sem = threading.Semaphore(spec.window)
    all_acked = threading.Event()
    lock = threading.Lock()
    client = new_client(f"bench-{spec.phase}-{spec.nsp_id}")
    # paho's own in-flight window; beyond it paho queues in memory (unbounded).
    client.max_inflight_messages_set(spec.window if spec.window > 0 else 1000)
    client.max_queued_messages_set(0)

    def on_ack(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        now = time.perf_counter()
        ack = json.loads(msg.payload)
        if ack.get("kind") == "ack":
            items = [ack["body"]]
        elif ack.get("kind") == "ack_batch":
            items = ack["body"]["acks"]
        else:
            return
        released = 0
        with lock:
            for item in items:
                mid = item["ref_message_id"]
                if item.get("duplicate") or mid in res.done or mid not in res.published:
                    res.duplicates += 1
                    continue
                res.done[mid] = now
                # stored_at is the CP's receive time (wall clock, same machine): split latency.
                res.cp_received[mid] = (
                    datetime.fromisoformat(item["stored_at"]).timestamp() - wall_offset
                )
                released += 1
            n = len(res.done)
        sh.done_counts[spec.index] = n
        if sem is not None:
            for _ in range(released):
                sem.release()
        if n == len(spec.messages):
            all_acked.set()

    client.on_message = on_ack
    wall_offset = time.time() - time.perf_counter()
    try:
        connect_and_subscribe(client, spec.port, spec.filters)
    except Exception as exc:
        sh.ready.put((spec.index, f"{type(exc).__name__}: {exc}"))
        close(client)
        return
    if spec.status_topic:
        # Like a real gateway: announce online, and the ack_batch capability unless the run
        # simulates gateways of the previous release (--single-acks).
        presence: dict[str, Any] = {"schema_version": 1, "nsp_id": spec.nsp_id, "online": True}
        if spec.batch_acks:
            presence["capabilities"] = ["ack_batch"]
        client.publish(spec.status_topic, json.dumps(presence), qos=1, retain=True)
    sh.ready.put((spec.index, None))
    try:
        if not sh.start.wait(60):
            return
        start_at = sh.start_at.value
        deadline = start_at + spec.timeout
        next_at = start_at + spec.offset
        delay = next_at - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        for m, topic in zip(spec.messages, spec.topics, strict=True):
            if sem is not None:
                acquired = False
                while not acquired and not sh.stop.is_set() and time.perf_counter() < deadline:
                    acquired = sem.acquire(timeout=1)
                if not acquired:
                    break
            if spec.interval:
                next_at += spec.interval
                delay = next_at - time.perf_counter()
                if delay > 0:
                    time.sleep(delay)
            with lock:
                res.published[m.message_id] = time.perf_counter()
            if client.publish(topic, m.payload, qos=1).rc != mqtt.MQTT_ERR_SUCCESS:
                res.publish_errors += 1
        if spec.phase == "cp":
            while not all_acked.wait(0.5) and not sh.stop.is_set():
                if time.perf_counter() > deadline:
                    break
        else:
            sh.stop.wait(max(0.0, deadline - time.perf_counter()) + 5)
    except Exception as exc:
        res.error = f"{type(exc).__name__}: {exc}"
    finally:
        close(client)
        with lock:
            sh.results.put(res)


class Phase:
    """Runs one phase: starts the gateway processes, releases them at once, waits, collects."""

    def __init__(self, name: str, specs: list[WorkerSpec], timeout: float, progress: bool):
        self.name = name
        self.specs = specs
        self.timeout = timeout
        self.progress = progress
        self.total = sum(len(s.messages) for s in specs)
        ctx = mp.get_context("fork")
        self.ctx = ctx
        self.shared = Shared(
            ready=ctx.Queue(),
            results=ctx.Queue(),
            start=ctx.Event(),
            start_at=ctx.Value("d", 0.0),
            stop=ctx.Event(),
            done_counts=ctx.Array("q", len(specs), lock=False),
            sems=[
                ctx.Semaphore(max(s.window, 1)) if name == "raw" and s.window > 0 else None
                for s in specs
            ],
        )
        self.results: list[WorkerResult] = []
        self.t_start = 0.0
        # The raw subscriber lives in this process and records its own receive times.
        self.sub_done: list[dict[str, float]] = [{} for _ in specs]
        self.sub_count = 0
        self.sub_dups = 0

    def confirmed(self) -> int:
        if self.name == "raw":
            return self.sub_count
        return sum(self.shared.done_counts)

    def run(self) -> None:
        procs = [
            self.ctx.Process(
                target=gateway_worker, args=(s, self.shared), name=f"gw-{s.nsp_id}", daemon=True
            )
            for s in self.specs
        ]
        for p in procs:
            p.start()
        try:
            for _ in procs:
                index, error = self.shared.ready.get(timeout=60)
                if error:
                    raise RuntimeError(f"gateway {self.specs[index].nsp_id}: {error}")
            self.t_start = time.perf_counter() + 0.05
            self.shared.start_at.value = self.t_start
            self.shared.start.set()
            deadline = self.t_start + self.timeout
            last_count, last_change = -1, time.monotonic()
            while True:
                time.sleep(0.2 if self.confirmed() < self.total else 0)
                count = self.confirmed()
                if count >= self.total:
                    break
                if count != last_count:
                    last_count, last_change = count, time.monotonic()
                if self.progress and int(time.monotonic() * 5) % 5 == 0:
                    log(f"  [{self.name}] {count}/{self.total} confirmed")
                if time.perf_counter() > deadline:
                    log(f"  [{self.name}] TIMEOUT after {self.timeout:.0f}s: {count}/{self.total}")
                    break
                if time.monotonic() - last_change > 60:
                    log(f"  [{self.name}] STALLED: no progress for 60 s at {count}/{self.total}")
                    break
        finally:
            self.shared.stop.set()
            self.shared.start.set()  # release workers still waiting if we failed early
            for _ in procs:
                try:
                    self.results.append(self.shared.results.get(timeout=20))
                except queue.Empty:
                    break
            for p in procs:
                p.join(10)
                if p.is_alive():
                    p.terminate()
                    p.join(5)

    def result(self) -> dict[str, Any]:
        published = {r.index: r.published for r in self.results}
        done = self.sub_done if self.name == "raw" else [{} for _ in self.specs]
        if self.name == "cp":
            for r in self.results:
                done[r.index] = r.done
        lat: list[float] = []
        to_cp: list[float] = []  # publish -> CP receive
        in_cp: list[float] = []  # CP receive -> ack back at the gateway
        received = {r.index: r.cp_received for r in self.results}
        last_done = 0.0
        pub_end = 0.0
        for i, d in enumerate(done):
            pub = published.get(i, {})
            if pub:
                pub_end = max(pub_end, max(pub.values()))
            recv = received.get(i, {})
            for mid, t in d.items():
                if mid in pub:
                    lat.append((t - pub[mid]) * 1000)
                    if mid in recv:
                        to_cp.append((recv[mid] - pub[mid]) * 1000)
                        in_cp.append((t - recv[mid]) * 1000)
                    last_done = max(last_done, t)
        lat.sort()
        confirmed = len(lat)
        elapsed = (last_done or time.perf_counter()) - self.t_start
        pub_elapsed = (pub_end or time.perf_counter()) - self.t_start
        errors = [f"{self.specs[r.index].nsp_id}: {r.error}" for r in self.results if r.error]
        return {
            "messages": self.total,
            "confirmed": confirmed,
            "complete": confirmed == self.total and not errors,
            "elapsed_s": round(elapsed, 3),
            "rate_msg_s": round(confirmed / elapsed, 1) if elapsed > 0 else None,
            "publish_rate_msg_s": round(self.total / pub_elapsed, 1) if pub_elapsed > 0 else None,
            "latency_ms": {
                "p50": pct(lat, 50),
                "p95": pct(lat, 95),
                "p99": pct(lat, 99),
                "max": round(lat[-1], 1) if lat else None,
            },
            **(
                {
                    "breakdown_ms": {
                        "publish_to_cp_receive": {
                            "p50": pct(sorted(to_cp), 50),
                            "p99": pct(sorted(to_cp), 99),
                        },
                        "cp_receive_to_ack": {
                            "p50": pct(sorted(in_cp), 50),
                            "p99": pct(sorted(in_cp), 99),
                        },
                    }
                }
                if to_cp
                else {}
            ),
            "duplicate_confirmations": self.sub_dups + sum(r.duplicates for r in self.results),
            "publish_errors": sum(r.publish_errors for r in self.results),
            "worker_errors": errors,
        }


def python_speed() -> float:
    """Seconds one core takes for 10 million pure-Python additions (best of three runs of a
    fifth of it): the machines these benches ran on differed fourfold in it, and the
    absolute rates and latencies with them; ratios within one run do not."""
    best = math.inf
    for _ in range(3):
        t0 = time.perf_counter()
        total = 0
        for i in range(2_000_000):
            total += i
        best = min(best, time.perf_counter() - t0)
    return round(best * 5, 2)


def pct(sorted_values: list[float], p: float) -> float | None:
    if not sorted_values:
        return None
    k = min(len(sorted_values) - 1, max(0, round(p / 100 * len(sorted_values)) - 1))
    return round(sorted_values[k], 1)


def make_specs(
    phase: str,
    port: int,
    nsp_ids: list[str],
    payloads: list[list[Outgoing]],
    args: argparse.Namespace,
) -> list[WorkerSpec]:
    g = len(nsp_ids)
    interval = g / args.rate if args.rate > 0 else 0.0
    specs = []
    for i, (nsp_id, msgs) in enumerate(zip(nsp_ids, payloads, strict=True)):
        if phase == "raw":
            tops = [f"{RAW_ROOT}/{nsp_id}"] * len(msgs)
            filters: list[str] = []
        else:
            tops = [topics.up(CP_ID, nsp_id, m.kind) for m in msgs]
            filters = [topics.down(CP_ID, nsp_id, "ack"), topics.down(CP_ID, nsp_id, "ack_batch")]
        specs.append(
            WorkerSpec(
                phase,
                i,
                nsp_id,
                msgs,
                tops,
                filters,
                args.window,
                interval,
                i * interval / g,
                port,
                args.timeout,
                status_topic=topics.status(CP_ID, nsp_id) if phase == "cp" else None,
                batch_acks=not args.single_acks,
            )
        )
    return specs


def run_raw(
    port: int, nsp_ids: list[str], payloads: list[list[Outgoing]], args: argparse.Namespace
) -> dict[str, Any]:
    phase = Phase(
        "raw", make_specs("raw", port, nsp_ids, payloads, args), args.timeout, not args.json
    )
    index_of = {n: i for i, n in enumerate(nsp_ids)}
    lock = threading.Lock()
    sub = new_client("bench-raw-subscriber")

    def on_message(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        now = time.perf_counter()
        i = index_of[msg.topic.rsplit("/", 1)[1]]
        # Decode the JSON as the gateways decode acks, so both phases pay the same client cost.
        mid = json.loads(msg.payload)["message_id"]
        with lock:
            if mid in phase.sub_done[i]:
                phase.sub_dups += 1
                return
            phase.sub_done[i][mid] = now
            phase.sub_count += 1
        sem = phase.shared.sems[i]
        if sem is not None:
            sem.release()

    sub.on_message = on_message
    try:
        connect_and_subscribe(sub, port, [f"{RAW_ROOT}/+"])
        phase.run()
        return phase.result()
    finally:
        close(sub)


def run_cp(
    port: int, nsp_ids: list[str], payloads: list[list[Outgoing]], args: argparse.Namespace
) -> dict[str, Any]:
    phase = Phase(
        "cp", make_specs("cp", port, nsp_ids, payloads, args), args.timeout, not args.json
    )
    phase.run()
    result = phase.result()
    result["t_start"] = phase.t_start
    return result


class GroupedWatch:
    """Polls the CP database (every 50 ms, a read in WAL mode / MVCC) for the moment every
    report of the phase has its place in the queue: no report waits for grouping and the
    report rows number the reports sent. That moment, not the last ack, ends a phase whose
    grouping runs in its own process after the ack.

    Polling starts at ``arm()``, once the last ack is in: no report can be placed before it
    is stored, so earlier polls could not end the phase, and they cost the CP's database
    (on PostgreSQL a count over the growing report table every 50 ms: about 0.3 s of the
    server's time in a 20,000-message phase) work the raw phase never pays for. The end is
    then seen at most one poll late, as before."""

    def __init__(self, db_url: str, expected: int) -> None:
        self.db_url = db_url
        self.expected = expected
        self.done_at: float | None = None
        self.grouped = 0
        self.waiting: int | None = None
        self._stop = threading.Event()
        self._armed = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> GroupedWatch:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._armed.set()
        self._thread.join(10)

    def arm(self) -> None:
        """Start polling (the last ack is in, or the phase gave up waiting for it)."""
        self._armed.set()

    def wait(self, timeout: float) -> float | None:
        self._thread.join(timeout)
        return self.done_at

    def _run(self) -> None:
        self._armed.wait()
        engine = sa.create_engine(self.db_url)
        try:
            while not self._stop.is_set():
                with engine.connect() as conn:
                    waiting = self.waiting = conn.execute(
                        sa.text("SELECT count(*) FROM triage_grouping_pending")
                    ).scalar_one()
                    if waiting == 0:
                        self.grouped = conn.execute(
                            sa.text("SELECT count(*) FROM triage_report")
                        ).scalar_one()
                if self.grouped >= self.expected and waiting == 0:
                    self.done_at = time.perf_counter()
                    return
                self._stop.wait(0.05)
        finally:
            engine.dispose()


def run_raw_c(
    port: int, nsp_ids: list[str], payloads: list[list[Outgoing]], workdir: Path, timeout: float
) -> dict[str, Any]:
    """The broker's own ceiling with C clients: one ``mosquitto_sub`` (QoS 1) receives what
    one ``mosquitto_pub -l`` per gateway publishes (QoS 1, one payload per line of a file).
    Rate = N / (publishers started -> last payload read from the subscriber's stdout)."""
    pub_bin, sub_bin = shutil.which("mosquitto_pub"), shutil.which("mosquitto_sub")
    if pub_bin is None or sub_bin is None:
        return {"skipped": "mosquitto_pub/mosquitto_sub not installed (mosquitto-clients)"}
    total = sum(len(m) for m in payloads)
    files = []
    for nsp_id, msgs in zip(nsp_ids, payloads, strict=True):
        f = workdir / f"rawc-{nsp_id}.lines"
        f.write_bytes(b"".join(m.payload + b"\n" for m in msgs))
        files.append((nsp_id, f))
    common = ["-h", HOST, "-p", str(port), "-q", "1", "-V", "mqttv5"]
    sub = subprocess.Popen(
        [sub_bin, *common, "-t", f"{RAW_C_ROOT}/#", "-i", "bench-rawc-sub"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    seen = threading.Event()
    state = {"count": 0, "last": 0.0}

    def read() -> None:
        assert sub.stdout is not None
        for line in sub.stdout:
            if line.startswith(b"probe"):
                seen.set()
                continue
            state["count"] += 1
            state["last"] = time.perf_counter()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        # Ready when a probe comes through (mosquitto_sub prints nothing on SUBACK).
        for _ in range(100):
            subprocess.run(
                [pub_bin, *common, "-t", f"{RAW_C_ROOT}/probe", "-m", "probe"],
                check=False,
                capture_output=True,
            )
            if seen.wait(0.2):
                break
        else:
            return {"skipped": "mosquitto_sub did not receive the probe"}
        start = time.perf_counter()
        pubs = [
            subprocess.Popen(
                [pub_bin, *common, "-t", f"{RAW_C_ROOT}/{nsp_id}", "-l", "-i", f"rawc-{nsp_id}"],
                stdin=f.open("rb"),
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for nsp_id, f in files
        ]
        deadline = start + timeout
        while state["count"] < total and time.perf_counter() < deadline:
            time.sleep(0.05)
        for p in pubs:
            p.wait(10)
        elapsed = (state["last"] or time.perf_counter()) - start
        return {
            "messages": total,
            "confirmed": state["count"],
            "complete": state["count"] >= total,
            "elapsed_s": round(elapsed, 3),
            "rate_msg_s": round(state["count"] / elapsed, 1) if elapsed > 0 else None,
        }
    finally:
        sub.terminate()
        sub.wait(10)


# --------------------------------------------------------------------------- database


@contextlib.contextmanager
def database(url: str | None, workdir: Path) -> Iterator[str]:
    """A fresh database: a new SQLite file, or a throwaway PostgreSQL database."""
    if url is None:
        yield f"sqlite:///{workdir / 'cp.db'}"
        return
    if url.startswith("sqlite"):
        yield url
        return
    name = f"noodnet_bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.engine.make_url(url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def verify(
    db_url: str, nsp_ids: list[str], payloads: list[list[Outgoing]], grouping: bool = False
) -> dict[str, Any]:
    """Count what the CP stored, straight from its database (and, grouping on, that every
    report has exactly one place in the queue and none still waits)."""
    expected = {m.message_id for msgs in payloads for m in msgs}
    reports = {m.message_id for msgs in payloads for m in msgs if m.kind in PLACED_KINDS}
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT message_id FROM message WHERE nsp_id IN :ids").bindparams(
                    sa.bindparam("ids", expanding=True)
                ),
                {"ids": nsp_ids},
            ).all()
            nsps = conn.execute(
                sa.text(
                    "SELECT nsp_id, message_count, max_seq, gaps, seq_conflicts FROM nsp "
                    "WHERE nsp_id IN :ids"
                ).bindparams(sa.bindparam("ids", expanding=True)),
                {"ids": nsp_ids},
            ).all()
            dead = conn.execute(sa.text("SELECT count(*) FROM deadletter")).scalar_one()
            placed: dict[str, Any] = {}
            if grouping:
                rows_placed = conn.execute(sa.text("SELECT message_id FROM triage_report")).all()
                placed = {
                    "reports_expected": len(reports),
                    "reports_placed": len({r[0] for r in rows_placed} & reports),
                    "report_rows": len(rows_placed),
                    "items": conn.execute(sa.text("SELECT count(*) FROM triage_item")).scalar_one(),
                    "waiting": conn.execute(
                        sa.text("SELECT count(*) FROM triage_grouping_pending")
                    ).scalar_one(),
                }
    finally:
        engine.dispose()
    stored = [r[0] for r in rows]
    stored_set = set(stored)
    per_nsp_ok = True
    for nsp_id, count, max_seq, gaps, conflicts in nsps:
        gaps = json.loads(gaps) if isinstance(gaps, str) else gaps
        n = len(payloads[nsp_ids.index(nsp_id)])
        if count != n or max_seq != n or gaps or conflicts:
            per_nsp_ok = False
    ok = (
        len(stored) == len(expected)
        and stored_set == expected
        and len(nsps) == len(nsp_ids)
        and per_nsp_ok
        and dead == 0
        and (
            not placed
            or (
                placed["reports_placed"] == len(reports)
                and placed["report_rows"] == len(reports)
                and placed["waiting"] == 0
            )
        )
    )
    return {
        **placed,
        "ok": ok,
        "expected": len(expected),
        "stored_rows": len(stored),
        "distinct_stored": len(stored_set),
        "missing": len(expected - stored_set),
        "doubles": len(stored) - len(stored_set),
        "unexpected": len(stored_set - expected),
        "nsp_rows": len(nsps),
        "nsp_counts_and_seqs_ok": per_nsp_ok,
        "dead_letters": dead,
    }


# --------------------------------------------------------------------------- main


def cpu_seconds(pid: int) -> float | None:
    """utime + stime of a process (Linux /proc), for CPU-per-message figures."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def postgres_cpu_seconds() -> float | None:
    """CPU seconds of the local PostgreSQL server: every process named postgres, with what
    its reaped children used (a backend that exits moves its time to the postmaster)."""
    total, found = 0.0, False
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() != "postgres":
                continue
            fields = (comm.parent / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while we looked
        total += sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")
        found = True
    return total if found else None


class CpuMeter:
    """CPU seconds used during a phase by this process (all its threads) and by others
    (``postgres``: the local server, when the phase's database is on it)."""

    def __init__(self, pids: dict[str, int], postgres: bool = False) -> None:
        self.pids = pids
        self.postgres = postgres
        self.start: dict[str, float | None] = {}

    def _now(self) -> dict[str, float | None]:
        t = os.times()
        # Children = the gateway processes of the phase, joined before the phase ends.
        out: dict[str, float | None] = {
            "bench": t.user + t.system + t.children_user + t.children_system
        }
        out.update({name: cpu_seconds(pid) for name, pid in self.pids.items()})
        if self.postgres:
            out["postgres"] = postgres_cpu_seconds()
        return out

    def __enter__(self) -> CpuMeter:
        self.start = self._now()
        return self

    def __exit__(self, *_exc: object) -> None:
        end = self._now()
        self.used = {
            k: round(end[k] - v, 2)  # type: ignore[operator]
            for k, v in self.start.items()
            if v is not None and end.get(k) is not None
        }


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description="Noodnet CP ingest benchmark against a raw Mosquitto baseline.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--messages", type=int, default=20_000, help="messages per phase (N)")
    p.add_argument("--gateways", type=int, default=10, help="simulated gateways (publishers)")
    p.add_argument(
        "--database-url",
        default=None,
        help="CP database; default a fresh SQLite file. A PostgreSQL URL names a server: "
        "a throwaway database is created on it and dropped afterwards.",
    )
    p.add_argument(
        "--window",
        type=int,
        default=100,
        help="max messages outstanding per gateway (0 = publish everything at once)",
    )
    p.add_argument(
        "--rate",
        type=float,
        default=0,
        help="offered load in msg/s over all gateways (0 = as fast as the window allows)",
    )
    p.add_argument("--timeout", type=float, default=300, help="seconds allowed per phase")
    p.add_argument("--seed", type=int, default=1, help="payload generator seed")
    p.add_argument(
        "--db",
        choices=["sqlite", "postgres"],
        default=None,
        help=f"shorthand: postgres = --database-url {POSTGRES_URL}",
    )
    p.add_argument(
        "--phases",
        default="raw,raw_c,cp_off,cp_on,cp_proc",
        help="comma-separated, in this order: raw (Python publishers -> paho subscriber), "
        "raw_c (mosquitto_pub -l -> mosquitto_sub), cp_off / cp_on (the CP with "
        "NOODNET_TRIAGE_GROUPING false / true), cp_proc (grouping in its own process: "
        "NOODNET_TRIAGE_GROUPING_PROCESS=true; timed to the last report placed)",
    )
    p.add_argument("--skip-raw", action="store_true", help="only the CP phases")
    p.add_argument(
        "--single-acks",
        action="store_true",
        help="gateways do not announce 'ack_batch' (as the previous release): one ack each",
    )
    p.add_argument("--keep", action="store_true", help="keep the work directory (logs, db)")
    p.add_argument(
        "--cp-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="extra environment for the CP process, e.g. NOODNET_INGEST_BATCH_SIZE=500",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object, no table")
    args = p.parse_args(argv)
    if args.messages < 1 or args.gateways < 1 or args.gateways > 999:
        p.error("--messages must be >= 1 and --gateways between 1 and 999")
    if args.messages < args.gateways:
        p.error("--messages must be at least --gateways")
    if args.db == "postgres" and args.database_url is None:
        args.database_url = POSTGRES_URL
    phases = [x.strip() for x in args.phases.split(",") if x.strip()]
    unknown = [x for x in phases if x not in LABELS]
    if unknown:
        p.error(f"--phases: unknown {unknown}; choose from {list(LABELS)}")
    if args.skip_raw:
        phases = [x for x in phases if not x.startswith("raw")]
    args.phases = phases
    return args


def fmt(v: Any, spec: str = ",.0f") -> str:
    return "-" if v is None else format(v, spec)


LABELS = {
    "raw": "raw Mosquitto QoS1 pub->sub (Python)",
    "raw_c": "raw Mosquitto QoS1, C clients",
    "cp_off": "CP publish->stored, grouping off",
    "cp_on": "CP publish->stored, grouping on",
    "cp_proc": "CP publish->stored, grouping process",
}
GROUPED_LABEL = "CP publish->grouped, grouping process"


def cpu_bound(report: dict[str, Any], rate: Callable[[str], float | None]) -> dict[str, Any]:
    """Per phase, the CPU every measured process spent per message and what it allows: the
    rate at which this machine's cores would all be busy (the ceiling), its ratio to the raw
    rate, and how busy the cores were in the run. A ceiling / raw below 0.5 says the target
    needs less CPU per message; a low utilisation says the pipeline waits (locks, latency)."""
    cpus = report["config"]["cpus"] or 1
    out: dict[str, Any] = {}
    raw = rate("raw")
    for key in ("raw", "raw_c", "cp_off", "cp_on", "cp_proc"):
        r = report.get(key) or {}
        used = r.get("cpu_s")
        achieved = rate("cp_proc_grouped" if key == "cp_proc" else key)
        if not used or not achieved:
            continue
        per_msg = sum(used.values()) / r["messages"]  # CPU seconds per message
        ceiling = cpus / per_msg
        out[key] = {
            "cpu_ms_per_msg": round(per_msg * 1e3, 4),
            "ceiling_msg_s": round(ceiling),
            "ceiling_over_raw": round(ceiling / raw, 3) if raw else None,
            "utilisation": round(achieved * per_msg / cpus, 3),
        }
        grouping = used.get("grouping")
        if key == "cp_proc" and grouping:
            # The grouping process places reports on one thread: with a core to itself and
            # never waiting it reaches this rate, however idle the other cores are.
            alone = r["messages"] / grouping
            out[key]["grouping_alone_msg_s"] = round(alone)
            out[key]["grouping_alone_over_raw"] = round(alone / raw, 3) if raw else None
    return out


def print_table(report: dict[str, Any]) -> None:
    cfg = report["config"]
    print()
    print(
        f"Noodnet ingest benchmark: {cfg['messages']:,} messages, {cfg['gateways']} gateways, "
        f"window {cfg['window']}/gateway, rate {cfg['rate'] or 'max'}, db {cfg['database']}, "
        f"acks {'one per message' if cfg['single_acks'] else 'batched (ack_batch)'}, "
        f"Python speed {cfg.get('python_speed_s', '?')} s per 10^7 additions"
    )
    print(
        f"{'phase':<40}{'msg/s':>9}{'elapsed s':>11}{'p50 ms':>9}{'p95 ms':>9}"
        f"{'p99 ms':>9}{'max ms':>9}"
    )
    rows = [(LABELS[k], report[k]) for k in LABELS if k in report]
    for label, r in rows:
        if "skipped" in r:
            print(f"{label:<40} skipped: {r['skipped']}")
            continue
        lat = r.get("latency_ms", {})
        if not r["complete"]:
            print(f"INCOMPLETE: {label}: only {r['confirmed']:,} of {r['messages']:,} confirmed")
        print(
            f"{label:<40}{fmt(r['rate_msg_s']):>9}{fmt(r['elapsed_s'], '.2f'):>11}"
            f"{fmt(lat.get('p50'), '.1f'):>9}{fmt(lat.get('p95'), '.1f'):>9}"
            f"{fmt(lat.get('p99'), '.1f'):>9}{fmt(lat.get('max'), '.1f'):>9}"
        )
    grouped = report.get("cp_proc", {}).get("grouped")
    if grouped:
        print(
            f"{GROUPED_LABEL:<40}{fmt(grouped['rate_msg_s']):>9}"
            f"{fmt(grouped['elapsed_s'], '.2f'):>11}   (the last report placed in the queue)"
        )
    for key in ("cp_off", "cp_on", "cp_proc"):
        bd = report.get(key, {}).get("breakdown_ms")
        if bd:
            a, b = bd["publish_to_cp_receive"], bd["cp_receive_to_ack"]
            print(
                f"  {key}: publish->CP receive p50 {fmt(a['p50'], '.1f')} / p99 "
                f"{fmt(a['p99'], '.1f')} ms; CP receive->ack at gateway p50 "
                f"{fmt(b['p50'], '.1f')} / p99 {fmt(b['p99'], '.1f')} ms"
            )
    ratios = report.get("ratios", {})
    if ratios:
        print("ratios (same run):")
        for name, value in ratios.items():
            print(f"  {name:<44}{value:>8.3f}")
    target = report.get("target")
    if target:
        for name, t in target.items():
            print(
                f"target grouping on >= 0.5 x raw (Python publishers), {name}: "
                f"{'MET' if t['met'] else 'NOT MET'} ({t['ratio']:.3f})"
            )
    print(f"CPU seconds used per phase ({cfg['cpus']} CPUs on this machine):")
    for label, r in rows:
        used = r.get("cpu_s", {})
        if not used:
            continue
        parts = [f"{k} {v:.1f} s ({v / r['messages'] * 1e3:.3f} ms/msg)" for k, v in used.items()]
        print(f"  {label:<38}{', '.join(parts)}")
    bound = report.get("cpu_bound", {})
    if bound:
        print(
            f"CPU bound ({cfg['cpus']} CPUs; all processes above; cp_proc timed to the last "
            "report placed):"
        )
        for key, b in bound.items():
            over = b["ceiling_over_raw"]
            print(
                f"  {key:<8} {b['cpu_ms_per_msg']:.3f} ms/msg in all -> ceiling "
                f"{b['ceiling_msg_s']:,} msg/s"
                + (f" ({over:.3f} x raw)" if over is not None else "")
                + f", cores busy {100 * b['utilisation']:.0f} %"
            )
            if "grouping_alone_msg_s" in b:
                over = b["grouping_alone_over_raw"]
                print(
                    f"  {'':<8} the grouping process alone (one thread, a core of its own, no "
                    f"waits): ceiling {b['grouping_alone_msg_s']:,} msg/s"
                    + (f" ({over:.3f} x raw)" if over is not None else "")
                )
    for key in ("cp_off", "cp_on", "cp_proc"):
        v = report.get(key, {}).get("verify")
        if not v:
            continue
        placed = ""
        if "reports_placed" in v:
            placed = (
                f", reports placed {v['reports_placed']:,} of {v['reports_expected']:,} in "
                f"{v['items']:,} items, waiting {v['waiting']}"
            )
        print(
            f"verify {key}: stored {v['stored_rows']:,} rows, {v['distinct_stored']:,} distinct, "
            f"expected {v['expected']:,}; missing {v['missing']}, doubles {v['doubles']}, "
            f"unexpected {v['unexpected']}, NSP counts/seqs "
            f"{'ok' if v['nsp_counts_and_seqs_ok'] else 'WRONG'}, dead letters "
            f"{v['dead_letters']}{placed} -> {'OK' if v['ok'] else 'FAILED'}"
        )


def run_cp_phase(
    key: str,
    grouping: bool,
    args: argparse.Namespace,
    broker: Mosquitto,
    workdir: Path,
    nsp_ids: list[str],
    payloads: list[list[Outgoing]],
) -> dict[str, Any]:
    """A fresh CP on a fresh database, the same payloads; then verify its database."""
    with database(args.database_url, workdir / key) as db_url:
        # Capacity is measured here, so no per-NSP rate limit: its simulated gateways do
        # not resend what a limit defers (bench/flood.py measures the limit).
        process = key == "cp_proc"
        extra = {
            "NOODNET_RATE_LIMIT_PER_SECOND": "0",
            "NOODNET_TRIAGE_GROUPING": "true" if grouping else "false",
            "NOODNET_TRIAGE_GROUPING_PROCESS": "true" if process else "false",
        }
        extra.update(kv.split("=", 1) for kv in args.cp_env)
        cp = cp_process(workdir, broker, db_url, cp_id=CP_ID, **extra)
        expected_reports = sum(m.kind in PLACED_KINDS for msgs in payloads for m in msgs)
        try:
            cp.start(wait_path="/readyz", timeout=60)
            assert cp.proc is not None and broker.proc is not None
            pids = {"broker": broker.proc.pid, "cp": cp.proc.pid}
            if process:
                # Measure the started CP, as raw measures a connected subscriber: not the
                # grouping process's start-up (imports, about 1 s of CPU) in the phase.
                pids["grouping"] = wait_grouping_running(cp)
            if not args.json:
                how = "in its own process" if process else ("on" if grouping else "off")
                log(f"phase {key}: CP service ingest, grouping {how} ...")
            on_postgres = db_url.startswith("postgresql")
            with CpuMeter(pids, postgres=on_postgres) as meter:
                if process:
                    with GroupedWatch(db_url, expected_reports) as watch:
                        result = run_cp(broker.port, nsp_ids, payloads, args)
                        watch.arm()
                        done_at = watch.wait(args.timeout)
                    if done_at is not None:
                        elapsed = done_at - result["t_start"]
                        result["grouped"] = {
                            "elapsed_s": round(elapsed, 3),
                            "rate_msg_s": round(args.messages / elapsed, 1),
                        }
                    else:
                        result["complete"] = False
                        log(
                            f"  [{key}] grouping incomplete: {watch.grouped:,} placed, "
                            f"{watch.waiting} waiting"
                        )
                else:
                    result = run_cp(broker.port, nsp_ids, payloads, args)
            result["cpu_s"] = meter.used
            if not result["complete"]:
                # The last ack follows the last commit; allow a moment after a timeout.
                proc = cp
                with contextlib.suppress(AssertionError):
                    wait_until(
                        lambda: (
                            sum(n["message_count"] for n in proc.get("/api/v1/nsps"))
                            >= args.messages
                        ),
                        10,
                        interval=0.5,
                        what="late commits",
                    )
            result["verify"] = verify(db_url, nsp_ids, payloads, grouping)
            return result
        finally:
            cp.stop()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    run_token = uuid.uuid4().hex[:6]
    nsp_ids = [f"bench{run_token}-gw{i:03d}" for i in range(1, args.gateways + 1)]
    tmp = tempfile.mkdtemp(prefix="noodnet-bench-")
    workdir = Path(tmp)
    if not args.json:
        log(f"work dir {workdir}; building {args.messages:,} payloads ...")
    payloads = build_payloads(nsp_ids, args.messages, args.seed)
    sizes = [len(m.payload) for msgs in payloads for m in msgs]
    report: dict[str, Any] = {
        "config": {
            "messages": args.messages,
            "gateways": args.gateways,
            "window": args.window,
            "rate": args.rate,
            "database": "sqlite"
            if not args.database_url or args.database_url.startswith("sqlite")
            else sa.engine.make_url(args.database_url).get_backend_name(),
            "payload_bytes_avg": round(sum(sizes) / len(sizes)),
            # The CPUs this process may run on (a container or taskset may allow fewer).
            "cpus": len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else os.cpu_count(),
            "phases": args.phases,
            "single_acks": args.single_acks,
            "python_speed_s": python_speed(),
        }
    }
    broker = Mosquitto(workdir / "broker")
    failed = False
    try:
        broker.start()
        assert broker.proc is not None
        for key in args.phases:
            if key == "raw":
                if not args.json:
                    log("phase raw: Mosquitto baseline, the bench's Python publishers ...")
                with CpuMeter({"broker": broker.proc.pid}) as meter:
                    report["raw"] = run_raw(broker.port, nsp_ids, payloads, args)
                report["raw"]["cpu_s"] = meter.used
            elif key == "raw_c":
                if not args.json:
                    log("phase raw_c: Mosquitto baseline, mosquitto_pub -l -> mosquitto_sub ...")
                with CpuMeter({"broker": broker.proc.pid}) as meter:
                    report["raw_c"] = run_raw_c(
                        broker.port, nsp_ids, payloads, workdir, args.timeout
                    )
                report["raw_c"]["cpu_s"] = meter.used
            else:
                (workdir / key).mkdir()
                report[key] = run_cp_phase(
                    key, key in ("cp_on", "cp_proc"), args, broker, workdir, nsp_ids, payloads
                )
    except Exception as exc:
        failed = True
        log(f"benchmark error: {type(exc).__name__}: {exc}")
        report["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        broker.stop()

    def rate(key: str) -> float | None:
        if key == "cp_proc_grouped":
            r = report.get("cp_proc") or {}
            return (r.get("grouped") or {}).get("rate_msg_s") if r.get("complete") else None
        r = report.get(key) or {}
        return r.get("rate_msg_s") if r.get("complete") else None

    ratios: dict[str, float] = {}
    for num, den in (
        ("cp_on", "raw"),
        ("cp_off", "raw"),
        ("cp_on", "cp_off"),
        ("cp_on", "raw_c"),
        ("cp_off", "raw_c"),
        ("raw", "raw_c"),
        ("cp_proc", "raw"),
        ("cp_proc_grouped", "raw"),
        ("cp_proc_grouped", "raw_c"),
    ):
        a, b = rate(num), rate(den)
        if a and b:
            ratios[f"{num} / {den}"] = round(a / b, 3)
    report["ratios"] = ratios
    report["cpu_bound"] = cpu_bound(report, rate)
    # Judged on the last report placed in the queue, not on the acks, for the process mode.
    report["target"] = {
        name: {"ratio": ratios[k], "met": ratios[k] >= 0.5}
        for name, k in (
            ("grouping at ingest", "cp_on / raw"),
            ("grouping process (default), publish->grouped", "cp_proc_grouped / raw"),
        )
        if k in ratios
    }
    ok = not failed
    for key in args.phases:
        r = report.get(key)
        if r is None or "skipped" in r:
            ok = ok and key == "raw_c" and r is not None
            continue
        ok = ok and r["complete"] and r.get("verify", {"ok": True})["ok"]
    report["ok"] = ok
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print_table(report)
    if not ok:
        logs = sorted(workdir.glob("cp-*.log"))
        if logs and not args.json:
            log("--- CP log tail ---\n" + logs[-1].read_text()[-3000:])
        args.keep = True
    if args.keep:
        log(f"work dir kept: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
