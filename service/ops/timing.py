"""The one metric observed in the ingest path: how long a batch takes to store (a histogram,
process-wide, exported by service/ops/metrics.py). Kept in this small module so the ingest
worker imports only prometheus_client for it:

    with INGEST_BATCH_SECONDS.time():
        self._process(batch)
"""

from __future__ import annotations

from prometheus_client import Histogram

INGEST_BATCH_SECONDS = Histogram(
    "noodnet_cp_ingest_batch_seconds",
    "Time to validate, store and commit one ingest batch (before the acks go out).",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
    registry=None,
)
