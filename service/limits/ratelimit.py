"""Per-NSP rate limits at ingest: a flooding NSP is throttled, the others are not affected.

What "throttled" means (nothing a legitimate gateway sent is lost):

1. **Within its rate** (token bucket per NSP: ``rate_limit_per_second`` sustained,
   ``rate_limit_burst`` at once — enough for a gateway's backlog after hours offline) a
   message goes to the *main lane* and is stored in the next batch.
2. **Over its rate** it is *parked* in that NSP's overflow lane. Parked messages are stored
   too, in arrival order per NSP, but at lower priority: a batch takes at most
   ``rate_limit_overflow_batch`` of them, after the main lane, round-robin over the flooding
   NSPs. Another NSP's message therefore never waits behind more than one small slice of
   the flood. The NSP is flagged (NSP view, security events).
3. **When its overflow lane is full** (``rate_limit_park_max``), a further MQTT message is
   *deferred*: PUBACKed to the broker without being stored and without a CP ack. Without
   this, parked messages would hold the broker's in-flight window to the CP and stall every
   NSP. A real gateway keeps each report in its outbox until the CP acks it and sends it
   again later (resend backoff up to 15 min), so a legitimate report is delayed, not lost;
   an attacker's excess is counted and gone. Over HTTP the same case is a 429 with
   Retry-After.

As soon as the NSP's bucket refills, the head of its overflow lane is promoted to the main
lane, so per-NSP order is kept and a throttled NSP still gets its fair rate at full priority.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from schemas import topics

if TYPE_CHECKING:
    from service.ingest import Incoming


@dataclass
class TokenBucket:
    rate: float
    capacity: float
    tokens: float
    stamp: float

    def refill(self, now: float) -> None:
        self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def take(self, now: float) -> bool:
        self.refill(now)
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def seconds_until_token(self) -> float:
        return max(0.0, (1 - self.tokens) / self.rate) if self.rate > 0 else 60.0


@dataclass
class ThrottleCounts:
    throttled: int = 0
    deferred: int = 0


@dataclass
class _Lanes:
    main: deque[Incoming] = field(default_factory=deque)
    overflow: dict[str, deque[Incoming]] = field(default_factory=dict)
    # Admitted P1 help and resource requests: taken before everything else, at the head of
    # the next batch, so a P1 that arrives while a backlog drains is stored and acked first.
    urgent: deque[Incoming] = field(default_factory=deque)


# A batch that carries P1s holds at most this many messages in all (P1s first): many P1s
# at once (a reconnect backlog) are committed and acked in several quick batches.
URGENT_BATCH = 250
_URGENT_KINDS = frozenset({"help_request", "resource_request"})
_P1_IN_PAYLOAD = re.compile(rb'"urgency"\s*:\s*"P1"')


def looks_urgent(item: Incoming) -> bool:
    """A P1 help or resource request, judged from topic and raw payload before validation.
    Only a queueing hint: a payload that lies gains nothing but an earlier place in the
    queue of its own NSP's admitted messages (the rate limit applies first); validation,
    storage and every P1 rule use the validated message."""
    if item.topic is not None:
        t = topics.parse(item.topic)
        if t is None or t.type != "up" or t.kind not in _URGENT_KINDS:
            return False
    return _P1_IN_PAYLOAD.search(item.payload[:65536]) is not None


class AdmissionQueue:
    """The ingest worker's queue: a main lane plus one overflow lane per flooding NSP."""

    def __init__(
        self,
        rate: float,
        burst: int,
        park_max: int,
        overflow_batch: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.rate = rate
        self.burst = burst
        self.park_max = park_max
        self.overflow_batch = overflow_batch
        self.enabled = rate > 0
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._lanes = _Lanes()
        self._deferred: list[Incoming] = []
        self._counts: dict[str, ThrottleCounts] = {}
        self._rr: deque[str] = deque()  # round-robin order of NSPs with parked messages
        self._cond = threading.Condition()

    # -- admission ---------------------------------------------------------------------

    def _bucket(self, nsp_id: str, now: float) -> TokenBucket:
        b = self._buckets.get(nsp_id)
        if b is None:
            b = self._buckets[nsp_id] = TokenBucket(self.rate, self.burst, self.burst, now)
        return b

    @staticmethod
    def nsp_of(item: Incoming) -> str | None:
        if item.topic is None:
            return None
        t = topics.parse(item.topic)
        return t.nsp_id if t is not None else None

    def put(self, item: Incoming) -> None:
        nsp_id = self.nsp_of(item) if self.enabled else None
        lane = self._lanes.urgent if looks_urgent(item) else self._lanes.main
        with self._cond:
            if nsp_id is None:
                lane.append(item)
            else:
                now = self._clock()
                parked = self._lanes.overflow.get(nsp_id)
                # Keep per-NSP order: once something is parked, newer messages queue behind it.
                if not parked and self._bucket(nsp_id, now).take(now):
                    lane.append(item)
                elif parked is not None and len(parked) >= self.park_max:
                    self._deferred.append(item)
                    self._counts.setdefault(nsp_id, ThrottleCounts()).deferred += 1
                else:
                    if parked is None:
                        parked = self._lanes.overflow[nsp_id] = deque()
                        self._rr.append(nsp_id)
                    parked.append(item)
                    self._counts.setdefault(nsp_id, ThrottleCounts()).throttled += 1
            self._cond.notify()

    def admit_http(self, nsp_id: str) -> float | None:
        """Take a token for an HTTP-posted message; None if admitted, else seconds to wait."""
        if not self.enabled:
            return None
        with self._cond:
            now = self._clock()
            bucket = self._bucket(nsp_id, now)
            if not self._lanes.overflow.get(nsp_id) and bucket.take(now):
                return None
            self._counts.setdefault(nsp_id, ThrottleCounts()).deferred += 1
            return max(1.0, bucket.seconds_until_token())

    # -- taking ------------------------------------------------------------------------

    def _promote(self, now: float) -> None:
        """Move heads of overflow lanes whose bucket has refilled into the main lane."""
        for nsp_id in list(self._rr):
            parked = self._lanes.overflow[nsp_id]
            bucket = self._bucket(nsp_id, now)
            while parked and bucket.take(now):
                self._lanes.main.append(parked.popleft())
            if not parked:
                self._drop_lane(nsp_id)

    def _drop_lane(self, nsp_id: str) -> None:
        del self._lanes.overflow[nsp_id]
        self._rr.remove(nsp_id)

    def _has_work(self) -> bool:
        return bool(self._lanes.urgent or self._lanes.main or self._rr or self._deferred)

    def take_batch(
        self, max_size: int, wait_seconds: float, first_timeout: float = 0.2
    ) -> list[Incoming]:
        """Up to ``max_size`` items: queued P1s first when there are any, topped up to
        ``URGENT_BATCH`` from the main lane (the batch goes at once); else the main lane
        (waiting up to ``wait_seconds`` to fill, unless a P1 arrives), then at most
        ``overflow_batch`` parked items, round-robin over NSPs."""
        with self._cond:
            if not self._has_work():
                self._cond.wait(first_timeout)
            if self._lanes.urgent:
                # P1s first, topped up to URGENT_BATCH with what else is queued now, and no
                # waiting to fill: a small batch commits (and acks) soon, and a steady trickle
                # of P1s does not shrink every batch to a handful.
                urgent, main = self._lanes.urgent, self._lanes.main
                size = min(max_size, URGENT_BATCH)
                first = [urgent.popleft() for _ in range(min(size, len(urgent)))]
                room = size - len(first)
                return first + [main.popleft() for _ in range(max(0, min(room, len(main))))]
            self._promote(self._clock())
            if not self._lanes.main and not self._rr:
                return []
            batch: list[Incoming] = []
            deadline = time.monotonic() + wait_seconds
            while len(batch) < max_size and not self._lanes.urgent:
                if self._lanes.main:
                    batch.append(self._lanes.main.popleft())
                    continue
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not batch:
                    break
                self._cond.wait(remaining)
                self._promote(self._clock())
            room = min(max_size - len(batch), self.overflow_batch)
            while room > 0 and self._rr:
                nsp_id = self._rr[0]
                self._rr.rotate(-1)
                parked = self._lanes.overflow[nsp_id]
                batch.append(parked.popleft())
                room -= 1
                if not parked:
                    self._drop_lane(nsp_id)
            return batch

    def pop_deferred(self) -> list[Incoming]:
        with self._cond:
            out, self._deferred = self._deferred, []
            return out

    def pop_counts(self) -> dict[str, ThrottleCounts]:
        with self._cond:
            out, self._counts = self._counts, {}
            return out

    def urgent_waiting(self) -> int:
        """P1s queued and not yet taken into a batch."""
        with self._cond:
            return len(self._lanes.urgent)

    def qsize(self) -> int:
        with self._cond:
            return (
                len(self._lanes.urgent)
                + len(self._lanes.main)
                + sum(len(q) for q in self._lanes.overflow.values())
            )

    def parked(self) -> dict[str, int]:
        with self._cond:
            return {n: len(q) for n, q in self._lanes.overflow.items()}
