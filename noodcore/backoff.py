"""Exponential backoff, one formula for every retry loop (outbox items, workers, resends).

Invariant: the delay doubles per failure from ``base`` and never exceeds ``cap``; with jitter
it is uniformly 50-100 % of that, so many clients that lost the same peer do not retry in
lockstep when it comes back, and the 50 % floor keeps the delay from collapsing to nothing.
"""

from __future__ import annotations

import random


def backoff_delay(failures: int, base: float, cap: float, *, jitter: bool = False) -> float:
    """Seconds to wait after the ``failures``-th failure in a row (1 -> base, 2 -> 2*base...)."""
    delay = min(cap, base * (2 ** min(max(0, failures - 1), 62)))
    return delay * random.uniform(0.5, 1.0) if jitter else delay
