"""Significant changes at the CP and what they cause, in the transaction that saw them:

- a new P1 report → a P1 item in the outbox and a ``p1`` event;
- an NSP going silent or offline, coming (back) online, changing open/limited/closed, or
  dropping below the power threshold → an event;
- either → a summary owed (``upstream_node.summary_due``), which the scheduler makes at once,
  or at most every ``summary_min_interval_seconds`` during a burst.

The summary itself is not built inside the ingest transaction: it reads every open request
and the day's questions, and building it per batch doubled the CP's CPU per message in the
ingest benchmark. The debt is recorded in the same transaction instead, so a crash cannot lose
it: the next summary (at the latest the startup summary) pays it, with its triggers.

``UpstreamChanges.ingest_hook`` runs inside the ingest transaction (a ``BatchHook``);
``UpstreamChanges.watch`` runs on a timer for what only time reveals (silence).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from noodcore.db import table_of
from schemas import new_message_id, utcnow
from schemas.common import EXERCISE_MARK
from schemas.upstream import (
    NspRef,
    Summary,
    SummaryContent,
    SummaryTrigger,
    SummaryUpstream,
    UrgentItem,
    UrgentItemUpstream,
)
from service.exercise.marks import mark_text
from service.models import Nsp
from service.store import Accepted, PresenceSeen
from service.upstream import events, outbox
from service.upstream.models import NspWatch, UpstreamSummary
from service.upstream.node import (
    mark_summary_due,
    next_summary_seq,
    peek_summary_due,
    take_lock,
    take_summary_due,
)
from service.upstream.summary import SummaryConfig, build_content, is_low_power, liveness

log = logging.getLogger(__name__)

_nsp = table_of(Nsp)
_watch = table_of(NspWatch)
_summaries = table_of(UpstreamSummary)

URGENT_KINDS = ("help_request", "resource_request")


@dataclass(frozen=True)
class Transition:
    event: str
    trigger: SummaryTrigger
    data: dict[str, Any]


@dataclass(frozen=True)
class NspCheck:
    nsp_id: str
    liveness: str
    state: str | None
    low_power: bool
    new: bool
    transitions: list[Transition]


class UpstreamChanges:
    """Turns changes into outbox rows, events and summaries (CP role)."""

    def __init__(
        self,
        config: SummaryConfig,
        targets: list[str],
        give_up_after: timedelta,
    ) -> None:
        self.config = config
        self.targets = targets
        self.give_up_after = give_up_after

    # -- entry points ----------------------------------------------------------------------

    def ingest_hook(
        self, conn: Connection, new: list[Accepted], presences: list[PresenceSeen]
    ) -> None:
        """A ``service.store.BatchHook``: runs in the ingest transaction."""
        urgent = [
            a
            for a in new
            if a.message.kind in URGENT_KINDS and getattr(a.message.body, "urgency", None) == "P1"
        ]
        touched = {a.message.nsp_id for a in new} | {p.presence.nsp_id for p in presences}
        now = utcnow()
        # A look without the lock first: most batches change nothing significant.
        if not urgent and not self._check(conn, touched):
            return
        take_lock(conn)
        triggers: list[SummaryTrigger] = []
        nsps = {
            row.nsp_id: row
            for row in conn.execute(
                sa.select(_nsp).where(_nsp.c.nsp_id.in_(sorted({a.message.nsp_id for a in urgent})))
            )
        }
        forwards = [self.forward_urgent(a, nsps.get(a.message.nsp_id)) for a in urgent]
        outbox.enqueue_many(
            conn, self.targets, [f for f, _ in forwards if f is not None], self.give_up_after
        )
        events.publish_events(conn, [(events.P1, data) for _, data in forwards])
        if urgent:
            triggers.append(SummaryTrigger.NEW_P1)
        triggers += self._apply_transitions(conn, touched, now)
        if triggers:
            mark_summary_due(conn, [t.value for t in triggers])

    def watch(self, engine: Engine) -> list[SummaryTrigger]:
        """Check every NSP for transitions only time reveals (silence); a summary is then owed."""
        with engine.connect() as conn:
            if not self._check(conn, None):
                return []
        with engine.begin() as conn:
            take_lock(conn)
            triggers = self._apply_transitions(conn, None, utcnow())
            if triggers:
                mark_summary_due(conn, [t.value for t in triggers])
            return triggers

    def produce(self, engine: Engine, triggers: Iterable[SummaryTrigger] = ()) -> Summary | None:
        """Make a summary for ``triggers`` plus whatever is owed; None when neither.

        The content (counts and open items over the whole store) is read before the
        upstream lock is taken, and only the writes hold it. Read under the lock, it held up
        every ingest batch with a P1 on PostgreSQL, and every commit of ingest and grouping
        on SQLite (where the lock is the database's one write lock): in bench/ingest.py on
        PostgreSQL 0.5 s of lock waits in a 20,000-message phase, about 0.1 s per summary.
        A debt marked while the content was read stays owed (``due_gen``): the next summary
        carries that change.
        """
        triggers = list(triggers)
        with engine.connect() as conn:
            due, seen_gen = peek_summary_due(conn)
            if not triggers and not due and not self._check(conn, None):
                return None
            now = utcnow()
            content = build_content(conn, self.config, now)
            conn.rollback()
        with engine.begin() as conn:
            take_lock(conn)
            found = self._apply_transitions(conn, None, now)
            return self.produce_summary(
                conn, [*triggers, *found], now, content=content, seen_gen=seen_gen
            )

    def produce_now(self, engine: Engine, trigger: SummaryTrigger) -> Summary:
        summary = self.produce(engine, [trigger])
        assert summary is not None
        return summary

    # -- P1 items ----------------------------------------------------------------------------

    def forward_urgent(self, a: Accepted, nsp: Any) -> tuple[outbox.NewItem | None, dict[str, Any]]:
        """The P1 item for upstream (None without targets) and the data of its live-stream
        event; the caller queues and publishes the batch's in one statement each."""
        m = a.message
        ref = NspRef(
            nsp_id=m.nsp_id,
            name=nsp.name if nsp else None,
            address=nsp.address if nsp else None,
            lat=nsp.lat if nsp else None,
            lon=nsp.lon if nsp else None,
        )
        forward = None
        if self.targets:
            key = f"{self.config.cp_id}:p1:{m.message_id}"
            item = UrgentItemUpstream(
                idempotency_key=key,
                origin_cp_id=self.config.cp_id,
                created_at=utcnow(),
                body=UrgentItem(
                    cp_id=self.config.cp_id,
                    received_at=a.received_at,
                    nsp=ref,
                    message=m,
                    exercise=m.exercise,
                    mark=EXERCISE_MARK if m.exercise else None,
                ),
            )
            forward = outbox.NewItem(
                "p1_item", key, m.message_id, item.model_dump_json(), exercise=m.exercise
            )
        body = m.body
        location = getattr(body, "location", None)
        return forward, {
            "cp_id": self.config.cp_id,
            "message_id": m.message_id,
            "nsp_id": m.nsp_id,
            "nsp_name": ref.name,
            "kind": m.kind,
            "urgency": "P1",
            "category": getattr(body, "category", None) or getattr(body, "resource", None),
            "text": mark_text(
                str(getattr(body, "description", None) or getattr(body, "item", "")),
                m.exercise,
            ),
            "exercise": m.exercise,
            "mark": EXERCISE_MARK if m.exercise else None,
            "location": (location.model_dump(mode="json", exclude_none=True) if location else None),
            "received_at": a.received_at.isoformat(),
        }

    # -- summaries ---------------------------------------------------------------------------

    def produce_summary(
        self,
        conn: Connection,
        triggers: Iterable[SummaryTrigger],
        now: datetime,
        content: SummaryContent | None = None,
        seen_gen: int | None = None,
    ) -> Summary | None:
        """Store, queue and announce a summary in the caller's transaction (which holds the
        lock); it also pays whatever summary is owed. ``content`` read earlier, without the
        lock, comes with the ``due_gen`` seen before it was read (``produce``)."""
        owed = [SummaryTrigger(t) for t in take_summary_due(conn, seen_gen)]
        unique = list(dict.fromkeys([*triggers, *owed]))
        if not unique:
            return None
        instance_id, seq = next_summary_seq(conn)
        if content is None:
            content = build_content(conn, self.config, now)
        summary = Summary(
            **content.model_dump(),
            cp_id=self.config.cp_id,
            instance_id=instance_id,
            summary_id=new_message_id(),
            seq=seq,
            produced_at=now,
            triggers=unique,
        )
        body = summary.model_dump(mode="json")
        conn.execute(
            sa.insert(_summaries).values(
                summary_id=summary.summary_id,
                cp_id=summary.cp_id,
                seq=seq,
                produced_at=now,
                triggers=[t.value for t in unique],
                body=body,
            )
        )
        if self.targets:
            key = f"{self.config.cp_id}:summary:{summary.summary_id}"
            envelope = SummaryUpstream(
                idempotency_key=key, origin_cp_id=self.config.cp_id, created_at=now, body=summary
            )
            outbox.enqueue(
                conn,
                self.targets,
                "summary",
                key,
                str(seq),
                envelope.model_dump_json(),
                self.give_up_after,
            )
        events.publish_event(conn, events.SUMMARY, body)
        return summary

    # -- NSP transitions ---------------------------------------------------------------------

    def _check(self, conn: Connection, nsp_ids: set[str] | None) -> list[NspCheck]:
        """NSPs whose liveness, state or low-power flag differ from what was last recorded."""
        query = sa.select(_nsp)
        watch_q = sa.select(_watch)
        if nsp_ids is not None:
            if not nsp_ids:
                return []
            query = query.where(_nsp.c.nsp_id.in_(sorted(nsp_ids)))
            watch_q = watch_q.where(_watch.c.nsp_id.in_(sorted(nsp_ids)))
        seen = {w.nsp_id: w for w in conn.execute(watch_q)}
        out: list[NspCheck] = []
        now = utcnow()
        for row in conn.execute(query.order_by(_nsp.c.nsp_id)):
            status = row.last_status or {}
            live = liveness(row.online, row.last_seen, now, self.config.silent_after)
            state = status.get("state")
            low = is_low_power(status, self.config.low_power_hours)
            old = seen.get(row.nsp_id)
            if old is None and live == "unknown":
                continue  # registered but never heard from: nothing happened yet
            if old is not None and (old.liveness, old.state, old.low_power) == (live, state, low):
                continue
            base = {
                "cp_id": self.config.cp_id,
                "nsp_id": row.nsp_id,
                "name": row.name,
                "liveness": live,
                "state": state,
                "power_source": status.get("power_source"),
                "power_hours_left": status.get("power_hours_left"),
            }
            found: list[Transition] = []
            old_liveness = old.liveness if old else "unknown"
            if live != old_liveness and live in LIVENESS_EVENTS:
                event, trigger = LIVENESS_EVENTS[live]
                found.append(Transition(event, trigger, {**base, "previous": old_liveness}))
            if old is not None and state is not None and state != old.state:
                found.append(
                    Transition(
                        events.NSP_STATE, SummaryTrigger.NSP_STATE, {**base, "previous": old.state}
                    )
                )
            if low and not (old is not None and old.low_power):
                found.append(Transition(events.NSP_LOW_POWER, SummaryTrigger.LOW_POWER, base))
            # Recorded even without an event (power back up) so that the next drop counts.
            out.append(NspCheck(row.nsp_id, live, state, low, old is None, found))
        return out

    def _apply_transitions(
        self, conn: Connection, nsp_ids: set[str] | None, now: datetime
    ) -> list[SummaryTrigger]:
        """Under the lock: publish events, remember the new state; returns summary triggers."""
        triggers: list[SummaryTrigger] = []
        for check in self._check(conn, nsp_ids):
            values = {
                "liveness": check.liveness,
                "state": check.state,
                "low_power": check.low_power,
                "changed_at": now,
            }
            if check.new:
                conn.execute(sa.insert(_watch).values(nsp_id=check.nsp_id, **values))
            else:
                conn.execute(
                    sa.update(_watch).where(_watch.c.nsp_id == check.nsp_id).values(**values)
                )
            for t in check.transitions:
                events.publish_event(conn, t.event, t.data)
                triggers.append(t.trigger)
        return triggers


LIVENESS_EVENTS = {
    "online": (events.NSP_ONLINE, SummaryTrigger.NSP_ONLINE),
    "offline": (events.NSP_OFFLINE, SummaryTrigger.NSP_OFFLINE),
    "silent": (events.NSP_SILENT, SummaryTrigger.NSP_SILENT),
}
