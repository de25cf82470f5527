"""Upstream benchmark: how fast does a CP's backlog reach the region after an outage?

    .venv/bin/python bench/upstream.py                      # 500 P1 items, SQLite
    .venv/bin/python bench/upstream.py --items 2000 --json
    .venv/bin/python bench/upstream.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test

Everything is real and local: region and CP are ``noodnet region`` / ``noodnet cp`` processes
(tests.upstream.support.service_process), each with its own database.

1. **raw** — baseline: this script POSTs N P1-item envelopes to a fresh region, one after the
   other over one keep-alive connection, exactly the request the forwarder makes. That is what
   the region and HTTP alone can take here.
2. **forwarder** — a CP whose region is down receives N P1 reports (HTTP ingest), so N P1
   items (and a summary) wait in its outbox. Then a fresh region comes up; the time from the
   region answering to the CP's outbox being empty is the drain. Rate = N / drain.

The ratio forwarder/raw is the price of the durable outbox (one committed state update per
item on the CP). At the end the region is checked: exactly the N keys, each stored once, in
the order the reports were made. Exit status 1 when not.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402

from schemas import parse_up, utcnow  # noqa: E402
from schemas.upstream import NspRef, UrgentItem, UrgentItemUpstream  # noqa: E402
from tests.support import free_port, wait_until  # noqa: E402
from tests.upstream.support import help_request, service_process  # noqa: E402


class Databases:
    """Fresh SQLite files, or throwaway databases on a PostgreSQL server (dropped at exit)."""

    def __init__(self, workdir: Path, pg_url: str | None) -> None:
        self.workdir = workdir
        self.pg_url = pg_url
        self.created: list[str] = []

    def make(self, name: str) -> str:
        if not self.pg_url:
            return f"sqlite:///{self.workdir / f'{name}.db'}"
        db = f"noodnet_bench_{uuid.uuid4().hex[:10]}"
        admin = sa.create_engine(self.pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{db}"'))
        admin.dispose()
        self.created.append(db)
        return sa.engine.make_url(self.pg_url).set(database=db).render_as_string(False)

    def drop(self) -> None:
        if not self.created or not self.pg_url:
            return
        admin = sa.create_engine(self.pg_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for db in self.created:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
        admin.dispose()


def reports(n: int) -> list[dict[str, Any]]:
    return [help_request(f"nsp-{i % 8}", i // 8 + 1) for i in range(n)]


def raw_phase(workdir: Path, dbs: Databases, msgs: list[dict[str, Any]]) -> dict[str, Any]:
    region = service_process(workdir, "region", "vr-raw", dbs.make("raw"))
    bodies = []
    for m in msgs:
        message = parse_up(json.dumps(m))
        item = UrgentItemUpstream(
            idempotency_key=f"cp-bench:p1:{message.message_id}",
            origin_cp_id="cp-bench",
            created_at=utcnow(),
            body=UrgentItem(
                cp_id="cp-bench",
                received_at=utcnow(),
                nsp=NspRef(nsp_id=message.nsp_id),
                message=message,
            ),
        )
        bodies.append((item.idempotency_key, item.model_dump_json().encode()))
    region.start()
    try:
        with httpx.Client(base_url=region.url, timeout=30, trust_env=False) as c:
            start = time.perf_counter()
            for key, body in bodies:
                r = c.post(
                    "/api/v1/region/items",
                    content=body,
                    headers={"Idempotency-Key": key, "Content-Type": "application/json"},
                )
                assert r.status_code == 201, r.text
            elapsed = time.perf_counter() - start
    finally:
        region.stop()
    return {"items": len(bodies), "seconds": elapsed, "rate": len(bodies) / elapsed}


def forwarder_phase(workdir: Path, dbs: Databases, msgs: list[dict[str, Any]]) -> dict[str, Any]:
    region_port = free_port()
    cp = service_process(
        workdir,
        "cp",
        "cp-bench",
        dbs.make("cp"),
        NOODNET_UPSTREAM_URLS=f"http://127.0.0.1:{region_port}",
        NOODNET_SUMMARY_INTERVAL_SECONDS="0",
        # The outage is over when the region answers: retry often enough to notice at once.
        NOODNET_UPSTREAM_RETRY_MAX_SECONDS="0.2",
    )
    region = service_process(workdir, "region", "vr-fw", dbs.make("region"), region_port)
    n = len(msgs)
    cp.start()
    try:
        with httpx.Client(base_url=cp.url, timeout=30) as c:
            for m in msgs:
                assert c.post("/api/v1/messages", json=m).status_code == 201

        def queued() -> bool:
            counts = cp.get("/api/v1/upstream/status")["targets"][0]["counts"]
            return bool(counts["pending"] == n + 1)  # + the newest summary

        wait_until(queued, 120, interval=0.2, what="the backlog to be queued")
        region.start()
        start = time.perf_counter()

        def drained() -> bool:
            counts = cp.get("/api/v1/upstream/status")["targets"][0]["counts"]
            return bool(counts["pending"] == 0)

        wait_until(drained, 600, interval=0.05, what="the backlog to drain")
        elapsed = time.perf_counter() - start
        received = []
        offset = 0
        while page := region.get(
            "/api/v1/region/p1-items", params={"limit": 1000, "offset": offset}
        ):
            received += page
            offset += len(page)
        ids = [r["payload"]["body"]["message"]["message_id"] for r in reversed(received)]
        ok = ids == [m["message_id"] for m in msgs] and all(
            r["receive_count"] == 1 for r in received
        )
        summaries = region.get("/api/v1/region/summaries")
    finally:
        cp.stop()
        region.stop()
    return {
        "items": n,
        "seconds": elapsed,
        "rate": n / elapsed,
        "verified": ok,
        "summaries_received": len(summaries),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--items", type=int, default=500, help="P1 items in the backlog (N)")
    p.add_argument("--database-url", default=None, help="PostgreSQL server URL (default SQLite)")
    p.add_argument("--json", action="store_true", help="print one JSON object, no table")
    args = p.parse_args(argv)
    msgs = reports(args.items)
    with tempfile.TemporaryDirectory(prefix="noodnet-bench-up-") as tmp:
        workdir = Path(tmp)
        dbs = Databases(workdir, args.database_url)
        try:
            raw = raw_phase(workdir, dbs, msgs)
            fw = forwarder_phase(workdir, dbs, msgs)
        finally:
            dbs.drop()
    ratio = fw["rate"] / raw["rate"]
    db = "postgresql" if args.database_url else "sqlite"
    if args.json:
        print(json.dumps({"db": db, "raw": raw, "forwarder": fw, "ratio": ratio}))
    else:
        print(f"\nNoodnet upstream benchmark: {args.items:,} P1 items, db {db}")
        print(f"{'phase':<40}{'items/s':>10}{'seconds':>10}")
        print(f"{'raw POST to region (baseline)':<40}{raw['rate']:>10,.0f}{raw['seconds']:>10.2f}")
        print(f"{'CP outbox drain after outage':<40}{fw['rate']:>10,.0f}{fw['seconds']:>10.2f}")
        print(f"ratio forwarder/raw: {ratio:.2f}")
        print(
            f"verify: {args.items:,} P1 items in order, each stored once: "
            f"{'OK' if fw['verified'] else 'FAILED'}; "
            f"summaries received: {fw['summaries_received']} (older ones superseded)"
        )
    return 0 if fw["verified"] and fw["summaries_received"] == 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
