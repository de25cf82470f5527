"""The metrics observed in the ingest path itself (everything else is read at scrape time):
how long a batch takes to store, how long a message waited from its arrival to its ack (P1s
apart: that wait is what the P1 lane exists for), and how many messages came in per kind
(duplicates and invalid ones included). Process-wide, exported by service/ops/metrics.py;
kept in this small module so the ingest worker imports only prometheus_client for them:

    with INGEST_BATCH_SECONDS.time():
        self._process(batch)
    ...
    MESSAGES_RECEIVED.labels(kind=kind).inc(n)   # per batch, after validation ("invalid")
    ACK_SECONDS.labels(p_level="P1").observe(s)   # per stored message, as its ack goes out
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

INGEST_BATCH_SECONDS = Histogram(
    "noodnet_cp_ingest_batch_seconds",
    "Time to validate, store and commit one ingest batch (before the acks go out).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=None,
)

ACK_SECONDS = Histogram(
    "noodnet_cp_ack_seconds",
    "From a stored message's arrival at the CP to its ack (handed to the broker, or the "
    "HTTP answer): queue wait, validation, store, commit. p_level: P1 (critical) or other.",
    labelnames=["p_level"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30, 60),
    registry=None,
)

MESSAGES_RECEIVED = Counter(
    "noodnet_cp_ingest_received",
    "Messages that reached the ingest worker, per kind ('invalid' when unreadable), "
    "duplicates included.",
    labelnames=["kind"],
    registry=None,
)
