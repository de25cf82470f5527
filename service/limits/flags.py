"""Flag flooding NSPs: persist the admission queue's throttle counts inside the ingest
transaction (a ``BatchHook``), and open a security event when a new flood episode starts."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from noodcore.db import table_of
from schemas import utcnow
from service.auth.tokens import record_event
from service.limits.models import NspThrottle
from service.limits.ratelimit import AdmissionQueue
from service.store import Accepted, PresenceSeen

# An NSP that stayed within its limit this long starts a new episode when it floods again;
# the NSP view shows it as "throttled now" for the same time after its last excess.
EPISODE_GAP = timedelta(minutes=5)


def throttled_now(last_throttled_at: datetime | None, now: datetime | None = None) -> bool:
    return last_throttled_at is not None and (now or utcnow()) - last_throttled_at < EPISODE_GAP


class ThrottleRecorder:
    """Batch hook: writes what the admission queue counted since the previous batch."""

    def __init__(self, admission: AdmissionQueue) -> None:
        self.admission = admission

    def __call__(
        self, conn: Connection, _new: list[Accepted], _presences: list[PresenceSeen]
    ) -> None:
        counts = self.admission.pop_counts()
        if not counts:
            return
        table = table_of(NspThrottle)
        now = utcnow()
        rows = {
            r.nsp_id: r
            for r in conn.execute(sa.select(table).where(table.c.nsp_id.in_(sorted(counts))))
        }
        for nsp_id, c in sorted(counts.items()):
            row = rows.get(nsp_id)
            new_episode = row is None or now - row.last_throttled_at >= EPISODE_GAP
            if row is None:
                conn.execute(
                    sa.insert(table).values(
                        nsp_id=nsp_id,
                        first_throttled_at=now,
                        episode_started_at=now,
                        last_throttled_at=now,
                        throttled_total=c.throttled,
                        deferred_total=c.deferred,
                        episodes=1,
                    )
                )
            else:
                values = {
                    "last_throttled_at": now,
                    "throttled_total": row.throttled_total + c.throttled,
                    "deferred_total": row.deferred_total + c.deferred,
                }
                if new_episode:
                    values.update(episode_started_at=now, episodes=row.episodes + 1)
                conn.execute(sa.update(table).where(table.c.nsp_id == nsp_id).values(**values))
            if new_episode:
                a = self.admission
                record_event(
                    conn,
                    "nsp_flooding",
                    f"nsp:{nsp_id}",
                    f"NSP {nsp_id} sends faster than its limit ({a.rate:g}/s, burst {a.burst}): "
                    "its excess is parked and stored at lower priority",
                    nsp_id=nsp_id,
                    data={"throttled": c.throttled, "deferred": c.deferred},
                )
