"""Gap filling: the CP asks a gateway to send again what its sequence shows missing.

Invariant: a gap in an NSP's sequence (``nsp.gaps``, kept by the store) means reports the
gateway made and the CP does not have. Normally a gateway fills gaps by itself (it re-sends
everything unacknowledged), so a gap that persists means the CP lost rows it had acknowledged:
a database restored from a backup. Then only a request helps: a ``resend`` message (see
schemas/resend.py) per gap range, repeated with back-off while the gap stays, never more often
than ``NOODNET_GAP_REQUEST_SECONDS``. The store closes the gap when the rows arrive (by message
id, so nothing is stored twice). A fresh gap is first given one interval to fill by itself.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import sqlalchemy as sa
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from noodcore.db import table_of
from noodcore.worker import Worker
from schemas import topics
from schemas.envelope import ResendMessage, new_message_id, utcnow
from schemas.resend import ResendRequest
from service.models import Nsp

log = logging.getLogger(__name__)

NSPS = table_of(Nsp)
MAX_BACKOFF = 16  # at most interval * 16 between requests for the same gap


class GapFillSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NOODNET_", extra="ignore")

    gap_request_seconds: float = Field(
        default=60,
        ge=0,
        description="How often the CP asks gateways to re-send gaps in their sequence (0: never).",
    )


Publish = Callable[[str, bytes], None]


class GapFiller(Worker):
    """A ``noodcore.worker.Worker``: a failing round (database down) is retried with backoff
    and shows in the worker health, like every other CP worker."""

    def __init__(
        self,
        engine: sa.Engine,
        cp_id: str,
        publish: Publish,
        connected: Callable[[], bool],
        settings: GapFillSettings | None = None,
    ) -> None:
        interval = (settings or GapFillSettings()).gap_request_seconds
        # A fresh gap is given one interval to fill by itself: no round before that.
        super().__init__("gap-filler", interval=interval or None, first_wait=interval)
        self.engine = engine
        self.cp_id = cp_id
        self.publish = publish
        self.connected = connected
        self.interval = interval
        self._seen: dict[tuple[str, int, int], tuple[float, int]] = {}  # next due, requests
        self.requests_sent = 0

    def start(self) -> None:
        if self.interval > 0:  # 0: never ask
            super().start()

    def step(self) -> float | None:
        self.tick(time.monotonic())
        return None

    def tick(self, now: float) -> int:
        """Send the requests due now; returns how many."""
        if not self.connected():
            return 0
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(NSPS.c.nsp_id, NSPS.c.gaps)).all()
        current: set[tuple[str, int, int]] = set()
        sent = 0
        for nsp_id, gaps in rows:
            for lo, hi in gaps or []:
                key = (nsp_id, int(lo), int(hi))
                current.add(key)
                due, count = self._seen.setdefault(key, (now + self.interval, 0))
                if now < due:
                    continue
                self._request(nsp_id, key[1], key[2])
                count += 1
                self._seen[key] = (now + self.interval * min(2**count, MAX_BACKOFF), count)
                sent += 1
        for gone in set(self._seen) - current:
            del self._seen[gone]  # filled (or superseded by a narrower gap)
        self.requests_sent += sent
        return sent

    def _request(self, nsp_id: str, lo: int, hi: int) -> None:
        message = ResendMessage(
            message_id=new_message_id(),
            sent_at=utcnow(),
            cp_id=self.cp_id,
            nsp_id=nsp_id,
            body=ResendRequest(from_seq=lo, to_seq=hi, reason="gap"),
        )
        topic = topics.down(self.cp_id, nsp_id, "resend")
        self.publish(topic, message.model_dump_json().encode())
        log.info("asked %s to re-send seq %d-%d", nsp_id, lo, hi, extra={"nsp_id": nsp_id})
