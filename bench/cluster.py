"""Cluster benchmark: messages per second stored by 1 vs 2 CP ingest processes on one
PostgreSQL database behind an MQTT 5 shared subscription, and the ratio.

    .venv/bin/python bench/cluster.py                         # 6,000 msgs, PostgreSQL local
    .venv/bin/python bench/cluster.py --messages 3000 --json
    .venv/bin/python bench/cluster.py --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Everything is real and local: a fresh Mosquitto (tests.support.Mosquitto, production limits)
and a fresh throwaway PostgreSQL database per run, CP processes started with ``noodnet cp``
(grouping on, the default; no admission rate limit so the load is the same in every run).
Four runs on the same pre-built messages (help requests from 20 NSPs at 200 places, so
grouping is dense):

1. ``single``  — one process, no shared subscription: the baseline, as deployed today;
2. ``ha×1``     — one process with the leader lock (NOODNET_HA_LEADER_LOCK): the cost of the
   grouping lock and log alone, on a plain subscription;
3. ``shared×1`` — one process in shared mode: adds the broker's shared-subscription delivery;
4. ``shared×2`` — two processes sharing the subscription.

Rate = N / (first publish → last ack received): every message is stored, committed and acked.
The database is checked afterwards (N distinct messages, N placed reports); exit status 1
when not. The ratio shared×2 / single is the figure; see docs/scaling.md for what it means on
this machine (2 cores shared by broker, database, publisher and the CPs) and on a bigger one.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402

from tests.cluster.support import FAST, Gateways, help_request, readyz  # noqa: E402
from tests.support import Mosquitto, Proc, cp_process, wait_until  # noqa: E402

CP = "cp-bench"


def messages(n: int, nsps: int, places: int) -> list[Any]:
    seqs: dict[str, int] = {}
    out = []
    for i in range(n):
        nsp = f"nsp-{i % nsps:02d}"
        seqs[nsp] = seqs.get(nsp, 0) + 1
        out.append(help_request(nsp, seqs[nsp], (i * 7919) % places))
    return out


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(
    label: str, procs: int, mode: str, batch: list[Any], pg_url: str, work: Path
) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    admin = sa.create_engine(pg_url, isolation_level="AUTOCOMMIT")
    db = f"noodnet_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
    url = sa.engine.make_url(pg_url).set(database=db).render_as_string(hide_password=False)
    broker = Mosquitto(work / f"broker-{label}").start()
    cps: list[Proc] = []
    gw: Gateways | None = None
    try:
        env = {**FAST}
        if mode == "shared":
            env["NOODNET_INGEST_SHARED"] = "true"
        elif mode == "ha":
            env["NOODNET_HA_LEADER_LOCK"] = "true"
        for i in range(procs):
            cp = cp_process(work, broker, url, cp_id=CP, NOODNET_INSTANCE_ID=f"i{i}", **env)
            cps.append(cp.start("/readyz", timeout=60))
        # Publish only once a process is active and every one is subscribed: a message
        # published before any CP subscription exists on a fresh broker is dropped.
        wait_until(
            lambda: any(readyz(cp)["role"] == "active" for cp in cps), 60, 0.1, "an active CP"
        )
        wait_until(
            lambda: all(readyz(cp)["checks"].get("broker") == "ok" for cp in cps),
            60,
            0.1,
            "every CP connected to the broker",
        )
        gw = Gateways(broker.port, CP, f"bench-{label}")
        pids = [cp.proc.pid for cp in cps if cp.proc is not None]
        cpu_before = sum(cpu_seconds(p) for p in pids)
        expected = {m.message_id for m in batch}
        started = time.monotonic()
        gw.publish(batch)
        published = time.monotonic() - started
        wait_until(lambda: gw.acked_ids() >= expected, 600, 0.05, f"{label}: all acked")
        elapsed = time.monotonic() - started
        cpu = sum(cpu_seconds(p) for p in pids) - cpu_before
        engine = sa.create_engine(url)
        with engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT count(DISTINCT message_id) FROM message"))
            rows = conn.execute(sa.text("SELECT count(*) FROM message")).scalar()
            distinct = stored.scalar()
            placed = conn.execute(sa.text("SELECT count(*) FROM triage_report")).scalar()
            items = conn.execute(sa.text("SELECT count(*) FROM triage_item")).scalar()
        engine.dispose()
        return {
            "label": label,
            "processes": procs,
            "messages": len(batch),
            "seconds": round(elapsed, 2),
            "publish_seconds": round(published, 2),
            "msg_per_s": round(len(batch) / elapsed, 1),
            # CP processes' CPU per message: less sensitive than the rate to other load.
            "cp_cpu_ms_per_msg": round(cpu * 1000 / len(batch), 2),
            "ok": rows == distinct == placed == len(batch),
            "incidents": items,
        }
    finally:
        if gw is not None:
            gw.close()
        for cp in cps:
            cp.stop()
        broker.stop()
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--messages", type=int, default=6000)
    ap.add_argument("--nsps", type=int, default=20)
    ap.add_argument("--places", type=int, default=200)
    ap.add_argument(
        "--pg-url",
        default=os.environ.get(
            "NOODNET_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
        ),
        help="a PostgreSQL server URL (a throwaway database is created per run)",
    )
    ap.add_argument(
        "--repeat", type=int, default=2, help="rounds over the three runs; the best counts"
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    batch = messages(args.messages, args.nsps, args.places)
    best: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="noodnet-cluster-bench-") as tmp:
        for round_no in range(args.repeat):
            runs = [
                ("single", 1, "plain"),
                ("ha×1", 1, "ha"),
                ("shared×1", 1, "shared"),
                ("shared×2", 2, "shared"),
            ]
            if round_no % 2:
                runs.reverse()  # the order of the runs must not decide the figure
            for label, procs, mode in runs:
                r = run(label, procs, mode, batch, args.pg_url, Path(tmp) / str(round_no))
                if label not in best or r["msg_per_s"] > best[label]["msg_per_s"]:
                    best[label] = r
                if not r["ok"]:
                    best[label]["ok"] = False
                if not args.json:
                    print(
                        f"round {round_no + 1}: {label:9} {procs} process(es): "
                        f"{r['msg_per_s']:8.1f} msg/s, CP CPU {r['cp_cpu_ms_per_msg']:.2f} ms/msg "
                        f"({r['messages']} in {r['seconds']} s; "
                        f"{r['incidents']} incidents; {'ok' if r['ok'] else 'COUNTS WRONG'})",
                        flush=True,
                    )
    results = [best["single"], best["ha×1"], best["shared×1"], best["shared×2"]]
    base = results[0]["msg_per_s"]
    ratios = {r["label"]: round(r["msg_per_s"] / base, 2) for r in results}
    if args.json:
        print(json.dumps({"cores": os.cpu_count(), "runs": results, "ratio_to_single": ratios}))
    else:
        print(f"cores on this machine: {os.cpu_count()}; best of {args.repeat} round(s):")
        for r in results:
            print(
                f"  {r['label']:9} {r['msg_per_s']:8.1f} msg/s, "
                f"CP CPU {r['cp_cpu_ms_per_msg']:.2f} ms/msg"
            )
        for r in results[1:]:
            print(f"ratio {r['label']} / single: {ratios[r['label']]:.2f}")
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
