"""Near-duplicate grouping: quality on a labelled data set, and its cost at ingest.

    .venv/bin/python bench/dedup_quality.py                 # SQLite, both data files, 20,000 pad
    .venv/bin/python bench/dedup_quality.py --json
    .venv/bin/python bench/dedup_quality.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

**Quality.** Each labelled file (bench/data/*.jsonl, made by bench/gen_dedup_data.py) is
ingested into a fresh database through ``service.store.store_batch`` with the grouping hook
the ingest worker runs, in receive order and in batches, with the data set's receive times.
The NSPs are registered first (name, address), as operators do. Pairwise precision, recall
and F1 compare "same incident" with the labels, over all pairs of help requests and
situation reports:

* ``incidents`` — two reports count as grouped only when they are in the same incident;
* ``incidents+links`` — a life-threatening help request that matched an incident is kept as
  its own item, linked as *possible duplicate* (the operator decides); here such links count
  as grouped, which is what the operator sees.

The matching rules and thresholds are tuned on sets generated with seeds 10-19
(``bench/gen_dedup_data.py --seed N --out F``, not committed); the committed
``dedup_oss.jsonl`` (seed 1, the earlier tuning set) and ``dedup_oss_holdout.jsonl`` (seed 2),
and seeds 3-8, only check them. Numbers: docs/triage.md.

**Cost.** Two measurements in the same run, grouping on and off:

* ``backbone`` — the backbone benchmark itself (``bench/ingest.py``: Mosquitto, the CP as its
  own process, 10 gateways publishing QoS 1, rate = first publish to last CP ack) with
  ``--backbone-messages`` (20,000) messages, so 20,000 stored reports at the end, with
  ``NOODNET_TRIAGE_GROUPING=false`` and with grouping on, in ``--backbone-rounds`` (3)
  adjacent pairs of alternating order. This is the issue's target: the median on / off
  ratio of the pairs >= 0.5.
* ``cost`` — closer to the hook: a database padded with ``--pad`` stored reports (generated,
  with grouping, spread over the 48 hours before now and over 400 street names), then the
  real ``IngestWorker`` (validate, batch, store, commit; no MQTT) ingests ``--measure`` more,
  in alternating rounds with the hook on and off on the same database.

Exit status 1 when a target is missed (F1 >= 0.90 with precision >= 0.95 on every file for
``incidents+links``; backbone ratio >= 0.5).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import Future
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from bench.gen_dedup_data import NSPS, generate  # noqa: E402
from schemas import make_up, utcnow  # noqa: E402
from service.db import make_engine, migrate  # noqa: E402
from service.gazetteer.importer import import_gazetteer  # noqa: E402
from service.ingest import Incoming, IngestWorker  # noqa: E402
from service.models import Nsp  # noqa: E402
from service.settings import ServiceSettings  # noqa: E402
from service.store import Accepted, StoreResult, store_batch  # noqa: E402
from service.triage.grouping import GroupingHook  # noqa: E402
from service.triage.models import TriageItem, TriageReport  # noqa: E402
from service.triage.settings import TriageSettings  # noqa: E402

DATA = ROOT / "bench" / "data"
DEMO_REGION = ROOT / "service" / "gazetteer" / "demo"
CP_ID = "cp-bench"


@contextlib.contextmanager
def database(url: str | None, workdir: Path, name: str) -> Iterator[str]:
    """A fresh database: a new SQLite file, or a throwaway PostgreSQL database."""
    if url is None:
        yield f"sqlite:///{workdir / (name + '.db')}"
        return
    db = f"noodnet_dedup_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
    try:
        yield sa.engine.make_url(url).set(database=db).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


def region_of(path: Path) -> Path:
    """The region a labelled file belongs to: its own directory when that holds a gazetteer
    (bench/data/blind/<region>/), else the demo region (service/gazetteer/demo)."""
    return path.parent if (path.parent / "gazetteer_addresses.csv").exists() else DEMO_REGION


def region_nsps(region: Path) -> list[dict[str, Any]]:
    """The region's NSPs (nsps.jsonl: nsp_id, name, address, lat, lon), else the demo's."""
    f = region / "nsps.jsonl"
    if f.exists():
        return [json.loads(line) for line in f.read_text().splitlines() if line.strip()]
    return [
        {"nsp_id": n.nsp_id, "name": n.name, "address": n.address, "lat": n.lat, "lon": n.lon}
        for n in NSPS
    ]


def prepare(url: str, region: Path = DEMO_REGION, gazetteer: bool = True) -> sa.Engine:
    """A migrated database with the region's NSPs registered and (unless ``gazetteer`` is
    off: the fallback) its gazetteer imported, as the region sets a CP up."""
    engine = make_engine(url)
    migrate(engine)
    nsps = region_nsps(region)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(Nsp.__table__),  # type: ignore[attr-defined]
            [
                {
                    "nsp_id": n["nsp_id"],
                    "cp_id": CP_ID,
                    "name": n.get("name") or n["nsp_id"],
                    "address": n.get("address"),
                    "lat": n.get("lat"),
                    "lon": n.get("lon"),
                    "registered": True,
                    "message_count": 0,
                    "max_seq": 0,
                    "gaps": [],
                    "seq_conflicts": 0,
                    "last_status_seq": 0,
                }
                for n in nsps
            ],
        )
    if gazetteer:
        places = region / "gazetteer_places.csv"
        report = import_gazetteer(
            engine,
            region.name,
            region / "gazetteer_addresses.csv",
            places if places.exists() else None,
        )
        if report.errors:
            print(f"gazetteer {region}: {len(report.errors)} bad rows skipped", file=sys.stderr)
    return engine


def accepted_rows(rows: list[dict[str, Any]], seqs: dict[str, int]) -> list[Accepted]:
    out = []
    for row in rows:
        seqs[row["nsp_id"]] += 1
        at = datetime.fromisoformat(row["received_at"])
        msg = make_up(row["kind"], row["nsp_id"], seqs[row["nsp_id"]], row["body"], sent_at=at)
        out.append(Accepted(msg, at, "mqtt"))
    return out


def ingest_labelled(engine: sa.Engine, rows: list[dict[str, Any]], batch: int) -> dict[str, str]:
    """Ingest in receive order; returns message id -> label."""
    hook = GroupingHook(CP_ID, TriageSettings())
    seqs: dict[str, int] = defaultdict(int)
    labels: dict[str, str] = {}
    for start in range(0, len(rows), batch):
        chunk = rows[start : start + batch]
        acc = accepted_rows(chunk, seqs)
        for a, row in zip(acc, chunk, strict=True):
            labels[a.message.message_id] = row["incident"]
        store_batch(engine, acc, [], [], CP_ID, [hook])
    return labels


def pairwise(labels: dict[str, str], predicted: dict[str, int]) -> dict[str, float]:
    ids = sorted(labels)
    tp = fp = fn = 0
    for a, b in itertools.combinations(ids, 2):
        same_true = labels[a] == labels[b]
        same_pred = predicted[a] == predicted[b]
        if same_pred and same_true:
            tp += 1
        elif same_pred:
            fp += 1
        elif same_true:
            fn += 1
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "true_pairs": tp + fn,
        "false_merges": fp,
        "missed": fn,
    }


def quality(
    path: Path, url: str | None, workdir: Path, batch: int, gazetteer: bool = True
) -> dict[str, Any]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    rows.sort(key=lambda r: r["received_at"])  # receive order
    region = region_of(path)
    with database(url, workdir, f"{path.parent.name}-{path.stem}") as db_url:
        engine = prepare(db_url, region, gazetteer)
        try:
            labels = ingest_labelled(engine, rows, batch)
            reports = TriageReport.__table__  # type: ignore[attr-defined]
            items = TriageItem.__table__  # type: ignore[attr-defined]
            with engine.connect() as conn:
                member: dict[str, int] = dict(
                    conn.execute(sa.select(reports.c.message_id, reports.c.item_id)).all()
                )
                links: dict[int, int] = dict(
                    conn.execute(
                        sa.select(items.c.id, items.c.possible_duplicate_of).where(
                            items.c.possible_duplicate_of.is_not(None)
                        )
                    ).all()
                )
                n_items = conn.execute(sa.select(sa.func.count()).select_from(items)).scalar_one()
                # A life-threatening help request keeps its own place in the queue: it is
                # never absorbed into another item ("match"), only linked.
                p1_lost = conn.execute(
                    sa.select(sa.func.count())
                    .select_from(reports)
                    .where(reports.c.life_threatening.is_(True), reports.c.joined_by == "match")
                ).scalar_one()
        finally:
            engine.dispose()

    def root(item: int) -> int:
        seen = set()
        while item in links and item not in seen:
            seen.add(item)
            item = links[item]
        return item

    strict = {m: member[m] for m in labels}
    linked = {m: root(member[m]) for m in labels}
    return {
        "file": str(path.relative_to(ROOT)) if path.is_relative_to(ROOT) else str(path),
        "gazetteer": (
            (str(region.relative_to(ROOT)) if region.is_relative_to(ROOT) else str(region))
            if gazetteer
            else None
        ),
        "reports": len(rows),
        "p1_lost_own_place": p1_lost,
        "true_incidents": len({r["incident"] for r in rows}),
        "nsps": len({r["nsp_id"] for r in rows}),
        "items_made": n_items,
        "possible_duplicate_links": len(links),
        "incidents": pairwise(labels, strict),
        "incidents+links": pairwise(labels, linked),
    }


# --------------------------------------------------------------------------- cost


_TREES = [
    "Eiken",
    "Beuken",
    "Linden",
    "Populier",
    "Kastanje",
    "Berken",
    "Wilgen",
    "Esdoorn",
    "Iepen",
    "Lariks",
    "Vlier",
    "Hazelaar",
    "Meidoorn",
    "Vogel",
    "Merel",
    "Lijster",
    "Zwaluw",
    "Reiger",
    "Kievit",
    "Uilen",
    "Valk",
    "Spreeuw",
    "Mussen",
    "Vink",
    "Tulp",
    "Roos",
    "Lelie",
    "Iris",
    "Anjer",
    "Krokus",
    "Narcis",
    "Klaver",
    "Heide",
    "Duin",
    "Molen",
    "Kerk",
    "School",
    "Markt",
    "Haven",
]
_TYPES = ("straat", "laan", "weg", "hof", "plein", "singel", "dreef", "pad", "akker", "kamp")
_TOWNS = ("Oss", "Oss", "Oss", "Berghem", "Ravenstein", "Lith", "Megen", "Geffen", "Herpen")


def background(n: int, seed: int, end: datetime, hours: float) -> list[dict[str, Any]]:
    """``n`` generated reports spread over the ``hours`` before ``end``.

    The labelled generator knows 24 streets; a CP area such as the municipality of Oss has
    over a thousand. Each background incident is moved to one of 400 street names and
    shifted up to 2 km, keeping its reports' relation to each other, so the density per
    street is that of a real area rather than 24 streets taking 20,000 reports."""
    rng = random.Random(seed)
    rows: list[dict[str, Any]] = []
    s = seed
    while len(rows) < n:
        s += 1
        for row in generate(s, 110):
            row["incident"] = f"{s}:{row['incident']}"
            rows.append(row)
    rows = rows[:n]
    moved: dict[str, tuple[str, str, float, float]] = {}
    for row in rows:
        loc = row["body"].get("location")
        if not loc:
            continue
        if row["incident"] not in moved:
            name = rng.choice(_TREES) + rng.choice(_TYPES)
            moved[row["incident"]] = (
                name,
                rng.choice(_TOWNS),
                rng.uniform(-0.018, 0.018),
                rng.uniform(-0.028, 0.028),
            )
        name, town, dlat, dlon = moved[row["incident"]]
        if loc.get("address"):
            number = "".join(c for c in loc["address"] if c.isdigit()) or "1"
            loc["address"] = f"{name} {number}, {town}"
        if loc.get("lat") is not None:
            loc["lat"] = round(loc["lat"] + dlat, 6)
            loc["lon"] = round(loc["lon"] + dlon, 6)
    span = hours * 3600
    for row in rows:
        row["received_at"] = (end - timedelta(seconds=rng.uniform(0, span))).isoformat()
    rows.sort(key=lambda r: r["received_at"])
    return rows


def pad(engine: sa.Engine, n: int, batch: int) -> float:
    rows = background(n, 1000, utcnow() - timedelta(seconds=1), 48)
    hook = GroupingHook(CP_ID, TriageSettings())
    seqs: dict[str, int] = defaultdict(lambda: 10_000_000)
    t0 = time.perf_counter()
    for start in range(0, len(rows), batch):
        store_batch(engine, accepted_rows(rows[start : start + batch], seqs), [], [], CP_ID, [hook])
    return time.perf_counter() - t0


def run_worker(engine: sa.Engine, payloads: list[bytes], hooks: list[Any]) -> float:
    settings = ServiceSettings(database_url="sqlite://", mqtt_enabled=False, cp_id=CP_ID)
    worker = IngestWorker(engine, settings, hooks=hooks)
    worker.start()
    try:
        t0 = time.perf_counter()
        futures: list[Future[StoreResult]] = []
        for p in payloads:
            fut: Future[StoreResult] = Future()
            worker.submit(Incoming(p, utcnow(), "http", future=fut))
            futures.append(fut)
        for f in futures:
            f.result(timeout=600)
        return time.perf_counter() - t0
    finally:
        worker.stop()


def cost(url: str | None, workdir: Path, n_pad: int, n_measure: int, rounds: int) -> dict[str, Any]:
    with database(url, workdir, "cost") as db_url:
        engine = prepare(db_url)
        try:
            pad_seconds = pad(engine, n_pad, 500)
            fresh = background(n_measure, 5000, utcnow(), 2)
            seqs: dict[str, int] = defaultdict(lambda: 50_000_000)
            payloads = []
            for row in fresh:
                seqs[row["nsp_id"]] += 1
                msg = make_up(row["kind"], row["nsp_id"], seqs[row["nsp_id"]], row["body"])
                payloads.append(msg.model_dump_json().encode())
            hook = GroupingHook(CP_ID, TriageSettings())
            per = n_measure // (2 * rounds)
            on_t = off_t = 0.0
            on_n = off_n = 0
            for r in range(rounds):
                chunk_on = payloads[(2 * r) * per : (2 * r + 1) * per]
                chunk_off = payloads[(2 * r + 1) * per : (2 * r + 2) * per]
                # Alternate which goes first, so neither always gets a warmer cache.
                order = [(chunk_on, True), (chunk_off, False)]
                if r % 2:
                    order.reverse()
                for chunk, on in order:
                    t = run_worker(engine, chunk, [hook] if on else [])
                    if on:
                        on_t, on_n = on_t + t, on_n + len(chunk)
                    else:
                        off_t, off_n = off_t + t, off_n + len(chunk)
            with engine.connect() as conn:
                stored = conn.execute(sa.text("SELECT count(*) FROM message")).scalar_one()
        finally:
            engine.dispose()
    on_rate, off_rate = on_n / on_t, off_n / off_t
    return {
        "database": "sqlite" if url is None else sa.engine.make_url(url).get_backend_name(),
        "padded": n_pad,
        "pad_seconds_with_grouping": round(pad_seconds, 2),
        "stored_at_end": stored,
        "measured_per_mode": on_n,
        "rate_grouping_on": round(on_rate, 1),
        "rate_grouping_off": round(off_rate, 1),
        "ratio_on_off": round(on_rate / off_rate, 3),
    }


def _ingest_rate(messages: int, database_url: str | None, grouping: bool) -> float:
    cmd = [
        sys.executable,
        str(ROOT / "bench" / "ingest.py"),
        "--messages",
        str(messages),
        "--skip-raw",
        "--json",
        "--cp-env",
        f"NOODNET_TRIAGE_GROUPING={'true' if grouping else 'false'}",
    ]
    if database_url:
        cmd += ["--database-url", database_url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, cwd=ROOT)
    report = json.loads(out.stdout)
    if not report.get("ok"):
        raise RuntimeError(f"bench/ingest.py failed: {report.get('error') or out.stderr[-2000:]}")
    return float(report["cp"]["rate_msg_s"])


def backbone(messages: int, database_url: str | None, rounds: int) -> dict[str, Any]:
    """bench/ingest.py (MQTT, CP process, acks) with grouping off and on, same payloads, in
    ``rounds`` adjacent pairs with alternating order. On a shared machine one run can be 15 %
    off either way; the ratio of each adjacent pair shares its conditions, and the median of
    the pairs is what is judged (every pair is printed)."""
    pairs: list[dict[str, float]] = []
    for r in range(rounds):
        order = [False, True] if r % 2 == 0 else [True, False]
        rate = {g: _ingest_rate(messages, database_url, g) for g in order}
        pairs.append(
            {
                "off": round(rate[False], 1),
                "on": round(rate[True], 1),
                "ratio": rate[True] / rate[False],
            }
        )
    return {
        "messages": messages,
        "rounds": [{**p, "ratio": round(p["ratio"], 3)} for p in pairs],
        "rate_grouping_off": round(statistics.median(p["off"] for p in pairs), 1),
        "rate_grouping_on": round(statistics.median(p["on"] for p in pairs), 1),
        "ratio_on_off": round(statistics.median(p["ratio"] for p in pairs), 3),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, nargs="*", help="labelled files (default: bench/data)")
    ap.add_argument("--database-url", help="PostgreSQL server URL (default: SQLite files)")
    ap.add_argument("--batch", type=int, default=20, help="reports per transaction (quality)")
    ap.add_argument("--pad", type=int, default=20_000, help="stored reports before measuring")
    ap.add_argument("--measure", type=int, default=4000, help="reports measured (both modes)")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--skip-cost", action="store_true")
    ap.add_argument(
        "--backbone-messages",
        type=int,
        default=20_000,
        help="messages for bench/ingest.py on/off (0 = skip)",
    )
    ap.add_argument(
        "--backbone-rounds", type=int, default=3, help="off/on pairs of the backbone benchmark"
    )
    ap.add_argument(
        "--no-gazetteer",
        action="store_true",
        help="quality without a gazetteer loaded (the fallback: street shapes only)",
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    files = args.data or (
        sorted(DATA.glob("dedup_*.jsonl"))
        + sorted(DATA.glob("blind/*/tune.jsonl"))
        + sorted(DATA.glob("blind/*/holdout.jsonl"))
    )
    result: dict[str, Any] = {"quality": [], "cost": None, "backbone": None}
    with tempfile.TemporaryDirectory(prefix="noodnet-dedup-") as tmp:
        for f in files:
            result["quality"].append(
                quality(
                    f.resolve(), args.database_url, Path(tmp), args.batch, not args.no_gazetteer
                )
            )
        if not args.skip_cost:
            result["cost"] = cost(args.database_url, Path(tmp), args.pad, args.measure, args.rounds)
            if args.backbone_messages:
                result["backbone"] = backbone(
                    args.backbone_messages, args.database_url, args.backbone_rounds
                )
    ok = all(
        q["incidents+links"]["f1"] >= 0.90
        and q["incidents+links"]["precision"] >= 0.95
        and q["p1_lost_own_place"] == 0
        for q in result["quality"]
    ) and (result["backbone"] is None or result["backbone"]["ratio_on_off"] >= 0.5)
    result["targets_met"] = ok
    if args.json:
        print(json.dumps(result, indent=2))
        return 0 if ok else 1
    for q in result["quality"]:
        print(
            f"{q['file']}: {q['reports']} reports, {q['true_incidents']} true incidents, "
            f"{q['nsps']} NSPs -> {q['items_made']} items, "
            f"{q['possible_duplicate_links']} possible-duplicate links, "
            f"gazetteer {q['gazetteer'] or 'none'}, "
            f"P1 reports that lost their own place: {q['p1_lost_own_place']}"
        )
        for mode in ("incidents", "incidents+links"):
            m = q[mode]
            print(
                f"  {mode:16s} precision {m['precision']:.3f}  recall {m['recall']:.3f}  "
                f"F1 {m['f1']:.3f}   ({m['true_pairs']} true pairs, "
                f"{m['false_merges']} wrongly grouped, {m['missed']} missed)"
            )
    c = result["cost"]
    if c:
        print(
            f"ingest at {c['stored_at_end']:,} stored reports ({c['database']}, IngestWorker, "
            f"{c['measured_per_mode']} reports per mode; the hook's own cost against pure "
            "storage, not the target):"
        )
        print(
            f"  grouping on {c['rate_grouping_on']:8.1f} reports/s   "
            f"off {c['rate_grouping_off']:8.1f} reports/s   ratio {c['ratio_on_off']:.3f}"
        )
    b = result["backbone"]
    if b:
        print(
            f"backbone benchmark (bench/ingest.py: MQTT, CP process, {b['messages']:,} messages, "
            f"so {b['messages']:,} stored reports at the end):"
        )
        for n, pair in enumerate(b["rounds"], 1):
            print(
                f"  pair {n}: grouping on {pair['on']:8.1f} msg/s   "
                f"off {pair['off']:8.1f} msg/s   ratio {pair['ratio']:.3f}"
            )
        print(f"  median ratio {b['ratio_on_off']:.3f} (target >= 0.5)")
    print("targets met" if ok else "TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
